#!/usr/bin/env bash
# Integrations, release build, SQLite:
# - outgoing webhooks: N product edits at a steady rate through the admin API, each
#   published as `product.updated` in its transaction, delivered to a receiver on
#   loopback; the latency from the edit's commit (the payload's timestamp) to the event's
#   first arrival, by `emporium-loadgen --scenario webhook-latency`;
# - product feeds: the Google (RSS) and Meta (CSV) feeds of a shop with P products,
#   fetched whole, with the node's memory before, after and at its peak.
# Usage: bench/integrations.sh [events=10000] [rate=100] [products=100000]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
events="${1:-10000}"
rate="${2:-100}"
products="${3:-100000}"
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
loadgen="$root/target/release/emporium-loadgen"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/integrations.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export EMPORIUM_LOG=warn
export EMPORIUM_ADMIN_PASSWORD="bench passphrase 2026"
unset DATABASE_URL
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
start() { # data dir, then extra environment
  local dir="$1" port; shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  env "$@" EMPORIUM_DATA_DIR="$dir" EMPORIUM_ADDR="127.0.0.1:$port" "$bin" serve --no-migrate >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }
{
  echo "# Integrations"
  echo
  echo "$stamp, $machine; SQLite; the server, the load generator and its receiver share the cores."
  echo
} >"$out"

# Webhooks: a small shop, the worker on, webhooks allowed to reach loopback; at the
# default outbox poll interval (250 ms) and at 50 ms.
EMPORIUM_DATA_DIR="$work/hooks" "$bin" seed --demo --products 100 >/dev/null
EMPORIUM_DATA_DIR="$work/hooks" "$bin" admin create --email bench@example.com >/dev/null
{
  echo "Webhooks: $events product edits at $rate/s through the admin API, each one \`product.updated\` event to one endpoint on loopback; latency from the edit's commit (the payload's timestamp) to the event's first arrival:"
  echo
  echo "| outbox poll interval | delivered | repeated | p50 | p90 | p99 | max |"
  echo "|---|---|---|---|---|---|---|"
} >>"$out"
for poll in 250 50; do
  start "$work/hooks" EMPORIUM_WEBHOOKS__ALLOW_PRIVATE_TARGETS=true EMPORIUM_OUTBOX__POLL_INTERVAL_MS=$poll \
    EMPORIUM_AUTH__IP_PER_MINUTE=100000000 EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000
  # Let the seed's own events go through first.
  sleep 2
  "$loadgen" --url "$base" --scenario webhook-latency --admin-email bench@example.com \
    --events "$events" --rate "$rate" | tee "$raw/webhook-latency-$poll.json"
  stop
  python3 - "$raw/webhook-latency-$poll.json" "$poll" >>"$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} ms | {r['delivered']} of {r['events']} | {r['repeats']} | {r['p50_ms']} ms | {r['p90_ms']} ms | {r['p99_ms']} ms | {r['max_ms']} ms |")
PY
done
echo >>"$out"

# Feeds: P products (two variants each, pictures), the node's worker off so the seed's
# events do not run beside the measurement, the search index built beforehand.
echo "seeding $products products..."
t0=$(date +%s.%N)
EMPORIUM_DATA_DIR="$work/big" "$bin" seed --demo --products "$products" >/dev/null
seed_s=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.0f}')" "$t0")
EMPORIUM_DATA_DIR="$work/big" "$bin" reindex >/dev/null
start "$work/big" EMPORIUM_OUTBOX__WORKER=false
{
  echo "Product feeds of $products products (seeded in ${seed_s} s), each fetched whole, one after another:"
  echo
  echo "| feed | items | size | seconds | node memory before, after, peak |"
  echo "|---|---|---|---|---|"
} >>"$out"
for feed in google/en-USD.xml meta/en-USD.csv google/de-EUR.xml; do
  before=$(rss_mib)
  t0=$(date +%s.%N)
  curl -fs -o "$work/feed" "$base/feeds/$feed"
  seconds=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$t0")
  case "$feed" in
    *.xml) items=$(grep -c '<item>' "$work/feed") ;;
    *.csv) items=$(( $(python3 -c 'import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1]))))' "$work/feed") - 1 )) ;;
  esac
  size=$(( $(stat -c %s "$work/feed") / 1048576 ))
  after=$(rss_mib)
  peak=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
  echo "| /feeds/$feed | $items | $size MiB | $seconds | $before, $after, $peak MiB |" >>"$out"
  echo "/feeds/$feed: $items items, $size MiB in $seconds s"
done
stop
cat "$out"
