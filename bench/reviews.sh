#!/usr/bin/env bash
# A product's reviews at depth: one product with N reviews (imported with
# `emporium import reviews`, so the import is timed too), then its reviews list through the
# API and the storefront's reviews page, first page and a deep page (cursor-paged, so a
# deep page should cost what the first does), newest and most helpful first. Release
# build, SQLite, the same wrk settings as bench/run.sh (-t2 -c50).
# Usage: bench/reviews.sh [reviews=10000] [seconds=15]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-10000}"
duration="${2:-15}"
T=2; C=50
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/reviews.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export EMPORIUM_LOG=warn
unset DATABASE_URL
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

EMPORIUM_DATA_DIR="$work/shop" "$bin" seed --demo --products 100 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
EMPORIUM_DATA_DIR="$work/shop" EMPORIUM_ADDR="127.0.0.1:$port" "$bin" serve --no-migrate >"$work/log" 2>&1 &
pid=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
  sleep 0.02
done
slug=$(curl -fs "$base/api/v1/products?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["slug"])')
kill -TERM "$pid"; wait "$pid" || true; pid=""

python3 - "$slug" "$n" >"$work/reviews.csv" <<'PY'
import csv, random, sys, datetime
slug, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
w = csv.writer(sys.stdout)
w.writerow(["product", "rating", "title", "body", "author_name", "created_at", "key"])
start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
words = "warm light sturdy soft fits runs small large great fine poor colour stitching zip pocket".split()
for i in range(n):
    t = start + datetime.timedelta(minutes=53 * i)
    body = " ".join(random.choice(words) for _ in range(random.randint(8, 60)))
    w.writerow([slug, random.choice([5, 5, 5, 4, 4, 3, 2, 1]), f"Review {i}", body,
                f"Shopper {i}", t.isoformat(), f"bench-{i}"])
PY
t0=$(date +%s.%N)
EMPORIUM_DATA_DIR="$work/shop" "$bin" import reviews "$work/reviews.csv" >"$work/import.txt" 2>/dev/null
import_s=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$t0")
# Some votes, so "most helpful" has an order to keep.
python3 - "$work/shop/emporium.db" <<'PY'
import sqlite3, sys, random
random.seed(3)
db = sqlite3.connect(sys.argv[1])
ids = [r[0] for r in db.execute("SELECT id FROM reviews")]
db.executemany("UPDATE reviews SET helpful = ? WHERE id = ?", [(random.randint(0, 40), i) for i in ids])
db.commit()
PY

EMPORIUM_DATA_DIR="$work/shop" EMPORIUM_ADDR="127.0.0.1:$port" "$bin" serve --no-migrate >"$work/log" 2>&1 &
pid=$!
until curl -fs "$base/healthz" >/dev/null 2>&1; do sleep 0.02; done

# The cursor of page `page` (20 reviews a page) for `sort`.
deep_cursor() {
  python3 - "$base" "$slug" "$1" "$2" <<'PY'
import json, sys, urllib.request
base, slug, sort, page = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cursor = ""
for _ in range(page - 1):
    url = f"{base}/api/v1/products/{slug}/reviews?sort={sort}&limit=20" + (f"&cursor={cursor}" if cursor else "")
    cursor = json.load(urllib.request.urlopen(url))["next_cursor"]
print(cursor)
PY
}
deep=$(( n / 20 - 5 ))
{
  echo "# Reviews"
  echo
  echo "$stamp, $machine; SQLite; one product with $n reviews; wrk -t$T -c$C -d${duration}s after a 5 s warm-up; server and wrk share the cores."
  echo
  echo "Import of $n reviews with \`emporium import reviews\`: ${import_s} s ($(tail -1 "$work/import.txt"))."
  echo
  echo "| request | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|"
} >"$out"
measure() { # name path
  wrk -t$T -c$C -d5s "$base$2" >/dev/null
  wrk -t$T -c$C -d"${duration}s" --latency "$base$2" >"$raw/wrk-reviews.txt"
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$raw/wrk-reviews.txt")
  p50=$(awk '$1=="50%" {print $2}' "$raw/wrk-reviews.txt")
  p99=$(awk '$1=="99%" {print $2}' "$raw/wrk-reviews.txt")
  errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$raw/wrk-reviews.txt" | tr '\n' ' ')
  echo "| $1 | $rps | $p50 | $p99 | ${errors:-0} |" >>"$out"
  echo "$1: $rps req/s, p50 $p50, p99 $p99"
}
for sort in newest helpful; do
  measure "API, $sort, first page" "/api/v1/products/$slug/reviews?sort=$sort"
  measure "API, $sort, page $deep" "/api/v1/products/$slug/reviews?sort=$sort&cursor=$(deep_cursor "$sort" "$deep")"
done
measure "API, 1 star only, first page" "/api/v1/products/$slug/reviews?stars=1"
measure "storefront HTML reviews page, first page" "/products/$slug/reviews"
measure "storefront HTML reviews page, page $deep" "/products/$slug/reviews?cursor=$(deep_cursor newest "$deep")"
measure "storefront HTML product page (rating and newest 5, cached)" "/products/$slug"
rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
echo >>"$out"
echo "Node memory after the runs: ${rss} MiB." >>"$out"
cat "$out"
