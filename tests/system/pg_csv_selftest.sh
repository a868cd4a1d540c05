#!/usr/bin/env bash
# Self-test of the CSV test tools the journal test uses: csv_check.py (CSV against JSON lines,
# with pandas), csv_ddl.py (CREATE TABLE from a header) and pg_lib.sh (a throwaway
# PostgreSQL 15). Hand-written trades and bars, in both forms: the checker must accept them
# and reject each of a set of broken CSVs; PostgreSQL, loading the CSV, must agree with the
# checker's counts and sums.
# usage: pg_csv_selftest.sh        (root or not; Debian's postgresql and python3-pandas)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3    # Debian's python3-pandas is for this one, whatever python3 is on PATH
. "$here/pg_lib.sh"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$PY" ] || fail "no $PY"
"$PY" -c 'import pandas' 2>/dev/null ||
  fail "$PY has no pandas: install Debian's python3-pandas (scripts/deps.sh)"

tmp=$(mktemp -d)
trap 'pg_stop; rm -rf "$tmp"' EXIT

# Five trades: conditions a list, empty, absent; a symbol with a dot, one with a colon, one
# that must be quoted (a comma and a double quote); a size in exponent form.
cat >"$tmp/trades.jsonl" <<'EOF'
{"symbol":"AAPL","price":187.23,"size":100,"ts":1700000000123,"conditions":["1","12"],"seq":1}
{"symbol":"BRK.B","price":362.5,"size":3,"ts":1700000000456,"seq":2}
{"symbol":"BINANCE:BTCUSDT","price":37012.01,"size":0.00125,"ts":1700000000789,"conditions":[],"seq":3}
{"symbol":"MSFT","price":370.95,"size":2.5e-05,"ts":1700000001000,"seq":4}
{"symbol":"X,\"Y\"","price":12.5,"size":10,"ts":1700000001001,"conditions":["T"],"seq":5}
EOF
cat >"$tmp/trades.csv" <<'EOF'
symbol,price,size,ts,conditions,seq
AAPL,187.23,100,1700000000123,1|12,1
BRK.B,362.5,3,1700000000456,,2
BINANCE:BTCUSDT,37012.01,0.00125,1700000000789,,3
MSFT,370.95,2.5e-05,1700000001000,,4
"X,""Y""",12.5,10,1700000001001,T,5
EOF

# Three bars with their indicators; not enough history yet for some: null.
cat >"$tmp/bars.jsonl" <<'EOF'
{"symbol":"AAPL","tf":"1m","window_start":1700000040000,"open":187.1,"high":187.5,"low":186.9,"close":187.23,"volume":1200,"vwap":187.2034,"trade_count":14,"session_vwap":187.11,"sma_20":186.95,"sma_50":null,"ema_12":187.02,"ema_26":186.88,"rsi_14":61.25,"volatility_20":0.0012,"seq":7}
{"symbol":"AAPL","tf":"1m","window_start":1700000100000,"open":187.23,"high":187.3,"low":187,"close":187.05,"volume":850.5,"vwap":187.1411,"trade_count":9,"session_vwap":187.12,"sma_20":186.97,"sma_50":null,"ema_12":187.03,"ema_26":186.89,"rsi_14":55.5,"volatility_20":null,"seq":8}
{"symbol":"BRK.B","tf":"5m","window_start":1700000100000,"open":362.5,"high":362.5,"low":362.5,"close":362.5,"volume":3,"vwap":362.5,"trade_count":1,"session_vwap":362.5,"sma_20":null,"sma_50":null,"ema_12":null,"ema_26":null,"rsi_14":null,"volatility_20":null,"seq":9}
EOF
cat >"$tmp/bars.csv" <<'EOF'
symbol,tf,window_start,open,high,low,close,volume,vwap,trade_count,session_vwap,sma_20,sma_50,ema_12,ema_26,rsi_14,volatility_20,seq
AAPL,1m,1700000040000,187.1,187.5,186.9,187.23,1200,187.2034,14,187.11,186.95,,187.02,186.88,61.25,0.0012,7
AAPL,1m,1700000100000,187.23,187.3,187,187.05,850.5,187.1411,9,187.12,186.97,,187.03,186.89,55.5,,8
BRK.B,5m,1700000100000,362.5,362.5,362.5,362.5,3,362.5,1,362.5,,,,,,,9
EOF

# The checker accepts them, and says what is in them.
tj=$("$PY" "$here/csv_check.py" trades "$tmp/trades.csv" "$tmp/trades.jsonl") ||
  fail "csv_check rejects the good trades"
bj=$("$PY" "$here/csv_check.py" bars "$tmp/bars.csv" "$tmp/bars.jsonl") ||
  fail "csv_check rejects the good bars"
