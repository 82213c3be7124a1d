#!/usr/bin/env bash
# The storefront's product page as HTML next to the API's JSON product page (release
# build, SQLite, the same wrk settings as bench/run.sh: -t2 -c50), first visits on a node
# that has cached none (each page once) and random pages after one pass over all; then
# the sitemap of a shop with a million products, streamed, with the node's memory before
# and after. Usage: bench/storefront.sh [products=10000] [sitemap_products=1000000] [seconds=15]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
products="${1:-10000}"
big="${2:-1000000}"
duration="${3:-15}"
T=2; C=50
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
raw="$root/bench/results/raw"; mkdir -p "$raw"
out="$root/bench/results/storefront.md"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export EMPORIUM_LOG=warn WRK_THREADS=$T
unset DATABASE_URL
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start() { # data dir
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  EMPORIUM_DATA_DIR="$1" EMPORIUM_ADDR="127.0.0.1:$port" "$bin" serve --no-migrate >"$work/log" 2>&1 &
  pid=$!
  until curl -fs "$base/healthz" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/log"; exit 1; }
    sleep 0.02
  done
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=""; }
rss_mib() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status"; }

row() { # name file
  local rps p50 p99 errors
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$2")
  p50=$(awk '$1=="50%" {print $2}' "$2")
  p99=$(awk '$1=="99%" {print $2}' "$2")
  errors=$(awk '/Non-2xx/ {print $NF} /Socket errors/ {print}' "$2" | tr '\n' ' ')
  echo "| $1 | $rps | $p50 | $p99 | ${errors:-0} |" >>"$out"
  echo "$1: $rps req/s, p50 $p50, p99 $p99"
}

{
  echo "# Storefront"
  echo
  echo "$stamp, $machine; SQLite; $products products x 2 variants; wrk -t$T -c$C, first visits: 2 s of pages each asked for once on a fresh node; cached: ${duration} s of random pages after one pass over all; server and wrk share the cores."
  echo
  echo "| page | req/s | p50 | p99 | errors |"
  echo "|---|---|---|---|---|"
} >"$out"

EMPORIUM_DATA_DIR="$work/shop" "$bin" seed --demo --products "$products" >/dev/null
for kind in html api; do
  case "$kind" in
    html) prefix="/products/"; name="storefront HTML /products/{slug}" ;;
    api) prefix="/api/v1/products/"; name="API JSON /api/v1/products/{slug}" ;;
  esac
  start "$work/shop"
  python3 "$root/bench/slugs.py" "$base" "$work/slugs.txt" >/dev/null
  # As bench/run.sh: 2 s of pages never asked for before on this node, then one pass over
  # every page, then random pages.
  PREFIX="$prefix" SLUGS="$work/slugs.txt" wrk -t$T -c$C -d2s --timeout 30s --latency \
    -s "$root/bench/wrk/product-once.lua" "$base" >"$raw/wrk-storefront-$kind-first.txt"
  row "$name, first visit" "$raw/wrk-storefront-$kind-first.txt"
  PREFIX="$prefix" SLUGS="$work/slugs.txt" wrk -t$T -c$C -d$(( products / 1000 + 3 ))s --timeout 30s \
    -s "$root/bench/wrk/product-once.lua" "$base" >/dev/null
  PREFIX="$prefix" SLUGS="$work/slugs.txt" wrk -t$T -c$C -d"${duration}s" --timeout 30s --latency \
    -s "$root/bench/wrk/product.lua" "$base" >"$raw/wrk-storefront-$kind-cached.txt"
  row "$name, cached" "$raw/wrk-storefront-$kind-cached.txt"
  stop
done

# A million products, written straight into the tables the sitemap reads (seeding them
# through the catalog would take far longer than what is measured).
EMPORIUM_DATA_DIR="$work/big" "$bin" migrate >/dev/null
python3 - "$work/big/emporium.db" "$big" <<'PY'
import sqlite3, sys, uuid, datetime
db, n = sys.argv[1], int(sys.argv[2])
conn = sqlite3.connect(db)
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+00:00")
rows = ((uuid.uuid4().bytes, f"product-{i}", "published", "[]", "{}", "standard", 1000, f"product {i}", now, now, now)
        for i in range(n))
conn.executemany("INSERT INTO products (id, slug, status, tags, attributes, tax_class, price_min, title_sort, created_at, updated_at, published_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
conn.commit()
PY
# A node builds its search index on its first start: build it first, so the sitemap is
# not measured against a million-document index build.
EMPORIUM_DATA_DIR="$work/big" "$bin" reindex >/dev/null
start "$work/big"
before=$(rss_mib)
t0=$(date +%s.%N)
urls=0; bytes=0
for loc in $(curl -fs "$base/sitemap.xml" | grep -o '<loc>[^<]*</loc>' | sed 's/<[^>]*>//g'); do
  size=$(curl -fs -H 'Accept-Encoding: gzip' -o "$work/child.gz" -w '%{size_download}' "$loc")
  urls=$(( urls + $(gunzip -c "$work/child.gz" 2>/dev/null | grep -c '<url>' || curl -fs "$loc" | grep -c '<url>') ))
  bytes=$(( bytes + size ))
done
seconds=$(python3 -c "import time,sys; print(f'{time.time()-float(sys.argv[1]):.1f}')" "$t0")
after=$(rss_mib)
peak=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$pid/status")
stop
{
  echo
  echo "Sitemap of $big products: $urls URLs in the index's files, fetched one after another with gzip in ${seconds} s ($(( bytes / 1048576 )) MiB compressed); node memory ${before} MiB before, ${after} MiB after, peak ${peak} MiB."
} >>"$out"
cat "$out"
