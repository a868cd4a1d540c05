#!/usr/bin/env bash
# The live page (issue 12) in Debian's chromium, driven by playwright-core
# (page_test.cjs), against a `tickd run` of a synthetic market at the wall's
# clock; and, first, the open bar the page starts its forming candle from
# (/ohlcv/{tf}/open) against the tick log: the trades of its window up to its
# last_seq make exactly its open, high, low, close, volume and count.
# The screenshots are left in OUT_DIR (default BUILD_DIR/page): the README's
# is one of them (docs/page.png).
#
# usage: page_test.sh BUILD_DIR SOURCE_DIR [OUT_DIR]
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
OUT=${3:-$B/page}
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3
[ -x /usr/bin/chromium ] || fail "Debian's chromium is not installed (scripts/deps.sh)"
[ -d "$S/api/web/node_modules/playwright-core" ] || fail "playwright-core is not installed (scripts/web-deps.sh)"
mkdir -p "$OUT"
D=$(mktemp -d /tmp/tickd-page-test.XXXXXX)
cd "$D" # --no-persist: the API keeps its portfolio (./portfolio.json) here
SHM=/dev/shm/tickd-page-test-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
cleanup() {
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  "$T" clean --shm-path "$SHM" > /dev/null 2>&1
  "$T" clean --shm-path "$SHM.order" > /dev/null 2>&1
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT

"$T" run --fresh --shm-path "$SHM" --seed 3 --symbols 8 --rate 300 --speed 1 --start now --duration 240 \
  --no-persist --listen "127.0.0.1:$PORT" > "$D/run.log" 2>&1 &
RUN=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 200); do curl -sf "$URL/health" > /dev/null && break; sleep 0.05; done
sleep 3
# open_check URL SHM NAME: /ohlcv/{1s,1m}/open of AAPL and MSFT against the tick log.
open_check() {
  curl -sf "$1/ohlcv/1s/open?symbol=AAPL" > "$D/open.json" || fail "GET /ohlcv/1s/open: $(curl -s "$1/ohlcv/1s/open?symbol=AAPL")"
  curl -sf "$1/ohlcv/1m/open?symbol=MSFT" > "$D/open1m.json" || fail "GET /ohlcv/1m/open"
  "$T" tail ticks.0 --shm-path "$2" --from-start --no-follow > "$D/ticks.jsonl" || fail "tickd tail"
  $PY - "$D" "$3" <<'PY' || fail "the open bar is not the tick log's trades of its window ($3)"
import json, sys
d, what = sys.argv[1], sys.argv[2]
ticks = [t for t in map(json.loads, open(f"{d}/ticks.jsonl")) if "price" in t]
for name, ms in (("open.json", 1000), ("open1m.json", 60000)):
    o = json.load(open(f"{d}/{name}"))
    assert o["window_start"] % ms == 0 and o["tf"] == {1000: "1s", 60000: "1m"}[ms], (name, o)
    w = [t for t in ticks if t["symbol"] == o["symbol"] and o["window_start"] <= t["ts"] < o["window_start"] + ms
         and t["seq"] <= o["last_seq"]]
    assert w, (name, o)
    want = {"open": w[0]["price"], "high": max(t["price"] for t in w), "low": min(t["price"] for t in w),
            "close": w[-1]["price"], "volume": sum(t["size"] for t in w), "trade_count": len(w)}
    got = {k: o[k] for k in want}
    assert got == want and o["partial"] is True, (name, got, want)
    print(f"page: {what}: {o['symbol']} {o['tf']} open bar of {o['window_start']} = its {len(w)} trades up to seq {o['last_seq']}")
PY
}
open_check "$URL" "$SHM" "tickd run"
# An engine whose timeframes are the segment's in another order (and fewer):
# its live record says which open bar is which.
SHM2=$SHM.order
PORT2=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$T" init --fresh --shm-path "$SHM2" --timeframes 1s,5m,1m > /dev/null || fail "tickd init"
"$T" engine --shm-path "$SHM2" --timeframes 1m,1s 2> "$D/engine2.log" &
P_ENG=$!
"$T" feed --source synth --shm-path "$SHM2" --seed 3 --symbols 8 --rate 300 --start now 2> "$D/feed2.log" &
P_FEED=$!
"$T" api --shm-path "$SHM2" --listen "127.0.0.1:$PORT2" --data-dir "" --portfolio "$D/p2.json" 2> "$D/api2.log" &
P_API=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT2/ohlcv/1s/open?symbol=AAPL" > /dev/null && break; sleep 0.05; done
sleep 1
( open_check "http://127.0.0.1:$PORT2" "$SHM2" "engine --timeframes 1m,1s on a segment of 1s,5m,1m" ) ; rc=$?
st=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT2/ohlcv/5m/open?symbol=AAPL")
kill $P_API $P_FEED $P_ENG 2>/dev/null; wait $P_API $P_FEED $P_ENG 2>/dev/null
"$T" clean --shm-path "$SHM2" > /dev/null 2>&1
[ $rc = 0 ] || fail "the open bars of a reordered engine"
[ "$st" = 404 ] || fail "/ohlcv/5m/open of an engine without 5m: $st"
echo "page: /ohlcv/5m/open of an engine that makes no 5m bars: 404"
NODE_PATH= node "$S/tests/api/page_test.cjs" "$S/api/web" "$URL" "$OUT" "$T" "$SHM" || { tail -5 "$D/run.log" >&2; fail "the page"; }
echo "PASS: page (screenshots in $OUT)"
