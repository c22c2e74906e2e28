#!/usr/bin/env bash
# Load figures for docs/benchmarks.md: create (c16), get by id over 10k rows (c32), list 20
# (c32, with and without the total), against the release binary on loopback. Needs wrk (apt-get install wrk).
#   bench/load.sh                         # embedded SQLite in a temp dir
#   bench/load.sh postgres://postgres@127.0.0.1:5432/moon_bench   # an existing, empty database
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-}"
duration="${MOON_BENCH_DURATION:-10s}"
port="${MOON_BENCH_PORT:-6106}"
# Auth off: these are the engine's figures; bench/auth-load.sh measures what auth costs.
export MOON_AUTH="${MOON_AUTH:-false}"
source bench/moon.sh
echo "idle RSS: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"

python3 bench/seed.py 127.0.0.1 "$port" 10000 > "$work/ids.txt"
echo "seeded $(wc -l < "$work/ids.txt") records"
echo "RSS after seeding: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"

run() { # label, connections, wrk args...
  local label=$1 conns=$2; shift 2
  echo "== $label (c$conns, $duration)"
  wrk -t2 -c"$conns" -d"$duration" --latency "$@" | grep -E "Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors"
}
MOON_BENCH_IDS="$work/ids.txt" run "get by id over 10k rows" 32 -s bench/get.lua "http://127.0.0.1:$port"
run "list 20" 32 "http://127.0.0.1:$port/bench:list?limit=20"
run "list 20, count=none" 32 "http://127.0.0.1:$port/bench:list?limit=20&count=none"
filtered="stock%5Bgte%5D=2000&active=true&sort=-price,title&limit=20"
run "filtered + sorted list 20" 32 "http://127.0.0.1:$port/bench:list?$filtered"
run "filtered + sorted list 20, count=none" 32 "http://127.0.0.1:$port/bench:list?$filtered&count=none"
run "create one record" 16 -s bench/create.lua "http://127.0.0.1:$port"
echo "RSS after load: $(grep VmRSS /proc/$pid/status | awk '{print $2}') kB"