jget() { "$PY" -c 'import json,sys; d=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2"; }
[ "$(jget "$tj" rows)" = 5 ] || fail "csv_check trades: rows $(jget "$tj" rows): $tj"
[ "$(jget "$bj" rows)" = 3 ] || fail "csv_check bars: rows $(jget "$bj" rows): $bj"
[ "$(jget "$tj" sums.seq)" = 15 ] || fail "csv_check trades: sum(seq): $tj"
[ "$(jget "$bj" nonnull.sma_50)" = 0 ] || fail "csv_check bars: non-null sma_50: $bj"
[ "$(jget "$tj" strings)" = "['symbol', 'conditions']" ] || fail "csv_check string columns: $tj"

# ... and rejects each of these, saying where. reject NAME KIND FILE SED-SCRIPT PATTERN
reject() {
  local name=$1 kind=$2 file=$3 script=$4 pattern=$5 out rc=0
  sed -e "$script" "$tmp/$file.csv" >"$tmp/bad.csv"
  cmp -s "$tmp/bad.csv" "$tmp/$file.csv" && fail "reject $name: the sed script changed nothing"
  out=$("$PY" "$here/csv_check.py" "$kind" "$tmp/bad.csv" "$tmp/$file.jsonl" 2>&1) || rc=$?
  [ $rc -eq 1 ] || fail "csv_check accepts a CSV with $name (exit $rc): $out"
  grep -qE -- "$pattern" <<<"$out" || fail "csv_check on $name: $out (expected /$pattern/)"
}
reject "another value" trades trades 's/^BRK.B,362.5,/BRK.B,362.6,/' 'data row 2 column price'
reject "another number text" trades trades 's/^AAPL,187.23,/AAPL,187.230,/' \
  "data row 1 column price: '187.230'"
reject "a row missing" trades trades '$d' '4 data rows.*5 lines'
reject "a row twice" trades trades '3p' '6 data rows'
reject "rows swapped" bars bars '2{h;d};3G' 'data row 1 column window_start'
reject "columns swapped" trades trades 's/^\([^,]*\),\([^,]*\),\([^,]*\),/\1,\3,\2,/' \
  'header symbol,size,price'
reject "a needless quote" trades trades 's/^AAPL,/"AAPL",/' "'AAPL' is quoted though"
reject "a quoted null" bars bars '2s/186.95,,/186.95,"",/' 'null written as a quoted empty'
reject "a lost null" bars bars '2s/186.95,,/186.95,0,/' "column sma_50: '0', the JSON line says null"
reject "conditions not joined" trades trades 's/1|12/1;12/' 'column conditions'
reject "a quote left open" trades trades 's/^"X,""Y""",/"X,""Y"",/' 'never closed|after a closing'
reject "an unquoted comma" trades trades 's/^"X,""Y""",/X,Y,/' 'column price|fields'
reject "a blank line" trades trades '3i\\' 'data row 2 \(a blank line\): 1 fields'

# PostgreSQL loads the CSV into tables made from its header.
ddl=$("$PY" "$here/csv_ddl.py" "$tmp/trades.csv" trades)
grep -q '"symbol" text' <<<"$ddl" && grep -q '"ts" bigint' <<<"$ddl" &&
  grep -q '"price" double precision' <<<"$ddl" || fail "csv_ddl trades: $ddl"
t0=$SECONDS
pg_start "$tmp/pg"
echo "PostgreSQL up in $((SECONDS - t0)) s as $(pg_sql 'SELECT current_user') (server user $(stat -c %U "$tmp/pg/data"))"
pg_sql "$ddl" "$("$PY" "$here/csv_ddl.py" "$tmp/bars.csv" bars)"
[ "$(pg_sql "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
             WHERE attrelid = 'bars'::regclass AND attname IN ('tf', 'trade_count', 'sma_50')
             ORDER BY attname")" = $'double precision\ntext\nbigint' ] ||
  fail "csv_ddl bars: column types"
pg_copy_csv trades "$tmp/trades.csv"
pg_copy_csv bars "$tmp/bars.csv"

# The queries a journal test asks, against the checker's numbers.
IFS='|' read -r n notional size <<<"$(pg_sql 'SELECT count(*), sum(price*size), sum(size) FROM trades')"
[ "$n" = "$(jget "$tj" rows)" ] || fail "trades: PostgreSQL count $n"
pg_close "$notional" "$(jget "$tj" 'products.price*size')" || fail "trades: sum(price*size)"
pg_close "$size" "$(jget "$tj" sums.size)" || fail "trades: sum(size)"
IFS='|' read -r n volume tc <<<"$(pg_sql 'SELECT count(*), sum(volume), sum(trade_count) FROM bars')"
[ "$n" = "$(jget "$bj" rows)" ] || fail "bars: PostgreSQL count $n"
pg_close "$volume" "$(jget "$bj" sums.volume)" || fail "bars: sum(volume)"
[ "$tc" = "$(jget "$bj" sums.trade_count)" ] || fail "bars: sum(trade_count) $tc"
# Every column's count and every sum, and the text columns as they went in.
pg_check_table trades "$tj" || fail "trades in PostgreSQL"
pg_check_table bars "$bj" || fail "bars in PostgreSQL"
[ "$(pg_sql "SELECT string_agg(symbol, ' ' ORDER BY seq) FROM trades")" = \
  'AAPL BRK.B BINANCE:BTCUSDT MSFT X,"Y"' ] || fail "trades: symbols in PostgreSQL"
[ "$(pg_sql "SELECT string_agg(coalesce(conditions, '-'), ' ' ORDER BY seq) FROM trades")" = \
  '1|12 - - - T' ] || fail "trades: conditions in PostgreSQL"
[ "$(pg_sql "SELECT count(*) FROM bars WHERE sma_50 IS NULL AND volatility_20 IS NULL")" = 2 ] ||
  fail "bars: nulls in PostgreSQL"

# And PostgreSQL's side can fail too: one size changed in the table.
pg_sql "UPDATE trades SET size = size + 1 WHERE seq = 3"
if pg_check_table trades "$tj" 2>"$tmp/err"; then fail "pg_check_table misses a changed size"; fi
grep -q 'sum(size)' "$tmp/err" && grep -q 'sum(price\*size)' "$tmp/err" ||
  fail "pg_check_table on a changed size: $(cat "$tmp/err")"
pg_close 1 1.0000000001 2>/dev/null && fail "pg_close: 1 and 1.0000000001 agree"

pg_stop
pg_stop   # twice: harmless
[ ! -e "$tmp/pg/data/postmaster.pid" ] || fail "pg_stop left postmaster.pid"
echo "PASS pg_csv_selftest"
