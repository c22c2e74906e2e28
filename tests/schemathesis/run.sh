#!/usr/bin/env bash
# Schemathesis over one engine: starts the built Moon on a fresh database, creates the
# collections the run works on, fuzzes the live OpenAPI document with every check
# (schemathesis.toml beside this file says which rules JSON Schema cannot state), and prints
# the case counts. Fails on any failure.
#   usage: run.sh sqlite|postgres|mysql
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
engine=$1
bin="${MOON_BIN:-${CARGO_TARGET_DIR:-$here/../../target}/debug/moon}"
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
db="moon_schemathesis_$$"
url=""
case "$engine" in
  sqlite) ;;
  postgres)
    base="${MOON_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
    psql "$base" -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
    url="${base%/*}/$db" ;;
  mysql)
    base="${MOON_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}"
    mysql -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS $db; CREATE DATABASE $db"
    url="${base%/*}/$db" ;;
  *) echo "usage: $0 sqlite|postgres|mysql" >&2; exit 2 ;;
esac
export MOON_ST_ADMIN=admin MOON_ST_PASSWORD=Admin12345
args=(--listen "127.0.0.1:$port" --data-dir "$dir")
if [ -n "$url" ]; then args+=(--database-url "$url"); fi
# Rate limits and the login lock off: the fuzzer sends thousands of requests and logs in
# again whenever a fuzzed request ended its session; the document with the collections is
# read without a token. The filter cap is raised above what the collections' fields can take
# (11 × 14 operators): the cap counts across parameters, which JSON Schema cannot state, so
# at the default (20) the document gives each field a share and is stricter than Moon.
MOON_ADMIN_USERNAME=$MOON_ST_ADMIN MOON_ADMIN_PASSWORD=$MOON_ST_PASSWORD \
  MOON_RATE_LIMIT_USER=0 MOON_RATE_LIMIT_APIKEY=0 MOON_LOGIN_MAX_FAILURES=0 MOON_DOCS_PUBLIC=true MOON_MAX_FILTERS=200 \
  "$bin" "${args[@]}" >"$dir/moon.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  case "$engine" in
    postgres) psql "$base" -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true ;;
    mysql) mysql -h 127.0.0.1 -P 3306 -u root -e "DROP DATABASE IF EXISTS $db" 2>/dev/null || true ;;
  esac
}
trap cleanup EXIT
base_url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -sf "$base_url/health" >/dev/null && break
  sleep 0.1
done
token=$(curl -sf -X POST "$base_url/auth:login" -H 'Content-Type: application/json' \
  -d "{\"username\":\"$MOON_ST_ADMIN\",\"password\":\"$MOON_ST_PASSWORD\"}" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
make() {
  curl -sf -o /dev/null -X POST "$base_url/collections:create" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "$1"
}
# Every column type, a unique one, a decimal of another scale; and one with nothing numeric.
make '{"name":"products","columns":[{"name":"title","type":"string","nullable":false},{"name":"sku","type":"string","unique":true},{"name":"price","type":"decimal"},{"name":"rate","type":"decimal","scale":4},{"name":"stock","type":"integer"},{"name":"on_sale","type":"boolean"},{"name":"released","type":"datetime"},{"name":"specs","type":"json"}]}'
make '{"name":"notes","columns":[{"name":"body","type":"string"},{"name":"pinned","type":"boolean"}]}'
cd "$here"
status=0
schemathesis run "$base_url/openapi.json" \
  --max-examples "${MOON_SCHEMATHESIS_EXAMPLES:-25}" --seed 20261201 \
  --phases examples,coverage,fuzzing,stateful --no-color >"$dir/out.txt" 2>&1 || status=$?
cp "$dir/out.txt" "${MOON_SCHEMATHESIS_OUT:-/dev/null}" 2>/dev/null || true
cases=$(grep -E '^\s+[0-9]+ generated' "$dir/out.txt" | tr -s ' ' || true)
echo "schemathesis on $engine:${cases:- (no summary)}"
if [ -n "${MOON_SCHEMATHESIS_SUMMARY:-}" ]; then
  echo "schemathesis on $engine:${cases:- (no summary)}" >>"$MOON_SCHEMATHESIS_SUMMARY"
fi
if [ "$status" -ne 0 ]; then
  cat "$dir/out.txt"
  echo "--- moon log (last 50 lines)"
  tail -n 50 "$dir/moon.log"
fi
exit "$status"
