#!/usr/bin/env bash
# Server time of the admin console's busiest pages on a big shop (release build, SQLite):
# home, the products list, the orders list (all, and filtered by status), and one order.
# Seeds the catalog and the orders first (`emporium seed --demo --products P --orders O`),
# signs a staff member in through the console's own form, then drives each page with wrk
# on loopback with that session's cookie.
# Usage: bench/admin.sh [products=100000] [orders=1000000] [seconds=10] [connections=4]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-100000}"
orders="${2:-1000000}"
duration="${3:-10}"
conns="${4:-4}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed: apt-get install curl" >&2; exit 1; }
cargo build --release --locked -p emporium --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/admin.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

export EMPORIUM_LOG=warn EMPORIUM_DATA_DIR="$work/data"
export EMPORIUM_ADMIN_PASSWORD="bench admin passphrase 2026"
unset DATABASE_URL
t0=$(date +%s)
"$bin" seed --demo --products "$products" --orders "$orders"
seed_s=$(( $(date +%s) - t0 ))
"$bin" admin create --email bench@example.com >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_AUTH__IP_PER_MINUTE=100000000 \
  EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 "$bin" serve --no-migrate >"$work/log" 2>&1 &
pid=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.02
done

# Sign in the way a browser does: the form's token and its cookie, then the session cookie.
jar="$work/cookies"
csrf=$(curl -fs -c "$jar" "$base/admin/sign-in" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
curl -fs -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode "email=bench@example.com" --data-urlencode "password=$EMPORIUM_ADMIN_PASSWORD" \
  --data-urlencode "csrf=$csrf" "$base/admin/sign-in"
session=$(awk '$6=="emporium_admin" {print $7}' "$jar")
[ -n "$session" ] || { echo "sign-in failed" >&2; exit 1; }
number=$(( 1000 + orders / 2 ))

{
  echo "# Admin console pages"
  echo
  echo "$stamp, $machine; SQLite; $products products x 2 variants, $orders orders (seeded in ${seed_s} s); wrk -t2 -c$conns -d${duration}s after a 3 s warm-up, one signed-in session; server and wrk share the cores."
  echo
  echo "| page | req/s | p50 | p90 | p99 | errors |"
  echo "|---|---|---|---|---|---|"
} >"$out"
for page in "/admin" "/admin/products" "/admin/orders" "/admin/orders?status=paid" "/admin/orders/$number"; do
  name=$(echo "$page" | tr '/?=' '___')
  wrk -t2 -c"$conns" -d3s -H "Cookie: emporium_admin=$session" "$base$page" >/dev/null
  wrk -t2 -c"$conns" -d"${duration}s" --latency -H "Cookie: emporium_admin=$session" "$base$page" >"$raw/wrk-admin$name.txt"
  rps=$(awk '/Requests\/sec/ {print $2}' "$raw/wrk-admin$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$raw/wrk-admin$name.txt")
  p90=$(awk '$1=="90%" {print $2}' "$raw/wrk-admin$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-admin$name.txt")
  errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw/wrk-admin$name.txt" | tr '\n' ' ')
  echo "| \`$page\` | $rps | $p50 | $p90 | $p99 | ${errors:-0} |" >>"$out"
  echo "$page: $rps req/s, p50 $p50, p90 $p90, p99 $p99"
done
cat "$out"
