#!/usr/bin/env bash
# Starts the debug binary on its embedded defaults in an empty directory, checks that it
# serves /healthz and created data/emporium.db, then stops it with SIGTERM and expects 0.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --locked -p emporium --quiet
work="$(mktemp -d)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$work"
EMPORIUM_ADDR="127.0.0.1:$port" "$root/target/debug/emporium" >"$work/log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 200); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
if [ -z "$ok" ]; then cat "$work/log"; kill "$pid" 2>/dev/null || true; exit 1; fi
curl -fsS "http://127.0.0.1:$port/readyz"; echo
test -f "$work/data/emporium.db" || { echo "data/emporium.db missing"; exit 1; }
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
echo "exit status after SIGTERM: $status"
[ "$status" -eq 0 ] || { cat "$work/log"; exit 1; }
rm -rf "$work"
