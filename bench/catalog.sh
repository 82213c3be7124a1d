#!/usr/bin/env bash
# Catalog read throughput of one node (release build): GET /api/v1/products?limit=20 and
# GET /api/v1/products/{slug} (random among all), with wrk on loopback, on SQLite and, when
# BENCH_DATABASE_URL is set, on PostgreSQL (that database is wiped and reseeded).
# Usage: bench/catalog.sh [products=10000] [seconds=15] [connections=50]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-10000}"
duration="${2:-15}"
conns="${3:-50}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"
mkdir -p "$raw"
out="$root/bench/results/catalog.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
{
  echo "# Catalog reads"
  echo
  echo "$stamp, $machine; $products products x 2 variants; wrk -t2 -c$conns -d${duration}s after a 5 s warm-up; server and wrk share the cores."
  echo
  echo "| backend | scenario | req/s | p50 | p99 | errors | seed time |"
  echo "|---|---|---|---|---|---|---|"
} >"$out"

run_backend() {
  local name="$1" url="$2"
  local work port pid seed_s
  work="$(mktemp -d)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export EMPORIUM_LOG=warn EMPORIUM_DATA_DIR="$work/data"
  if [ -n "$url" ]; then export DATABASE_URL="$url"; else unset DATABASE_URL; fi
  local t0; t0=$(date +%s.%N)
  "$bin" seed --demo --products "$products"
  seed_s=$(python3 -c "import time; print(f'{time.time() - $t0:.0f} s')")
  EMPORIUM_ADDR="127.0.0.1:$port" "$bin" >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
  python3 "$root/bench/slugs.py" "http://127.0.0.1:$port" "$raw/slugs.txt"
  for scenario in list product; do
    case "$scenario" in
      list) args=("http://127.0.0.1:$port/api/v1/products?limit=20") ;;
      product) args=(-s "$root/bench/wrk/product.lua" "http://127.0.0.1:$port") ;;
    esac
    SLUGS="$raw/slugs.txt" wrk -t2 -c"$conns" -d5s "${args[@]}" >/dev/null
    SLUGS="$raw/slugs.txt" wrk -t2 -c"$conns" -d"${duration}s" --latency "${args[@]}" >"$raw/wrk-$name-$scenario.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$raw/wrk-$name-$scenario.txt")
    p50=$(awk '$1=="50%" {print $2}' "$raw/wrk-$name-$scenario.txt")
    p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-$name-$scenario.txt")
    errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw/wrk-$name-$scenario.txt" | tr '\n' ' ')
    echo "| $name | $scenario | $rps | $p50 | $p99 | ${errors:-0} | $seed_s |" >>"$out"
    echo "$name $scenario: $rps req/s, p50 $p50, p99 $p99"
  done
  kill -TERM "$pid"; wait "$pid" || true
  rm -rf "$work"
}

run_backend sqlite ""
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  db="${BENCH_DATABASE_URL##*/}"
  admin="${BENCH_DATABASE_URL%/*}/postgres"
  psql "$admin" -qc "drop database if exists \"$db\" with (force)" -c "create database \"$db\""
  run_backend postgres "$BENCH_DATABASE_URL"
fi
cat "$out"
