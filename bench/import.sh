#!/usr/bin/env bash
# CSV import speed: generates a products CSV (ROWS rows, 4 variants per product), imports
# it with `emporium import products` into a fresh SQLite data dir (and PostgreSQL when
# BENCH_DATABASE_URL is set; that database is recreated), and prints the time.
#   bench/import.sh [rows]
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-10000}"
cargo build --release --quiet -p emporium
BIN=target/release/emporium
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 - "$ROWS" > "$WORK/products.csv" <<'PY'
import sys
rows = int(sys.argv[1])
sizes = ["S", "M", "L", "XL"]
colors = ["Black", "White", "Navy", "Olive", "Sand"]
print("Handle,Title,Body (HTML),Vendor,Tags,Status,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Variant SKU,Variant Grams,Variant Price,Variant Compare At Price")
n = 0
p = 0
while n < rows:
    color = colors[p % len(colors)]
    for i, size in enumerate(sizes):
        if n >= rows:
            break
        first = i == 0
        title = f"Everyday Shirt {p}" if first else ""
        body = "\"<p>Soft cotton, cut for every day.</p>\"" if first else ""
        vendor = "Emporium Basics" if first else ""
        tags = '"cotton, shirts"' if first else ""
        status = "active" if first else ""
        name1 = "Size" if first else ""
        name2 = "Color" if first else ""
        print(f"shirt-{p},{title},{body},{vendor},{tags},{status},{name1},{size},{name2},{color},SH-{p}-{size},{180 + i * 10},{19 + p % 30}.{i * 25:02d},")
        n += 1
    p += 1
PY
echo "$(wc -l < "$WORK/products.csv") lines, $(du -h "$WORK/products.csv" | cut -f1)"
run() {
  local label="$1"; shift
  local started=$(date +%s.%N)
  EMPORIUM_LOG=warn "$@" "$BIN" --data-dir "$WORK/data-$label" import products "$WORK/products.csv" 2>&1 | grep -v "^importing" | tail -3
  echo "$label: $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s wall')" "$started" "$(date +%s.%N)")"
}
run sqlite env
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  base="${BENCH_DATABASE_URL%/*}"; name="${BENCH_DATABASE_URL##*/}"
  psql "$base/postgres" -qc "drop database if exists \"$name\" with (force)" -c "create database \"$name\""
  run postgres env DATABASE_URL="$BENCH_DATABASE_URL"
fi
