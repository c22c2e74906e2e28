#!/usr/bin/env bash
# Moon's memory after each step of bench/versus.sh's sequence, with no PocketBase beside it:
# seed `bench` and `created` (10,000 rows each), then W2, W3, W1 three times, the index on
# (brand, -price), W3i three times and W1i three times; after each run prints requests/s and
# VmHWM (peak so far), VmRSS, RssAnon and RssFile in MB from /proc. Auth off, SQLite, a
# fresh data directory. BINARY may be a script that sets variables and execs Moon.
#   DUR=10s bench/rss-steps.sh BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1; port=${PORT:-6120}; d=${DUR:-10s}
work=$(mktemp -d)
MOON_AUTH=false "$bin" --listen "127.0.0.1:$port" --data-dir "$work/moon" --log warn &
pid=$!
trap 'kill $pid; wait; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port"
list="$url/bench:list?brand=Brand3&sort=-price&limit=20"
step() { # label; reads wrk's output on stdin
  awk '/Requests\/sec/ {printf "%8.0f rps  ", $2}'
  awk -v tag="$1" '/VmHWM|VmRSS|RssAnon|RssFile/ {printf "%s %5.1f  ", $1, $2 / 1024} END {print tag}' "/proc/$pid/status"
}
step start </dev/null
python3 bench/versus_seed.py moon "$port" 10000 > "$work/ids"
BENCH_COLLECTION=created python3 bench/versus_seed.py moon "$port" 10000 >/dev/null
step seeded </dev/null
for rep in 1 2 3; do
  BENCH_IDS="$work/ids" BENCH_GET="/bench:get?id=" wrk -t2 -c32 -d"$d" -s bench/versus_get.lua "$url" | step "W2 $rep"
  wrk -t2 -c32 -d"$d" "$list" | step "W3 $rep"
  BENCH_CREATE=/created:create BENCH_WRAP=1 wrk -t2 -c16 -d"$d" -s bench/versus_create.lua "$url" | step "W1 $rep"
done
curl -sf -H 'content-type: application/json' \
  -d '{"name":"bench","add_indexes":[{"name":"by_brand_price","columns":["brand","-price"]}]}' \
  "$url/collections:update" >/dev/null
for rep in 1 2 3; do wrk -t2 -c32 -d"$d" "$list" | step "W3i $rep"; done
for rep in 1 2 3; do
  BENCH_CREATE=/bench:create BENCH_WRAP=1 wrk -t2 -c16 -d"$d" -s bench/versus_create.lua "$url" | step "W1i $rep"
done
