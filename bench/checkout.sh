#!/usr/bin/env bash
# Checkouts per second of one node (release build): guests each buying one unit (new cart,
# add a line, checkout with an Idempotency-Key), every buyer with its own variant and then
# all racing for one hot variant. On SQLite, and on PostgreSQL when BENCH_DATABASE_URL is
# set (that database is wiped). With PROMOTIONS=N, each backend runs a second time with N
# active promotions (a few that apply to every cart, the rest about other products), so
# the price of the promotions engine on the buying path is measured in the same run.
# Usage: [PROMOTIONS=100] bench/checkout.sh [seconds=15] [connections=50]
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

# Makes N promotions through the admin API: every 10th applies to every cart (10% off
# orders, combining with shipping), every 10th+1 is free shipping over 200.00, the rest
# are about products no buyer has (as most of a real shop's list is, at any moment).
seed_promotions() {
  local port=$1 n=$2 token
  token=$(curl -fs -X POST "http://127.0.0.1:$port/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\": \"bench@example.com\", \"password\": \"$EMPORIUM_ADMIN_PASSWORD\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  python3 - "$port" "$token" "$n" <<'PY'
import json, sys, urllib.request, uuid
port, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    if i % 10 == 0:
        body = {"name": f"Ten off {i}", "class": "order", "action": {"type": "percent_off", "percent": "10"},
                "combines_with": ["shipping"], "priority": i % 3}
    elif i % 10 == 1:
        body = {"name": f"Free shipping {i}", "class": "shipping", "action": {"type": "free_shipping"},
                "currency": "USD", "conditions": {"min_subtotal": 20000}, "combines_with": ["order", "product"]}
    else:
        body = {"name": f"Other products {i}", "class": "product", "action": {"type": "percent_off", "percent": "15"},
                "conditions": {"products": [str(uuid.uuid4()) for _ in range(3)]}}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/admin/discounts",
        data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"})
    urllib.request.urlopen(request).read()
PY
}

run_backend() {
  local name="$1" url="$2" promotions="${3:-0}"
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
  if [ "$promotions" -gt 0 ]; then
    seed_promotions "$port" "$promotions"
    name="$name, $promotions promotions"
  fi
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

counts=(0)
if [ "${PROMOTIONS:-0}" -gt 0 ]; then counts+=("$PROMOTIONS"); fi
for n in "${counts[@]}"; do
  run_backend sqlite "" "$n"
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    db="${BENCH_DATABASE_URL##*/}"
    admin="${BENCH_DATABASE_URL%/*}/postgres"
    psql "$admin" -qc "drop database if exists \"$db\" with (force)" -c "create database \"$db\""
    run_backend postgres "$BENCH_DATABASE_URL" "$n"
  fi
done
cat "$out"
