#!/usr/bin/env bash
# The cost of authentication: get by id over 10k rows (c32) with auth off, with a JWT and
# with an API key, against the release binary on SQLite. Rate limits stay on but set high,
# so their bookkeeping is part of the figure. Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${MOON_BENCH_DURATION:-10s}"
port="${MOON_BENCH_PORT:-6108}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moon-target}"
cargo build --release -p moon --quiet
bin="$CARGO_TARGET_DIR/release/moon"
work=$(mktemp -d)
pid=""
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
start() { # extra env...
  env "$@" MOON_ADMIN_PASSWORD=Admin12345 MOON_RATE_LIMIT_USER=1000000000 MOON_RATE_LIMIT_APIKEY=1000000000 \
    "$bin" --listen "127.0.0.1:$port" --data-dir "$work" --log warn &
  pid=$!
  for _ in $(seq 1 50); do curl -sf "$base/health" >/dev/null && return; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
run() { # label, wrk args...
  local label=$1; shift
  echo "== $label (c32, $duration)"
  MOON_BENCH_IDS="$work/ids.txt" wrk -t2 -c32 -d"$duration" --latency -s bench/get.lua "$@" "$base" \
    | grep -E "Requests/sec|50%|99%|Non-2xx"
}

start MOON_AUTH=false
python3 bench/seed.py 127.0.0.1 "$port" 10000 > "$work/ids.txt"
stop

start MOON_AUTH=true
token=$(curl -s -X POST "$base/auth:login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"Admin12345"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
key=$(curl -s -X POST "$base/apikeys:create" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench","role":"readonly"}' | sed 's/.*"key":"\([^"]*\)".*/\1/')
stop
# Each scenario in a fresh process, so none inherits another's warm-up or drift.
for round in 1 2; do
  start MOON_AUTH=false; run "auth off (round $round)"; stop
  start MOON_AUTH=true; run "JWT (round $round)" -H "Authorization: Bearer $token"; stop
  start MOON_AUTH=true; run "API key (round $round)" -H "Authorization: Bearer $key"; stop
done
