#!/usr/bin/env bash
# CPU and context switches per request of each of Moon's threads under W1 (create one record,
# wrk c16), from /proc/PID/task/*: which thread a create's time is spent on, and how often each
# one sleeps and is woken. SQLite, auth off, a fresh server seeded with 10,000 rows; INDEX=-price
# (or any column) first declares an index on (brand, INDEX).
#   bench/threads.sh [BINARY] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-${CARGO_TARGET_DIR:-/var/tmp/moon-target}/release/moon}"; seconds="${2:-6}"; port=6113
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
MOON_AUTH=false "$bin" --listen "127.0.0.1:$port" --data-dir "$work/data" --log warn 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
python3 bench/versus_seed.py moon "$port" 10000 >/dev/null
if [ -n "${INDEX:-}" ]; then
  curl -sf -H 'content-type: application/json' \
    -d "{\"name\":\"bench\",\"add_indexes\":[{\"name\":\"by_brand\",\"columns\":[\"brand\",\"$INDEX\"]}]}" \
    "http://127.0.0.1:$port/collections:update" >/dev/null
fi
# tid, thread name, voluntary and involuntary switches, user + system ticks
snapshot() {
  for t in /proc/"$pid"/task/*; do
    printf '%s %s %s %s\n' "$(basename "$t")" "$(tr ' ' _ <"$t/comm")" \
      "$(awk '/^voluntary/ {v = $2} /^nonvoluntary/ {n = $2} END {print v, n}' "$t/status")" \
      "$(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}
snapshot >"$work/before"
out=$(BENCH_CREATE=/bench:create BENCH_WRAP=1 wrk -t2 -c16 -d"${seconds}s" -s bench/versus_create.lua "http://127.0.0.1:$port")
snapshot >"$work/after"
requests=$(awk '/requests in/ {print $1}' <<<"$out")
awk '/Requests\/sec/ {printf "W1: %.0f requests/s\n", $2}' <<<"$out"
join "$work/before" "$work/after" | awk -v r="$requests" -v hz="$(getconf CLK_TCK)" '{
  v = $7 - $3; n = $8 - $4; c = $9 - $5
  if (v + n > 100) printf "%-8s %-18s %.1f µs CPU, %.2f voluntary and %.2f involuntary switches per request\n", $1, $2, c * 1e6 / hz / r, v / r, n / r
}'
