#!/usr/bin/env bash
# Live chat, release build, PostgreSQL, two nodes on loopback:
# - fan-out: S shopper sockets on node A (S/2 chats, two sockets each), one agent socket
#   per chat on node B; agents send M messages at R/s round the chats; the latency from
#   each send to its arrival at every shopper socket of its chat (NOTIFY in the message's
#   transaction on B, LISTEN on A, then A reads the message and sends it), and node A's
#   memory;
# - idle: I shopper sockets held open on node A, and its memory.
# Usage: bench/chat.sh [sockets=2000] [messages=3000] [rate=100] [idle=10000]
# BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/emporium_chat_bench) is
# dropped and made again.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sockets="${1:-2000}"
messages="${2:-3000}"
rate="${3:-100}"
idle="${4:-10000}"
db_url="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/emporium_chat_bench}"
# SKIP_BUILD=1 uses the release binaries already built.
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
loadgen="$root/target/release/emporium-loadgen"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/chat.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
ulimit -n "$(ulimit -Hn)"
export EMPORIUM_LOG=warn
export EMPORIUM_ADMIN_PASSWORD="bench passphrase 2026"
# Both nodes sign chat links and access tokens alike, as a cluster must.
export EMPORIUM_MASTER_KEY="$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')"
export EMPORIUM_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export DATABASE_URL="$db_url"
admin_url="${db_url%/*}/postgres"
name="${db_url##*/}"
psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\""
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
EMPORIUM_DATA_DIR="$work/a" "$bin" migrate >/dev/null
EMPORIUM_DATA_DIR="$work/a" "$bin" admin create --email bench@example.com >/dev/null
start() { # name; sets $base and appends to pids
  local dir="$work/$1" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  EMPORIUM_DATA_DIR="$dir" EMPORIUM_ADDR="127.0.0.1:$port" \
    EMPORIUM_AUTH__IP_PER_MINUTE=100000000 EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 \
    "$bin" serve --no-migrate >"$work/$1.log" 2>&1 &
  pids+=($!)
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/$1.log"; exit 1; }
    sleep 0.02
  done
}
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
peak_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
start a; a="$base"; pid_a="${pids[-1]}"
start b; b="$base"
before=$(rss_mib "$pid_a")
"$loadgen" --url "$a" --url2 "$b" --scenario chat-fanout --admin-email bench@example.com \
  --connections "$sockets" --events "$messages" --rate "$rate" | tee "$raw/chat-fanout.json" &
lg=$!
# Node A's memory while the sockets are open and the messages flow.
during=0
while kill -0 "$lg" 2>/dev/null; do
  now=$(rss_mib "$pid_a"); [ "$now" -gt "$during" ] && during=$now
  sleep 0.5
done
wait "$lg"
for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
pids=()
start a2; a="$base"; pid_a="${pids[-1]}"
idle_before=$(rss_mib "$pid_a")
"$loadgen" --url "$a" --scenario chat-fanout --admin-email bench@example.com \
  --connections "$idle" --events 0 --duration 10 | tee "$raw/chat-idle.json" &
lg=$!
idle_peak=0
while kill -0 "$lg" 2>/dev/null; do
  now=$(rss_mib "$pid_a"); [ "$now" -gt "$idle_peak" ] && idle_peak=$now
  sleep 0.5
done
wait "$lg"
python3 - "$raw/chat-fanout.json" "$raw/chat-idle.json" "$before" "$during" "$idle_before" "$idle_peak" "$stamp" "$machine" >"$out" <<'PY'
import json, sys
f = json.load(open(sys.argv[1])); i = json.load(open(sys.argv[2]))
before, during, idle_before, idle_peak, stamp, machine = sys.argv[3:9]
print("# Live chat\n")
print(f"{stamp}, {machine}; PostgreSQL on the same machine; two nodes, the load generator and PostgreSQL share the cores.\n")
print(f"Fan-out: {f['sockets']} shopper sockets on node A ({f['chats']} chats), one agent socket per chat on node B; "
      f"{f['events']} messages at {f['rate']}/s from the agents, each to the two shopper sockets of its chat. "
      f"Latency from the agent's send (node B stores it, NOTIFY in its transaction) to its arrival at a shopper socket on node A:\n")
print("| delivered | p50 | p90 | p99 | max | node A memory (before, peak) |")
print("|---|---|---|---|---|---|")
print(f"| {f['delivered']} of {f['expected']} | {f['p50_ms']} ms | {f['p90_ms']} ms | {f['p99_ms']} ms | {f['max_ms']} ms | {before} MiB, {during} MiB |\n")
print(f"Idle: {i['sockets']} shopper sockets held on one node (opened in {i['connect_seconds']} s): node memory {idle_before} MiB before, {idle_peak} MiB at most.\n")
print("Run: `bench/chat.sh [sockets] [messages] [rate] [idle]`.")
PY
cat "$out"
