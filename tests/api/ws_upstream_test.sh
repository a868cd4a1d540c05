#!/usr/bin/env bash
# tickd as a Finnhub upstream (issue 12): a second tickd whose feed is
# `--source finnhub --url ws://HOST:PORT/ws/finnhub` (the real Finnhub
# client, lws, token in the query) subscribes to every symbol of the first
# one's synthetic market and makes the same trades and the same 1 s bars.
#
# The second run connects after the first has started, and subscribes to
# its symbols one message each, so each symbol's trades start at its own
# moment: the trades are compared per symbol from the first one the second
# run received, and the bars from the first second after every symbol's
# first trade up to the last bar the second run closed.
#
# usage: ws_upstream_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3
D=$(mktemp -d /tmp/tickd-ws-upstream.XXXXXX)
cd "$D" # --no-persist: the API keeps its portfolio (./portfolio.json) here
UP=/dev/shm/tickd-ws-up-$$
DOWN=/dev/shm/tickd-ws-down-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
A= Z=
cleanup() {
  [ -n "$Z" ] && kill "$Z" 2>/dev/null && wait "$Z" 2>/dev/null
  [ -n "$A" ] && kill "$A" 2>/dev/null && wait "$A" 2>/dev/null
  for s in "$UP" "$DOWN"; do "$T" clean --shm-path "$s" > /dev/null 2>&1; rm -f "$s" "$s".*; done
  rm -rf "$D"
}
trap cleanup EXIT

SYMS=AAPL,MSFT,AMZN,NVDA,GOOGL,META,TSLA,BINANCE:BTCUSDT # the synthetic market of 8
"$T" run --fresh --shm-path "$UP" --seed 9 --symbols 8 --rate 400 --speed 1 --start now --duration 40 \
  --no-persist --listen "127.0.0.1:$PORT" > "$D/up.log" 2>&1 &
A=$!
for _ in $(seq 200); do
  $PY -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1).close()" 2>/dev/null && break
  sleep 0.05
done
"$T" tail ticks.0 --shm-path "$UP" --no-follow --from-start | grep -q '"symbol"' || sleep 1
FINNHUB_API_TOKEN=not-checked-by-tickd "$T" run --fresh --shm-path "$DOWN" --source finnhub \
  --url "ws://127.0.0.1:$PORT/ws/finnhub" --symbol-list "$SYMS" --duration 20 --no-persist --listen off \
  > "$D/down.log" 2>&1 &
Z=$!
wait "$Z"
Z=
# The downstream's clock is its receive time, the upstream's its feed time
# (a heartbeat every 100 ms): a window the downstream closed last may close
# upstream a moment later.
sleep 1
grep -q "subscribing to 8 symbols" "$D/down.log" || { cat "$D/down.log" >&2; fail "the downstream feed never subscribed"; }
for side in up:$UP down:$DOWN; do
  n=${side%%:*} s=${side#*:}
  "$T" tail ticks.0 --shm-path "$s" --no-follow --from-start > "$D/$n.ticks" || fail "tail ticks of $n"
  "$T" tail bars.1s --shm-path "$s" --no-follow --from-start > "$D/$n.bars" || fail "tail bars of $n"
done
$PY - "$D" "$SYMS" <<'PY' || { tail -5 "$D/down.log" >&2; fail "the downstream's trades or bars differ"; }
import json, sys
d, syms = sys.argv[1], sys.argv[2].split(",")
def rows(name, key):
    return [r for r in map(json.loads, open(f"{d}/{name}")) if key in r]
up_t, down_t = rows("up.ticks", "price"), rows("down.ticks", "price")
assert len(down_t) > 2000, f"the downstream run received only {len(down_t)} trades"
trade = lambda t: (t["symbol"], t["price"], t["size"], t["ts"])
first = {}
for s in syms:
    mine = [trade(t) for t in down_t if t["symbol"] == s]
    theirs = [trade(t) for t in up_t if t["symbol"] == s]
    assert mine, f"no {s} trade reached the downstream run"
    at = theirs.index(mine[0])
    assert theirs[at:at + len(mine)] == mine, f"{s}: the downstream trades are not the upstream's from its first"
    first[s] = mine[0][3]
# The same bars: every field a second's trades make (the indicators look further back, and the
# downstream run started later).
fields = ("symbol", "tf", "window_start", "open", "high", "low", "close", "volume", "vwap", "trade_count")
bar = lambda b: tuple(b[f] for f in fields)
start = max(first.values()) // 1000 * 1000 + 1000
down_b = [bar(b) for b in rows("down.bars", "window_start") if b["window_start"] >= start]
last = {s: max((b[2] for b in down_b if b[0] == s), default=None) for s in syms}
up_b = [bar(b) for b in rows("up.bars", "window_start")
        if b["window_start"] >= start and last[b["symbol"]] is not None and b["window_start"] <= last[b["symbol"]]]
assert len(down_b) >= 8 * 10, f"only {len(down_b)} comparable 1 s bars"
assert sorted(down_b) == sorted(up_b), \
    f"{len(down_b)} downstream bars, {len(up_b)} upstream; differing: {sorted(set(down_b) ^ set(up_b))[:4]}"
print(f"upstream: {len(down_t)} trades through /ws/finnhub equal the upstream's per symbol; "
      f"{len(down_b)} 1 s bars from {start} equal (OHLCV, vwap, trade count)")
PY
echo "PASS: ws upstream"
