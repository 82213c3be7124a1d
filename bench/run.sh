#!/usr/bin/env bash
# Emporium side by side with a real peer (Vendure 3, ../shared/peers/vendure) on this
# machine, in one run: the same catalog size, the same wrk settings (-t2 -c50, 5 s warm-up),
# scenario by scenario with the peer and Emporium alternating so that drift hits both.
# Writes bench/results/compare.{md,json,svg}.
#   bench/run.sh --quick   1,000 products, 5 s per scenario
#   bench/run.sh --full    10,000 products, 15 s per scenario, plus Emporium alone at 100,000
# Needs wrk, node/npm (the peer installs from the npm registry) and PostgreSQL on 127.0.0.1.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
case "${1:---quick}" in
  --quick) N=1000; D=5; BIG=0 ;;
  --full) N=10000; D=15; BIG=100000 ;;
  *) echo "usage: bench/run.sh [--quick|--full]" >&2; exit 2 ;;
esac
C=50; T=2
peer="$root/../shared/peers/vendure"
vhome="${VENDURE_DIR:-$HOME/peers/vendure}"
pg_admin="${BENCH_PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}"
out="$root/bench/results"; raw="$out/raw"; mkdir -p "$raw"
rows="$raw/compare-rows.jsonl"; : >"$rows"
stamp="$(date -u +%Y-%m-%dT%H:%MZ)"
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
export WRK_THREADS=$T EMPORIUM_ADMIN_PASSWORD="bench admin passphrase 2026"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -p emporium -p emporium-loadgen --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/release/emporium"
load="$root/target/release/emporium-loadgen"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

rss() { awk '/^VmRSS/ {printf "%d", $2/1024}' "/proc/$1/status" 2>/dev/null || echo 0; }

# One measured wrk run: system scenario pid wrk-args...; appends a JSON row.
# Waits until the machine is idle (under 10% of its CPU busy over half a second, for at most
# 120 s): a peer keeps working on requests wrk has given up on (its search queue runs for
# many seconds after a run), and the next run must not pay for that.
settle() {
  python3 - <<'PY'
import time
def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v) - v[3] - v[4], sum(v)
deadline = time.time() + 120
while time.time() < deadline:
    b0, t0 = busy(); time.sleep(0.5); b1, t1 = busy()
    if (b1 - b0) / max(t1 - t0, 1) < 0.10:
        break
PY
}

# WARM (a wrk script) replaces the 5 s warm-up with a pass of that script for WARM_S seconds;
# COLD=S measures S seconds with no warm-up at all.
measure() {
  local system=$1 scenario=$2 pid=$3; shift 3
  local seconds=$D
  settle
  if [ -n "${COLD:-}" ]; then
    seconds=$COLD
  elif [ -n "${WARM:-}" ]; then
    wrk -t$T -c$C -d"${WARM_S}s" --timeout 30s -s "$WARM" "${@: -1}" >/dev/null 2>&1 || true
  else
    wrk -t$T -c$C -d5s --timeout 30s "$@" >/dev/null 2>&1 || true
  fi
  wrk -t$T -c$C -d"${seconds}s" --timeout 30s --latency "$@" >"$raw/wrk-$system-$scenario.txt" 2>&1 || true
  python3 - "$system" "$scenario" "$(rss "$pid")" "$raw/wrk-$system-$scenario.txt" >>"$rows" <<'PY'
import json, re, sys
system, scenario, rss, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = open(path).read()
def ms(label):
    m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return None
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", text))
errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
errors += sum(int(n) for n in re.findall(r"graphql_errors=(\d+)", text))
print(json.dumps({"system": system, "scenario": scenario, "rps": float(rps.group(1)) if rps else None,
                  "p50_ms": ms("50%"), "p99_ms": ms("99%"), "errors": errors, "rss_mib": rss,
                  "seconds": int(re.search(r"(\d+)s test", text).group(1)) if re.search(r"(\d+)s test", text) else None}))
PY
  tail -1 "$rows"
}

# A row for a scenario a system cannot do.
cannot() { printf '{"system": "%s", "scenario": "%s", "rps": null, "note": "%s"}\n' "$1" "$2" "$3" >>"$rows"; }

