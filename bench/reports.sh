#!/usr/bin/env bash
# Sales reports on a big shop (release build): seeds the demo catalog and N orders over
# the past two years by 100,000 customers with their sales ledger rows (`emporium seed
# --demo --orders N --customers 100000 --days 730`, which ends by summing the ledger as
# `emporium reports rebuild` does, and says how long that took), then drives the reports
# with wrk on loopback as a signed-in staff member: a year of sales by day with the year before for comparison, the same by
# month, the year's top products, the dashboard, a 24 x 24 cohort matrix, the funnel and
# the console's reports page; then
# streams a year of the ledger as CSV and reports rows/s and the node's memory before and
# after. SQLite, and PostgreSQL too when BENCH_DATABASE_URL is set (that database is
# wiped).
# Usage: bench/reports.sh [orders=1000000] [seconds=10] [connections=4]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
orders="${1:-1000000}"
duration="${2:-10}"
conns="${3:-4}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed: apt-get install curl" >&2; exit 1; }
cargo build --release --locked -p emporium --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/reports.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
export EMPORIUM_LOG=warn EMPORIUM_ADMIN_PASSWORD="bench admin passphrase 2026"

{
  echo "# Sales reports"
  echo
  echo "$stamp, $machine; $orders demo orders (1 to 3 lines each) by 100,000 customers over the past two years on 1,000 products, with their ledger rows (orders, payments, refunds, cancellations); wrk -t2 -c$conns -d${duration}s after a 3 s warm-up, one staff token; server and wrk share the cores."
  echo
} >"$out"

run_backend() { # name database_url(or empty)
  local name="$1" url="$2"
  local data="$work/$name"
  if [ -n "$url" ]; then
    export DATABASE_URL="$url"
    local dbname="${url##*/}" admin="${url%/*}/postgres"
    psql "$admin" -qc "DROP DATABASE IF EXISTS \"$dbname\"" -c "CREATE DATABASE \"$dbname\"" >/dev/null
  else
    unset DATABASE_URL
  fi
  export EMPORIUM_DATA_DIR="$data"
  local t0 seed_s
  t0=$(date +%s)
  # The seed ends with `reports rebuild`'s work (summing the whole ledger) and says how
  # long that took.
  "$bin" seed --demo --products 1000 --orders "$orders" --customers 100000 --days 730 \
    2>/dev/null | grep "^summed" >"$work/rebuild.txt"
  seed_s=$(( $(date +%s) - t0 ))
  "$bin" admin create --email bench@example.com >/dev/null
  local port base
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_AUTH__IP_PER_MINUTE=100000000 \
    EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 "$bin" serve --no-migrate >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
  local token
  token=$(curl -fs -H 'content-type: application/json' \
    -d "{\"email\":\"bench@example.com\",\"password\":\"$EMPORIUM_ADMIN_PASSWORD\"}" \
    "$base/api/v1/auth/login" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  local jar="$work/cookies" csrf session
  csrf=$(curl -fs -c "$jar" "$base/admin/sign-in" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
  curl -fs -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "email=bench@example.com" --data-urlencode "password=$EMPORIUM_ADMIN_PASSWORD" \
    --data-urlencode "csrf=$csrf" "$base/admin/sign-in"
  session=$(awk '$6=="emporium_admin" {print $7}' "$jar")
  local to from
  to=$(date -u +%F)
  from=$(date -u -d "$to - 364 days" +%F)
  {
    echo "## $name"
    echo
    echo "Seeded in ${seed_s} s; its last step, summing the ledger into the rollups as \`emporium reports rebuild\` does: $(tail -1 "$work/rebuild.txt")."
    echo
    echo "| request | req/s | p50 | p90 | p95 | p99 | errors |"
    echo "|---|---|---|---|---|---|---|"
  } >>"$out"
  measure() { # label path header
    local file="$raw/wrk-reports.txt"
    wrk -t2 -c"$conns" -d3s -H "$3" "$base$2" >/dev/null
    wrk -t2 -c"$conns" -d"${duration}s" -s "$root/bench/wrk/percentiles.lua" -H "$3" "$base$2" >"$file"
    local rps p50 p90 p95 p99 errors
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$file")
    p50=$(awk '$1=="p50" {print $2}' "$file")
    p90=$(awk '$1=="p90" {print $2}' "$file")
    p95=$(awk '$1=="p95" {print $2}' "$file")
    p99=$(awk '$1=="p99" {print $2}' "$file")
    errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$file" | tr '\n' ' ')
    echo "| $1 | $rps | $p50 | $p90 | $p95 | $p99 | ${errors:-0} |" >>"$out"
    echo "$name $1: $rps req/s, p50 $p50, p95 $p95, p99 $p99"
  }
  local auth="Authorization: Bearer $token"
  measure "365 days of sales by day, with the year before" "/api/v1/admin/reports/sales?from=$from&to=$to&compare=year" "$auth"
  measure "365 days of sales by month, with the period before" "/api/v1/admin/reports/sales?from=$from&to=$to&group=month" "$auth"
  measure "top 50 products of the year" "/api/v1/admin/reports/products?from=$from&to=$to" "$auth"
  measure "top 50 variants of the year" "/api/v1/admin/reports/variants?from=$from&to=$to" "$auth"
  measure "dashboard" "/api/v1/admin/dashboard" "$auth"
  local cohorts_from
  cohorts_from=$(date -u -d "$(date -u +%Y-%m-01) - 23 months" +%F)
  measure "24 x 24 cohort matrix" "/api/v1/admin/reports/cohorts?from=$cohorts_from&to=$to" "$auth"
  measure "funnel of the year" "/api/v1/admin/reports/funnel?from=$from&to=$to" "$auth"
  measure "console reports page, the year" "/admin/reports?from=$from&to=$to" "Cookie: emporium_admin=$session"
  local rss_before rss_peak t0 rows secs sampler
  rss_before=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
  # The node's memory, sampled every 50 ms while the export streams.
  ( peak=0; while kill -0 "$pid" 2>/dev/null; do
      r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${r:-0}" -gt "$peak" ] && peak=$r && echo "$peak" >"$work/peak"
      sleep 0.05
    done ) &
  sampler=$!
  t0=$(date +%s.%N)
  curl -fs -H "$auth" "$base/api/v1/admin/reports/ledger?from=$from&to=$to" -o "$work/ledger.csv"
  secs=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.2f}')" "$t0")
  kill "$sampler" 2>/dev/null || true
  rows=$(( $(wc -l <"$work/ledger.csv") - 1 ))
  rss_peak=$(( $(cat "$work/peak" 2>/dev/null || echo 0) / 1024 ))
  {
    echo
    echo "Ledger CSV of the year: $rows rows in ${secs} s ($(python3 -c "print(f'{$rows/$secs:,.0f}')") rows/s, $(du -m "$work/ledger.csv" | cut -f1) MiB); node memory ${rss_before} MiB before, at most ${rss_peak} MiB while streaming."
    echo
  } >>"$out"
  rm -f "$work/ledger.csv"
  kill -TERM "$pid"; wait "$pid" || true; pid=""
  rm -rf "$data"
}

# SKIP_SQLITE=1 measures PostgreSQL alone.
[ -n "${SKIP_SQLITE:-}" ] || run_backend SQLite ""
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  run_backend PostgreSQL "$BENCH_DATABASE_URL"
fi
cat "$out"
