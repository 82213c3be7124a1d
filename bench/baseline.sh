#!/usr/bin/env bash
# Baseline of one node on its embedded defaults: cold start time, RSS, and /healthz
# throughput with wrk on loopback. Usage: bench/baseline.sh [seconds=15] [connections=50]
# Needs wrk (apt-get install wrk). Sends traffic only to 127.0.0.1 and stops the server
# it started (by its PID) when done.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-15}"
conns="${2:-50}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

start_ns=$(date +%s%N)
EMPORIUM_LOG=warn EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_DATA_DIR="$work/data" "$bin" >"$work/log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fs "$url/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.005
done
ready_ns=$(date +%s%N)
cold_ms=$(( (ready_ns - start_ns) / 1000000 ))
rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

wrk -t2 -c"$conns" -d5s "$url/healthz" >/dev/null   # warm-up
wrk -t2 -c"$conns" -d"${duration}s" --latency "$url/healthz" >"$work/wrk.txt"
rss_load=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
p50=$(awk '$1=="50%" {print $2}' "$work/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$work/wrk.txt")
errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt")

stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
out="$root/bench/results/baseline.md"
{
  echo "# Baseline: one node on embedded defaults (SQLite)"
  echo
  echo "$stamp, $machine; wrk -t2 -c$conns -d${duration}s after a 5 s warm-up; server and wrk share the cores."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| cold start to first /healthz 200 (includes migrations on a new data dir) | ${cold_ms} ms |"
  echo "| RSS after start | $((rss_idle / 1024)) MiB |"
  echo "| peak RSS under load | $((rss_load / 1024)) MiB |"
  echo "| GET /healthz req/s | $rps |"
  echo "| GET /healthz p50 / p99 | $p50 / $p99 |"
  echo "| errors | ${errors:-none} |"
} >"$out"
cat "$out"