# Starts Emporium on a fresh database with N demo products: name database-url products.
start_emporium() {
  local name=$1 url=$2 products=$3 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export EMPORIUM_LOG=warn EMPORIUM_DATA_DIR="$work/$name"
  if [ -n "$url" ]; then
    export DATABASE_URL="$url"
    psql "$pg_admin" -qc "drop database if exists \"${url##*/}\" with (force)" -c "create database \"${url##*/}\""
  else
    unset DATABASE_URL
  fi
  "$bin" seed --demo --products "$products" >/dev/null 2>&1
  # Fresh tables have no planner statistics until autovacuum gets to them.
  if [ -n "$url" ]; then psql "$url" -qc analyze; fi
  "$bin" reindex >/dev/null 2>&1
  "$bin" admin create --email bench@example.com >/dev/null
  EMPORIUM_ADDR="127.0.0.1:$port" EMPORIUM_AUTH__IP_PER_MINUTE=100000000 \
    EMPORIUM_AUTH__ACCOUNT_PER_MINUTE=100000000 "$bin" serve --no-migrate >"$work/$name.log" 2>&1 &
  E_PID=$!; E_URL="http://127.0.0.1:$port"
  pids+=("$E_PID")
  until curl -fs "$E_URL/healthz" >/dev/null 2>&1; do
    kill -0 "$E_PID" 2>/dev/null || { cat "$work/$name.log"; exit 1; }
    sleep 0.05
  done
  # Slugs for product pages, and stocked carts for add-to-cart.
  python3 - "$E_URL" "$work/$name" <<'PY'
import json, sys, urllib.request
base, dir = sys.argv[1], sys.argv[2]
def call(method, path, body=None, headers=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    return json.load(urllib.request.urlopen(req))
slugs, cursor = [], None
while True:
    page = call("GET", "/api/v1/products?limit=100" + (f"&cursor={cursor}" if cursor else ""))
    slugs += [p["slug"] for p in page["data"]]
    cursor = page["next_cursor"]
    if not cursor:
        break
open(f"{dir}.slugs", "w").write("\n".join(slugs) + "\n")
token = call("POST", "/api/v1/auth/login", {"email": "bench@example.com", "password": "bench admin passphrase 2026"})["access_token"]
auth = {"Authorization": f"Bearer {token}"}
variants = [call("GET", f"/api/v1/products/{s}")["variants"][0]["id"] for s in slugs[:4]]
for v in variants:
    call("POST", f"/api/v1/admin/inventory/{v}/adjustments", {"delta": 100000000, "reason": "bench"}, auth)
with open(f"{dir}.carts", "w") as f:
    for i in range(400):
        cart = call("POST", "/api/v1/carts")
        f.write(f"{cart['id']} {cart['token']} {variants[i % 4]}\n")
PY
}

# Product pages on a node that has cached none: first visits for 2 s (each page once, in
# order), then a pass that caches every page, then random pages: system pid url slugs.
product_pages() {
  local system=$1 pid=$2 url=$3 slugs=$4 count
  count=$(wc -l <"$slugs")
  SLUGS=$slugs COLD=2 measure "$system" product-page-uncached "$pid" -s "$root/bench/wrk/product-once.lua" "$url"
  SLUGS=$slugs WARM="$root/bench/wrk/product-once.lua" WARM_S=$((count / 1000 + 3)) \
    measure "$system" product-page "$pid" -s "$root/bench/wrk/product.lua" "$url"
}

# Both catalogs hold the same products: every slug the peer's seed wrote is one of ours.
same_catalog() {
  python3 - "$vhome/products-$N.csv" "$1" <<'PY'
import csv, sys
peer = {row["slug"] for row in csv.DictReader(open(sys.argv[1])) if row["slug"]}
ours = set(open(sys.argv[2]).read().split())
missing = peer - ours
print(f"same catalog: {len(peer)} peer products, {len(ours)} of ours, {len(missing)} of the peer's missing")
sys.exit(1 if missing or len(peer) != len(ours) else 0)
PY
}

echo "== peer: Vendure with $N products"
count=$(PGPASSWORD=vendure psql -h 127.0.0.1 -U vendure -d vendure -Atc 'select count(*) from product' 2>/dev/null || echo 0)
if [ "$count" != "$N" ]; then N=$N bash "$peer/run.sh" reseed; else N=$N bash "$peer/run.sh"; fi
# A freshly seeded database has no planner statistics yet; both systems get them.
PGPASSWORD=vendure psql -h 127.0.0.1 -U vendure -d vendure -qc analyze
cp "$peer"/*.lua "$peer"/*.js "$vhome"/
(cd "$vhome" && node make-tokens.js 200 >/dev/null)
vpid=$(cat "$vhome/server.pid"); V="http://127.0.0.1:3000"

echo "== Emporium with $N products (SQLite, and PostgreSQL for checkout)"
start_emporium pg "${pg_admin%/*}/emporium_compare" "$N"; pg_pid=$E_PID; pg_url=$E_URL
start_emporium sqlite "" "$N"; e_pid=$E_PID; e_url=$E_URL
same_catalog "$work/sqlite.slugs"

echo "== scenarios, peer then Emporium"
measure vendure bare "$vpid" "$V/health"
measure emporium bare "$e_pid" "$e_url/healthz"
measure vendure product-list "$vpid" -s "$vhome/products.lua" "$V/shop-api"
measure emporium product-list "$e_pid" "$e_url/api/v1/products?limit=20"
CATALOG_N=$N measure vendure product-page "$vpid" -s "$vhome/product.lua" "$V/shop-api"
product_pages emporium "$e_pid" "$e_url" "$work/sqlite.slugs"
measure vendure search-one-word "$vpid" -s "$vhome/search.lua" "$V/shop-api"
measure emporium search-one-word "$e_pid" "$e_url/api/v1/search?q=jacket"
cannot vendure search-typo-filter "no typo tolerance (DefaultSearchPlugin)"
measure emporium search-typo-filter "$e_pid" "$e_url/api/v1/search?q=relaxd%20jaket&category=men"
(cd "$vhome" && TOKENS="$vhome/tokens.txt" measure vendure add-to-cart "$vpid" -s "$vhome/add-item.lua" "$V/shop-api")
CARTS="$work/sqlite.carts" measure emporium add-to-cart "$e_pid" -s "$root/bench/wrk/add-item.lua" "$e_url"
# A purchase is several requests on each side (Emporium: cart, line, checkout; the peer:
# six Shop API calls); req/s is purchases/s and the latency is a whole purchase's.
checkout_row() {
  python3 - "$1" "$2" "$3" >>"$rows" <<'PY'
import json, sys
r = json.loads(sys.argv[2])
print(json.dumps({"system": sys.argv[1], "scenario": "checkout", "rps": r["rps"], "p50_ms": r["purchase_p50_ms"],
                  "p99_ms": r["purchase_p99_ms"], "errors": r["errors"], "rss_mib": int(sys.argv[3])}))
PY
  tail -1 "$rows"
}
settle
line=$("$load" --url "$V" --scenario vendure-checkout --connections $C --duration "$D")
checkout_row vendure "$line" "$(rss "$vpid")"
for target in "emporium $e_url $e_pid" "emporium-postgresql $pg_url $pg_pid"; do
  set -- $target
  settle
  line=$("$load" --url "$2" --scenario checkout-distinct --connections $C --duration "$D" --admin-email bench@example.com)
  checkout_row "$1" "$line" "$(rss "$3")"
done

if [ "$BIG" -gt 0 ]; then
  echo "== Emporium alone with $BIG products"
  start_emporium big "" "$BIG"
  measure emporium-100k product-list "$E_PID" "$E_URL/api/v1/products?limit=20"
  product_pages emporium-100k "$E_PID" "$E_URL" "$work/big.slugs"
  measure emporium-100k search-one-word "$E_PID" "$E_URL/api/v1/search?q=jacket"
  measure emporium-100k search-varied "$E_PID" -s "$root/bench/wrk/search-mix.lua" "$E_URL"
fi

python3 "$root/bench/compare.py" "$rows" "$out/compare" \
  "Emporium vs Vendure 3.7, $N products, $stamp, $machine, wrk -t$T -c$C -d${D}s"
