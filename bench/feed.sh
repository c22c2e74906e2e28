#!/usr/bin/env bash
# The change feed's cost (docs/benchmarks.md): commit-to-event latency at a paced write rate
# with one SSE subscriber, then to an outbound webhook receiver, and the RSS of 1,000 idle
# subscribers. Release build, auth off, SQLite
# unless a database URL is given.
#   bench/feed.sh [DATABASE_URL]     (MOON_FEED_RATE=1000, MOON_FEED_SECONDS=10, MOON_FEED_IDLE=1000)
set -euo pipefail
cd "$(dirname "$0")/.."
port=6108
url="${1:-}"
export MOON_AUTH=false MOON_RATE_LIMIT_USER=0 MOON_SUBSCRIPTIONS_ALLOW_PRIVATE=true
ulimit -n 8192 || true
source bench/moon.sh
base="http://127.0.0.1:$port"
curl -sf -X POST "$base/collections:create" -H 'Content-Type: application/json' \
  -d '{"name":"bench","columns":[{"name":"title","type":"string"},{"name":"qty","type":"integer"}]}' >/dev/null
python3 bench/feed_latency.py latency "$base" "${MOON_FEED_RATE:-1000}" "${MOON_FEED_SECONDS:-10}"
python3 bench/feed_latency.py webhook "$base" "${MOON_FEED_RATE:-1000}" "${MOON_FEED_SECONDS:-10}"
python3 bench/feed_latency.py idle "$base" "${MOON_FEED_IDLE:-1000}" "$pid"
