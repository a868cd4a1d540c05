#!/usr/bin/env bash
# tickd export --format csv into a real PostgreSQL server (Debian's 15,
# started by the test in a directory of its own) and into pandas: a run's
# trades, 1m bars and signals, exported as CSV, load with COPY ... CSV
# HEADER and read_csv; row counts, every column's count of values and every
# numeric column's sum agree with the JSON lines tickd export gives for the
# same records (which equal tickd tail's).
# usage: persist_postgres_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
. "$here/lib.sh"
if [ ! -x /usr/lib/postgresql/15/bin/postgres ] || ! "$PY" -c 'import pandas' 2>/dev/null; then
  echo "skipped: needs Debian's postgresql and python3-pandas (scripts/deps.sh installs them)"
  exit 77
fi
. "$here/pg_lib.sh"
P=/dev/shm/tickd-ppg-$$
W=$(mktemp -d)
D=$W/journal
trap 'pg_stop; pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT

"$T" run --fresh --shm-path "$P" --data-dir "$D" --seed 12 --symbols 30 --count 300000 --start 1704239900 \
  --exit-at-end > /dev/null 2> "$W/run.log" || fail "tickd run: $(tail -3 "$W/run.log")"

pg_start "$W/pg"
for kind in trades:ticks bars:bars.1m signals:signals; do
  name=${kind%%:*} stream=${kind#*:}
  "$T" export "$stream" --data-dir "$D" --format csv > "$W/$name.csv"
  "$T" export "$stream" --data-dir "$D" | grep -v '"type":"gap"' > "$W/$name.jsonl" || true
  [ -s "$W/$name.jsonl" ] || fail "$stream: nothing exported"
  check=$("$PY" "$here/csv_check.py" "$name" "$W/$name.csv" "$W/$name.jsonl") ||
    fail "$stream: the CSV does not load in pandas as the JSON lines say"
  pg_sql "$("$PY" "$here/csv_ddl.py" "$W/$name.csv" "$name")"
  pg_copy_csv "$name" "$W/$name.csv"
  pg_check_table "$name" "$check" || fail "$stream: PostgreSQL disagrees with the JSON lines"
  echo "$stream: $(pg_sql "SELECT count(*) FROM $name") rows in PostgreSQL, counts and sums as the JSON lines"
done
[ "$(pg_sql "SELECT count(*) FROM trades")" -eq 300000 ] || fail "not every trade in PostgreSQL"
# A typed query of the kind the replaced pipelines run.
pg_sql "SELECT symbol, count(*), round(sum(price*size)::numeric / sum(size)::numeric, 4) FROM trades
        WHERE ts >= 1704240000000 GROUP BY symbol ORDER BY symbol LIMIT 3" > "$W/q"
[ "$(wc -l < "$W/q")" -eq 3 ] || fail "a VWAP query: $(cat "$W/q")"
echo "1 passed, 0 failed"
