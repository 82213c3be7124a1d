#!/usr/bin/env bash
# Checkouts per second of one node (release build): guests each buying one unit (new cart,
# add a line, checkout with an Idempotency-Key), every buyer with its own variant and then
# all racing for one hot variant. On SQLite, and on PostgreSQL when BENCH_DATABASE_URL is
# set (that database is wiped). Usage: bench/checkout.sh [seconds=15] [connections=50]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-15}"
conns="${2:-50}"
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
load="$root/target/release/emporium-loadgen"
out="$root/bench/results/checkout.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export EMPORIUM_ADMIN_PASSWORD="bench admin passphrase 2026"
{
  echo "# Checkout throughput"
  echo
  echo "$stamp, $machine; $conns concurrent buyers, ${duration} s measured after a warm-up; server and load generator share the cores."
  echo "Each purchase is three requests (new cart, add line, checkout); the rate counts whole purchases, the latencies are the checkout request's."
  echo
  echo "| backend | scenario | checkouts/s | p50 ms | p99 ms | errors |"
  echo "|---|---|---|---|---|---|"
} >"$out"

run_backend() {
  local name="$1" url="$2"
  local work port pid
  work="$(mktemp -d)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  if [ -n "$url" ]; then export DATABASE_URL="$url"; else unset DATABASE_URL; fi
  export EMPORIUM_DATA_DIR="$work/data"
  "$bin" migrate >/dev/null
  "$bin" admin create --email bench@example.com >/dev/null
  env EMPORIUM_LOG=warn EMPORIUM_ADDR="127.0.0.1:$port" \
    EMPORIUM_AUTH__IP_PER_MINUTE=100000000 EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 \
    "$bin" serve --no-migrate >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
  for scenario in checkout-distinct checkout-hot; do
    line=$("$load" --url "http://127.0.0.1:$port" --scenario "$scenario" --connections "$conns" \
      --duration "$duration" --admin-email bench@example.com)
    echo "$line"
    python3 - "$name" "$line" >>"$out" <<'PY'
import json, sys
name, r = sys.argv[1], json.loads(sys.argv[2])
print(f"| {name} | {r['scenario']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} |")
PY
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
