#!/usr/bin/env bash
# Backup and restore on a big shop (release build), and what a running backup costs the
# shop: product pages (wrk, random among all) and checkout (emporium-loadgen) measured on
# an idle node and again while backups run back to back. On SQLite, and on PostgreSQL
# when BENCH_DATABASE_URL is set (that database and "<name>_restored" are wiped).
# Usage: bench/backup.sh [products=20000] [orders=1000000] [seconds=10]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-20000}"
orders="${2:-1000000}"
duration="${3:-10}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
load="$root/target/release/emporium-loadgen"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/backup.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export EMPORIUM_ADMIN_PASSWORD="bench admin passphrase 2026" EMPORIUM_LOG=warn
{
  echo "# Backup and restore"
  echo
  echo "$stamp, $machine; $products products x 2 variants, $orders orders; the node, the backup and the load generators share the cores."
  echo "Backup: \`emporium backup --to DIR\` with the node up and idle (copy, integrity check, per-table checksums, media). Restore: \`emporium restore\` into an empty target (checks, copy or pg_restore, sums again, migrations, search reindex)."
  echo "Under backup: the same ${duration} s measurement while backups run back to back (wrk -t2 -c8 product pages; loadgen checkout-distinct, 16 buyers)."
  echo
  echo "| backend | database size | backup s | restore s | product p99 idle | product p99 during backup | product req/s idle / during | checkout p99 idle | checkout p99 during backup | checkouts/s idle / during |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$out"

seconds_since() { python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$1"; }

measure() { # prints "p99 rps" for product pages then for checkout
  local base="$1" tag="$2"
  SLUGS="$raw/backup-slugs.txt" wrk -t2 -c8 -d"${duration}s" --latency -s "$root/bench/wrk/product.lua" "$base" >"$raw/wrk-backup-$tag.txt"
  local p99 rps
  p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-backup-$tag.txt")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$raw/wrk-backup-$tag.txt")
  local line
  line=$("$load" --url "$base" --scenario checkout-distinct --connections 16 --duration "$duration" --admin-email bench@example.com)
  python3 - "$p99" "$rps" "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[3])
print(sys.argv[1], sys.argv[2], f"{r['p99_ms']:.1f}ms", f"{r['rps']:.0f}")
PY
}

run_backend() {
  local name="$1" url="$2" restore_url="$3"
  local work port pid base
  work="$(mktemp -d)"
  if [ -n "$url" ]; then export DATABASE_URL="$url"; else unset DATABASE_URL; fi
  export EMPORIUM_DATA_DIR="$work/data"
  echo "$name: seeding $products products and $orders orders"
  "$bin" seed --demo --products "$products" --orders "$orders"
  "$bin" admin create --email bench@example.com >/dev/null
  if [ -n "$url" ]; then
    size=$(psql "$url" -Atc "select pg_size_pretty(pg_database_size(current_database()))")
  else
    size=$(du -h "$work/data/emporium.db" | cut -f1)
  fi
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  env EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_AUTH__IP_PER_MINUTE=100000000 \
    EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 "$bin" serve --no-migrate >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
  python3 "$root/bench/slugs.py" "$base" "$raw/backup-slugs.txt"

  t0=$(date +%s.%N)
  "$bin" backup --to "$work/backups"
  backup_s=$(seconds_since "$t0")
  taken="$work/backups/$(ls "$work/backups" | grep -v media | sort | tail -1)"

  # Every product page once first, so neither measurement gets the cold cache.
  SLUGS="$raw/backup-slugs.txt" wrk -t2 -c8 -d$(( $(wc -l <"$raw/backup-slugs.txt") / 1000 + 3 ))s \
    -s "$root/bench/wrk/product-once.lua" "$base" >/dev/null
  read -r idle_p99 idle_rps idle_c99 idle_crps < <(measure "$base" "$name-idle")
  touch "$work/keep-backing-up"
  ( while [ -f "$work/keep-backing-up" ]; do "$bin" backup --to "$work/during" >/dev/null; done ) &
  loop=$!
  sleep 1
  read -r busy_p99 busy_rps busy_c99 busy_crps < <(measure "$base" "$name-during")
  rm -f "$work/keep-backing-up"
  wait "$loop" || true
  kill -TERM "$pid"; wait "$pid" || true

  t0=$(date +%s.%N)
  if [ -n "$url" ]; then
    DATABASE_URL="$restore_url" "$bin" restore "$taken"
  else
    EMPORIUM_DATA_DIR="$work/restored" "$bin" restore "$taken"
  fi
  restore_s=$(seconds_since "$t0")
  echo "| $name | $size | $backup_s | $restore_s | $idle_p99 | $busy_p99 | $idle_rps / $busy_rps | $idle_c99 | $busy_c99 | $idle_crps / $busy_crps |" >>"$out"
  tail -1 "$out"
  rm -rf "$work"
}

run_backend sqlite "" ""
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  db="${BENCH_DATABASE_URL##*/}"
  admin="${BENCH_DATABASE_URL%/*}/postgres"
  restored="${BENCH_DATABASE_URL%/*}/${db}_restored"
  psql "$admin" -qc "drop database if exists \"$db\" with (force)" -c "create database \"$db\""
  psql "$admin" -qc "drop database if exists \"${db}_restored\" with (force)" -c "create database \"${db}_restored\""
  run_backend postgres "$BENCH_DATABASE_URL" "$restored"
  psql "$admin" -qc "drop database if exists \"${db}_restored\" with (force)"
fi
cat "$out"
