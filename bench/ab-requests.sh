#!/usr/bin/env bash
# Two builds of Moon side by side on W2 (get by random id over 10k rows, c32), W3 (list 20 of
# brand=Brand3 by -price with the total, c32), W3i (W3 after declaring the index on (brand,
# -price)) and W1 (create one record, c16), auth off, interleaved A B per round, each on a
# fresh database: requests/s and Moon's own CPU per request (user + system, from /proc),
# which moves less than the rate on this shared machine, and its RSS idle after start-up
# and after seeding. WORKLOADS="W2 W1" (the default) picks them, in order (W3i declares the
# index, so it goes after W3). ENGINE=postgres or ENGINE=mysql use the local servers
# (database moon_ab, recreated per run); SQLite by default.
#   bench/ab-requests.sh BINARY_A BINARY_B [seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; seconds="${3:-8}"; rounds="${4:-2}"; engine="${ENGINE:-sqlite}"; port=6110
workloads="${WORKLOADS:-W2 W1}"
list="/bench:list?brand=Brand3&sort=-price&limit=20"
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
fresh() {
  case "$engine" in
    postgres) psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS moon_ab' -c 'CREATE DATABASE moon_ab' >/dev/null 2>&1
              echo "postgres://postgres@127.0.0.1:5432/moon_ab" ;;
    mysql) mysql -h 127.0.0.1 -u root -e 'DROP DATABASE IF EXISTS moon_ab; CREATE DATABASE moon_ab'
           echo "mysql://root@127.0.0.1:3306/moon_ab" ;;
    *) echo "" ;;
  esac
}
run() { # label binary
  local label="$1" bin="$2" work url pid out before after n
  work=$(mktemp -d); url=$(fresh)
  local args=(--listen "127.0.0.1:$port" --data-dir "$work" --log warn)
  [ -n "$url" ] && args+=(--database-url "$url")
  MOON_AUTH=false "$bin" "${args[@]}" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  local idle; idle=$(rss "$pid")
  python3 bench/versus_seed.py moon "$port" 10000 > "$work/ids"
  sleep 2
  printf '%s %s idle RSS: %s MB empty, %s MB seeded\n' "$engine" "$label" "$idle" "$(rss "$pid")"
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  for workload in $workloads; do
    if [ "$workload" = W3i ]; then
      curl -sf -H 'content-type: application/json' -d '{"name":"bench","add_indexes":[{"name":"by_brand_price","columns":["brand","-price"]}]}' \
        "http://127.0.0.1:$port/collections:update" >/dev/null
    fi
    before=$(cpu)
    case "$workload" in
      W2) out=$(BENCH_IDS="$work/ids" BENCH_GET="/bench:get?id=" wrk -t2 -c32 -d"${seconds}s" -s bench/versus_get.lua "http://127.0.0.1:$port") ;;
      W3|W3i) out=$(wrk -t2 -c32 -d"${seconds}s" "http://127.0.0.1:$port$list") ;;
      *) out=$(BENCH_CREATE=/bench:create BENCH_WRAP=1 wrk -t2 -c16 -d"${seconds}s" -s bench/versus_create.lua "http://127.0.0.1:$port") ;;
    esac
    if grep -q "Non-2xx" <<<"$out"; then echo "$label $workload: $(grep Non-2xx <<<"$out")" >&2; exit 1; fi
    after=$(cpu); n=$(awk '/requests in/ {print $1}' <<<"$out")
    printf '%s %s %s: %s rps, %s µs CPU per request\n' "$engine" "$label" "$workload" \
      "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" \
      "$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $n, 1))")"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$work"
}
for round in $(seq 1 "$rounds"); do
  run A "$a"
  run B "$b"
done
