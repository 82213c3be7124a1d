#!/usr/bin/env bash
# Memory soak: one release node on SQLite with a demo catalog serves random product pages
# and varied searches with wrk for a fixed time while nobody scrapes /metrics; the node's
# resident memory is sampled every 30 s. A node that stays up for weeks must be flat after
# warm-up. Writes bench/results/soak.md.
# Usage: bench/soak.sh [products=10000] [minutes=10] [connections=50]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-10000}"
minutes="${2:-10}"
conns="${3:-50}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"
mkdir -p "$raw"
out="$root/bench/results/soak.md"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export EMPORIUM_LOG=warn EMPORIUM_DATA_DIR="$work/data"
unset DATABASE_URL
echo "seeding $products products"
"$bin" seed --demo --products "$products"
"$bin" reindex
EMPORIUM_ADDR="127.0.0.1:$port" "$bin" >"$work/log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.02
done
python3 "$root/bench/slugs.py" "http://127.0.0.1:$port" "$raw/slugs.txt"
rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
seconds=$((minutes * 60))
# Two wrk processes side by side, each bounded by -d: pages and searches.
SLUGS="$raw/slugs.txt" wrk -t1 -c"$((conns / 2))" -d"${seconds}s" -s "$root/bench/wrk/product.lua" \
  "http://127.0.0.1:$port" >"$raw/soak-product.txt" &
pages=$!
wrk -t1 -c"$((conns / 2))" -d"${seconds}s" -s "$root/bench/wrk/search-mix.lua" \
  "http://127.0.0.1:$port" >"$raw/soak-search.txt" &
searches=$!
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
{
  echo "# Memory soak without a metrics scraper"
  echo
  echo "$stamp, $(nproc) cores; $products products on SQLite; wrk: random product pages and varied searches, $conns connections for $minutes min; /metrics never scraped."
  echo
  echo "| minute | RSS MiB |"
  echo "|---|---|"
  echo "| 0 | $(rss) |"
} >"$out"
elapsed=0
while [ "$elapsed" -lt "$seconds" ]; do
  sleep 30
  elapsed=$((elapsed + 30))
  line="| $(awk -v s="$elapsed" 'BEGIN {printf "%.1f", s / 60}') | $(rss) |"
  echo "$line" | tee -a "$out"
done
wait "$pages" "$searches"
{
  echo
  echo "Pages: $(awk '/Requests\/sec/ {print $2}' "$raw/soak-product.txt") req/s; searches: $(awk '/Requests\/sec/ {print $2}' "$raw/soak-search.txt") req/s."
} >>"$out"
cat "$out"
