#!/usr/bin/env bash
# What a schema change costs on a big collection (docs/benchmarks.md): fills `big` with N rows
# (1,000,000 by default) straight in the database, then times over HTTP adding a nullable
# column, renaming a column, removing one (all in place on SQLite and PostgreSQL) and a type
# change (a rebuild, for comparison), each checked to have changed what it should.
#   bench/alter-cost.sh                                        # embedded SQLite in a temp dir
#   bench/alter-cost.sh postgres://postgres@127.0.0.1:5432/moon_alter   # an existing, empty database
#   bench/alter-cost.sh mysql://root@127.0.0.1:3306/moon_alter          # (MariaDB, local root)
set -euo pipefail
cd "$(dirname "$0")/.."
url="${1:-}"
rows="${MOON_BENCH_ROWS:-1000000}"
port="${MOON_BENCH_PORT:-6107}"
export MOON_AUTH=false
source bench/moon.sh
api="http://127.0.0.1:$port"
post() { curl -sf -H 'content-type: application/json' -d "$2" "$api$1"; }
post /collections:create '{"name":"big","columns":[{"name":"title","type":"string","nullable":false},{"name":"qty","type":"integer"},{"name":"price","type":"decimal"}]}' >/dev/null

fill_sql="INSERT INTO big (id, created_at, updated_at, _version, title, qty, price)"
started=$(date +%s)
if [ -z "$url" ]; then
  sqlite3 "$work/moon.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows)
    $fill_sql SELECT printf('%026d', i), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1,
    'title ' || i, i, printf('%d.50', i % 1000) FROM n;"
elif [[ "$url" == mysql://* ]]; then
  # Recursive CTEs stop at cte_max_recursion_depth (1,000): cross-join three of them.
  mariadb -h 127.0.0.1 -u root "${url##*/}" -e "SET SESSION max_recursive_iterations = 1000000;
    $fill_sql WITH RECURSIVE d(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM d WHERE i < 99)
    SELECT lpad(n, 26, '0'), now(6), now(6), 1, concat('title ', n), n, (n % 1000) + 0.5
    FROM (SELECT a.i * 10000 + b.i * 100 + c.i + 1 AS n FROM d a, d b, d c) AS t WHERE n <= $rows;"
else
  psql -q "$url" -c "$fill_sql SELECT lpad(i::text, 26, '0'), now(), now(), 1, 'title ' || i, i, (i % 1000) + 0.5
    FROM generate_series(1, $rows) AS i;"
fi
echo "filled $rows rows in $(( $(date +%s) - started )) s"
count=$(curl -sf "$api/big:count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["value"])')
[ "$count" = "$rows" ] || { echo "count is $count, not $rows"; exit 1; }

timed() { # label, body, python check of the collection's columns
  local label=$1 body=$2 check=$3 seconds
  seconds=$(curl -sf -o "$work/answer.json" -w '%{time_total}' -H 'content-type: application/json' -d "$body" "$api/collections:update")
  python3 -c "import json,sys; cols={c['name']: c for c in json.load(open('$work/answer.json'))['collection']['columns']}; assert $check, cols" \
    || { echo "$label did not change the schema"; exit 1; }
  printf '%-36s %8.1f ms\n' "$label" "$(python3 -c "print($seconds * 1000)")"
}
timed "add a nullable column" '{"name":"big","add_columns":[{"name":"note","type":"string"}]}' "'note' in cols"
timed "rename a column" '{"name":"big","rename_columns":[{"old_name":"title","new_name":"label"}]}' "'label' in cols and 'title' not in cols"
timed "remove a column" '{"name":"big","remove_columns":["note"]}' "'note' not in cols"
timed "change a column's type (rebuild)" '{"name":"big","modify_columns":[{"name":"qty","type":"string"}]}' "cols['qty']['type'] == 'string'"
sample=$(curl -sf "$api/big:list?limit=1&sort=qty")
echo "a record after the changes: $sample"
