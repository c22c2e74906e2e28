#!/usr/bin/env bash
# Webhook throughput: N (default 10,000) GitHub-signed events posted at c32 (bench/hook_sender.py), then
# the time until the worker pool has turned every one into a record; checks exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${MOON_BENCH_EVENTS:-10000}"
port="${MOON_BENCH_PORT:-6110}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moon-target}"
cargo build --release -p moon --quiet
work=$(mktemp -d)
MOON_ADMIN_PASSWORD=Admin12345 MOON_RATE_LIMIT_USER=0 "$CARGO_TARGET_DIR/release/moon" \
  --listen "127.0.0.1:$port" --data-dir "$work" --log warn &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
token=$(curl -s -X POST "$base/auth:login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"Admin12345"}' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
auth="Authorization: Bearer $token"
curl -s -X POST "$base/collections:create" -H "$auth" -H 'Content-Type: application/json' -d \
  '{"name":"payments","columns":[{"name":"amount","type":"integer","nullable":false},{"name":"currency","type":"string"},{"name":"ref_no","type":"string","unique":true}]}' >/dev/null
curl -s -X POST "$base/webhooks:create" -H "$auth" -H 'Content-Type: application/json' -d \
  '{"name":"shop","collection":"payments","secret":"s3cret","signature":{"scheme":"github"},"event_id":"/id","mapping":{"amount":"/amount","currency":"/currency","ref_no":"/id"}}' >/dev/null
python3 bench/hook_events.py s3cret "$count" > "$work/events.txt"
start=$(date +%s.%N)
python3 bench/hook_sender.py 127.0.0.1 "$port" /hooks/shop "$work/events.txt" 32
ingested=$(date +%s.%N)
for _ in $(seq 1 3000); do
  done_count=$(curl -s -H "$auth" "$base/payments:count" | sed 's/.*"value":\([0-9]*\).*/\1/')
  [ "$done_count" -ge "$count" ] && break
  sleep 0.2
done
finished=$(date +%s.%N)
echo "events: $count; ingest wall time: $(echo "$ingested - $start" | bc) s; all processed after: $(echo "$finished - $start" | bc) s"
echo "processing rate: $(echo "$count / ($finished - $start)" | bc) events/s (ingest and processing overlap)"
echo "records: $done_count; distinct ref_no: $(curl -s -H "$auth" "$base/payments:count?ref_no%5Bstartswith%5D=evt-" | sed 's/.*"value":\([0-9]*\).*/\1/')"
echo "dead events: $(curl -s -H "$auth" "$base/webhooks:events?status=dead" | grep -o '"id"' | wc -l)"
