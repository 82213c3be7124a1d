-- Prints the latency percentiles wrk's own --latency table leaves out (p95 among them),
-- as "pNN <milliseconds>" lines after the run.
function done(summary, latency, requests)
  for _, p in ipairs({ 50, 90, 95, 99 }) do
    io.write(string.format("p%d %.2fms\n", p, latency:percentile(p) / 1000))
  end
end
