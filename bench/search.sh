#!/usr/bin/env bash
# Search on a seeded catalog (release build, SQLite; search runs in-process on every node
# whatever the database): index build time and size with `emporium reindex`, then req/s
# and latency for a few representative queries with wrk on loopback.
# Usage: bench/search.sh [products=100000] [seconds=15] [connections=50]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-100000}"
duration="${2:-15}"
conns="${3:-50}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
out="$root/bench/results/search.md"
raw="$root/bench/results/raw"
mkdir -p "$raw"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export EMPORIUM_LOG=warn EMPORIUM_DATA_DIR="$work/data"
unset DATABASE_URL
t0=$(date +%s.%N)
"$bin" seed --demo --products "$products"
seed_s=$(python3 -c "import time; print(f'{time.time() - $t0:.0f}')")
index_line=$("$bin" reindex | tail -1)
echo "$index_line"
EMPORIUM_ADDR="127.0.0.1:$port" "$bin" >"$work/log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.02
done
{
  echo "# Search"
  echo
  echo "$stamp, $machine; $products seeded products x 2 variants (SQLite); wrk -t2 -c$conns -d${duration}s after a 5 s warm-up; server and wrk share the cores."
  echo
  echo "Seeding took ${seed_s} s. Index: $index_line"
  echo
  echo "| query | total hits | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|"
} >"$out"
base="http://127.0.0.1:$port/api/v1/search"
for query in "q=jacket" "q=relaxd%20jaket" "q=jacket&category=men&price_max=10000&attr.size=m" "q=&category=women&sort=price"; do
  total=$(curl -fs "$base?$query" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  wrk -t2 -c"$conns" -d5s "$base?$query" >/dev/null
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$base?$query" >"$raw/wrk-search.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$raw/wrk-search.txt")
  p50=$(awk '$1=="50%" {print $2}' "$raw/wrk-search.txt")
  p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-search.txt")
  errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw/wrk-search.txt" | tr '\n' ' ')
  echo "| \`$query\` | $total | $rps | $p50 | $p99 | ${errors:-0} |" >>"$out"
  echo "$query: $total hits, $rps req/s, p50 $p50, p99 $p99"
done
# Varied queries (random words, typos, filters and pages) that the node's result cache
# rarely answers: the cost of real search work.
wrk -t2 -c"$conns" -d5s -s "$root/bench/wrk/search-mix.lua" "http://127.0.0.1:$port" >/dev/null
wrk -t2 -c"$conns" -d"${duration}s" --latency -s "$root/bench/wrk/search-mix.lua" "http://127.0.0.1:$port" >"$raw/wrk-search.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$raw/wrk-search.txt")
p50=$(awk '$1=="50%" {print $2}' "$raw/wrk-search.txt")
p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-search.txt")
errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw/wrk-search.txt" | tr '\n' ' ')
echo "| varied (bench/wrk/search-mix.lua) | - | $rps | $p50 | $p99 | ${errors:-0} |" >>"$out"
{
  echo
  echo "Repeated queries are answered from the node's result cache (dropped whenever the index"
  echo "changes); the varied row is the uncached cost."
} >>"$out"
cat "$out"
