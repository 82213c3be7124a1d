#!/usr/bin/env bash
# Login and refresh throughput of one node (release build) on SQLite, and on PostgreSQL
# when BENCH_DATABASE_URL is set. Usage: bench/auth.sh [seconds=15] [connections=50]
# Argon2id runs with the shipped defaults (19 MiB, 2 passes, 1 lane); rate limits are
# raised for the run, since one loopback IP would otherwise be throttled at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
duration="${1:-15}"
conns="${2:-50}"
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
load="$root/target/release/emporium-loadgen"
out="$root/bench/results/auth.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
{
  echo "# Auth throughput"
  echo
  echo "$stamp, $machine; $conns concurrent clients, ${duration} s measured after a warm-up; server and load generator share the cores."
  echo "Argon2id m=19456 KiB, t=2, p=1 (the defaults)."
  echo
  echo "| backend | scenario | req/s | p50 ms | p99 ms | errors |"
  echo "|---|---|---|---|---|---|"
} >"$out"

run_backend() {
  local name="$1" url="$2"
  local work port pid
  work="$(mktemp -d)"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env EMPORIUM_LOG=warn EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_DATA_DIR="$work/data" \
    EMPORIUM_AUTH__IP_PER_MINUTE=100000000 EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 \
    ${url:+DATABASE_URL="$url"} "$bin" >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
  for scenario in login refresh; do
    line=$("$load" --url "http://127.0.0.1:$port" --scenario "$scenario" --connections "$conns" --duration "$duration")
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
  run_backend postgres "$BENCH_DATABASE_URL"
fi
cat "$out"
