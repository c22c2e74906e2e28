#!/usr/bin/env bash
# Writes bootstrap/hot-symbols.txt, the functions a release Moon runs from start-up through
# an idle minute and its everyday requests (create, get, list, update, delete, the schema
# and docs routes), as counted by callgrind. The release link puts these functions first and
# side by side (bootstrap/build.rs), so the code pages a running server touches are a few
# contiguous megabytes instead of most of the 13 MB text (docs/benchmarks.md, "Idle memory").
# A stale list only costs memory, never correctness: rerun after large changes.
#   bench/hot-symbols.sh [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moon-target}"
bin="${1:-}"
if [ -z "$bin" ]; then
  cargo build --release -p moon --quiet
  bin="$CARGO_TARGET_DIR/release/moon"
fi
port=6113
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
# Auth on, as a deployment runs: the first start creates the admin and its key.
MOON_ADMIN_PASSWORD=hot-symbols-password MOON_RATE_LIMIT_USER=100000 valgrind --tool=callgrind --demangle=no \
  --callgrind-out-file="$work/out" "$bin" --listen "127.0.0.1:$port" --data-dir "$work/data" \
  --log warn 2>"$work/valgrind.log" &
pid=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
python3 - "$port" <<'PY'
import http.client, json, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port)
def call(method, path, body=None, token=None, ok=(200, 201, 204, 207)):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse(); data = r.read()
    assert r.status in ok, (method, path, r.status, data[:300])
    return json.loads(data) if data else None
token = call("POST", "/auth:login", {"username": "admin", "password": "hot-symbols-password"})["access_token"]
call("POST", "/collections:create", {"name": "bench", "columns": [
    {"name": "title", "type": "string"}, {"name": "brand", "type": "string", "nullable": True},
    {"name": "price", "type": "decimal", "nullable": True}, {"name": "stock", "type": "integer", "nullable": True}]}, token)
ids = []
for i in range(300):
    body = {"data": {"title": f"item {i}", "brand": f"Brand{i % 10}", "price": f"{i % 100}.50", "stock": i}}
    ids.append(call("POST", "/bench:create", body, token)["data"]["id"])
for start in range(0, 400, 50):
    items = [{"title": f"batch {i}", "brand": f"Brand{i % 10}", "price": f"{i}.25", "stock": i} for i in range(start, start + 50)]
    call("POST", "/bench:create" + ("?atomic=true" if start % 100 else ""), items, token)
for i, rid in enumerate(ids[:100]):
    if i == 50:
        call("POST", "/collections:update", {"name": "bench", "add_indexes": [
            {"name": "by_brand_price", "columns": ["brand", "-price"]}]}, token)
    call("GET", f"/bench:get?id={rid}", None, token)
    call("GET", "/bench:list?brand=Brand3&sort=-price&limit=20", None, token)
    call("GET", "/bench:list?limit=20", None, token)
for rid in ids[100:150]:
    call("POST", "/bench:update", {"id": rid, "data": {"stock": 1}}, token)
    call("POST", "/bench:destroy", {"id": rid}, token)
for path in ("/collections:list", "/collections:get?name=bench", "/openapi.json", "/health"):
    call("GET", path, None, token)
PY
sleep 5 # background tasks (leases, feed, webhooks) take their idle turns
callgrind_control --dump "$pid" >/dev/null 2>&1
for _ in $(seq 1 100); do [ -s "$work/out.1" ] && break; sleep 0.3; done
sleep 1
if [ -n "${KEEP:-}" ]; then cp "$work"/out* "$KEEP"; fi # KEEP=DIR keeps callgrind's files
# Every function of the moon binary with instructions counted, most run first.
for f in "$work"/out.*; do
  callgrind_annotate --inclusive=no --threshold=100 "$f" 2>/dev/null
done | awk -v bin="$(basename "$bin")" '
  $1 ~ /^[0-9,]+$/ && index($0, "[" ) && $0 ~ ("/" bin "\\]$") {
    n = $1; gsub(",", "", n); name = $0
    sub(/^[ 0-9,]+\([ 0-9.%]+\) +/, "", name); sub(/ \[[^]]*\]$/, "", name)
    sub(/^[^:]*:/, "", name); sub(/\047[0-9]+$/, "", name)
    if (name !~ /[ (]/) cost[name] += n # not "(below main)"
  }
  END { for (s in cost) print cost[s], s }' | sort -rn | awk '{print $2}' > bootstrap/hot-symbols.txt
wc -l bootstrap/hot-symbols.txt
