#!/usr/bin/env bash
# Two builds of Moon side by side on the create workload (W1: one record per request, c16,
# auth off), interleaved A B A B, each on a fresh database: what a change to the write path
# costs. SQLite by default; ENGINE=postgres or ENGINE=mysql use the local servers
# (postgres@127.0.0.1:5432, root@127.0.0.1:3306), database moon_ab, recreated per run.
#   bench/ab-create.sh BINARY_A BINARY_B [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; seconds="${3:-10}"; engine="${ENGINE:-sqlite}"
schema='{"name":"bench","columns":[{"name":"title","type":"string"},{"name":"price","type":"decimal"},{"name":"stock","type":"integer"},{"name":"active","type":"boolean"},{"name":"released","type":"datetime"},{"name":"specs","type":"json"}]}'
fresh() {
  case "$engine" in
    postgres) psql -q -h 127.0.0.1 -U postgres -c 'DROP DATABASE IF EXISTS moon_ab' -c 'CREATE DATABASE moon_ab' >/dev/null
              echo "postgres://postgres@127.0.0.1:5432/moon_ab" ;;
    mysql) mysql -h 127.0.0.1 -u root -e 'DROP DATABASE IF EXISTS moon_ab; CREATE DATABASE moon_ab'
           echo "mysql://root@127.0.0.1:3306/moon_ab" ;;
    *) echo "" ;;
  esac
}
run() {
  local bin="$1" work url; work=$(mktemp -d); url=$(fresh)
  local args=(--listen 127.0.0.1:6109 --data-dir "$work" --log warn)
  [ -n "$url" ] && args+=(--database-url "$url")
  MOON_AUTH=false MOON_RATE_LIMIT_USER=0 "$bin" "${args[@]}" 2>/dev/null &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:6109/health >/dev/null && break; sleep 0.1; done
  curl -sf -X POST http://127.0.0.1:6109/collections:create -H 'Content-Type: application/json' -d "$schema" >/dev/null
  wrk -t2 -c16 -d"${seconds}s" -s bench/create.lua http://127.0.0.1:6109 | awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -rf "$work"
}
for round in $(seq 1 "${ROUNDS:-2}"); do
  echo "$engine round $round: A $(run "$a") rps, B $(run "$b") rps"
done
