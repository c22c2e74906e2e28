#!/usr/bin/env bash
# Instructions per request of one workload, counted by callgrind (valgrind), which unlike
# requests/s does not move with this shared machine's load: the server starts under
# callgrind with counting off, is seeded with bench/versus_seed.py's 10,000 rows, and counts
# only while COUNT requests of the workload go one after the other over one connection.
# WORKLOAD is W2 (get by id), W3 (list 20 of brand=Brand3 by -price with the total), W3i
# (W3 after declaring the index on (brand, -price)), W1 (create one record; one client, so
# each commit holds one create, where wrk's sixteen share theirs) or W1i (W1 with that index). Kernel time (context switches) is not
# counted: compare builds on requests/s too.
#   bench/callgrind-requests.sh BINARY WORKLOAD [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$1"; workload="$2"; count="${3:-200}"; port=6112
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
MOON_AUTH=false valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/out" \
  "$bin" --listen "127.0.0.1:$port" --data-dir "$work/data" --log warn 2>"$work/valgrind.log" &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
python3 bench/versus_seed.py moon "$port" 10000 > "$work/ids"
if [ "$workload" = W3i ] || [ "$workload" = W1i ]; then
  curl -sf -H 'content-type: application/json' -d '{"name":"bench","add_indexes":[{"name":"by_brand_price","columns":["brand","-price"]}]}' \
    "http://127.0.0.1:$port/collections:update" >/dev/null
fi
# COUNT requests of the workload, one after the other over one connection; STEP picks the ids.
send() { # count step
  python3 - "$port" "$workload" "$work/ids" "$1" "$2" <<'PY'
import http.client, sys
port, workload, ids, n, step = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().split(), int(sys.argv[4]), int(sys.argv[5])
conn = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    if workload.startswith("W1"):
        body = f'{{"data":{{"title":"new {step}-{i}","brand":"Brand{i % 10}","price":"19.99","stock":{i}}}}}'
        conn.request("POST", "/bench:create", body, {"Content-Type": "application/json"})
    else:
        path = f"/bench:get?id={ids[i * step % len(ids)]}" if workload == "W2" else "/bench:list?brand=Brand3&sort=-price&limit=20"
        conn.request("GET", path)
    r = conn.getresponse(); r.read()
    assert r.status in (200, 201), r.status
PY
}
send 20 37  # warm-up, not counted
callgrind_control --instr=on "$pid" >/dev/null 2>&1
send "$count" 53
callgrind_control --instr=off "$pid" >/dev/null 2>&1
callgrind_control --dump "$pid" >/dev/null 2>&1
sleep 1
# Each dump's file has its count as "totals:" or, lacking that line, "summary:".
total=$(for f in "$work"/out*; do awk '/^totals:/ {t = $2} /^summary:/ {s = $2} END {print (t != "") ? t : s}' "$f"; done | awk '{s += $1} END {print s}')
printf '%s %s: %s instructions per request (%s requests)\n' "$(basename "$bin")" "$workload" "$((total / count))" "$count"
[ -n "${KEEP:-}" ] && cp "$work"/out* "$KEEP" || true
