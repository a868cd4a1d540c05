#!/usr/bin/env bash
# The stream over several feeds and engine shards (issue 12): `tickd run
# --feeds 2 --shards 2` has tick logs ticks.0 and ticks.1, and the engine's
# logs bars.<tf>.<i> and signals.<i>.  A "*" client of trades, bars.1s,
# signals and quotes gets each channel from all of them: every trade of both
# tick logs from its first, every 1 s bar and signal of both shards, and
# quotes that end as /quote does.
#
# usage: ws_shards_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3
D=$(mktemp -d /tmp/tickd-ws-shards.XXXXXX)
cd "$D" # --no-persist: the API keeps its portfolio (./portfolio.json) here
SHM=/dev/shm/tickd-ws-shards-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
cleanup() {
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  "$T" clean --shm-path "$SHM" > /dev/null 2>&1
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT

# Two synthetic feeds (seeds 4 and 5) of 8 symbols, 3,000 trades each at 300
# a second of the wall's clock; the run stays up after them (the client
# stops when the stream has been quiet for 3 s).
"$T" run --fresh --shm-path "$SHM" --feeds 2 --shards 2 --seed 4 --symbols 8 --rate 300 --count 3000 \
  --speed 1 --start now --duration 60 --no-persist --listen "127.0.0.1:$PORT" > "$D/run.log" 2>&1 &
RUN=$!
$PY - "$PORT" "$D" <<'PY' || { tail -20 "$D/run.log" >&2; fail "the stream client"; }
import asyncio, json, socket, sys, time, urllib.request, websockets
port, d = int(sys.argv[1]), sys.argv[2]
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
async def main():
    got = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=1 << 22) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades", "bars.1s", "signals", "quotes"],
                                  "symbols": ["*"]}))
        ack = None
        while True:
            try:
                fr = await asyncio.wait_for(ws.recv(), 3)
            except asyncio.TimeoutError:
                break
            for m in json.loads(fr):
                if m.get("type") == "subscribed":
                    ack = m
                got.append(m)
    assert ack == {"type": "subscribed", "channels": ["quotes", "trades", "bars.1s", "signals"], "symbols": ["*"]}, ack
    json.dump(got, open(f"{d}/got.json", "w"))
asyncio.run(main())
PY
for l in ticks.0 ticks.1 bars.1s.0 bars.1s.1 signals.0 signals.1; do
  "$T" tail "$l" --shm-path "$SHM" --from-start --no-follow > "$D/$l.jsonl" || fail "tickd tail $l"
done
$PY - "$D" <<'PY' || fail "the stream over 2 feeds and 2 shards"
import json, sys
d = sys.argv[1]
got = json.load(open(f"{d}/got.json"))
def rows(name, key):
    return [r for r in map(json.loads, open(f"{d}/{name}.jsonl")) if key in r]
data = lambda ch: [m["data"] for m in got if m.get("channel") == ch and m["data"].get("type") not in ("gap", "heartbeat")]
assert not [m for m in got if m.get("type") == "gap"], "a gap"
# Trades: each tick log's, in its order, from the first the client got of it.
trades = data("trades")
for log in ("ticks.0", "ticks.1"):
    mine = [t for t in rows(log, "price")]
    keyed = {(t["seq"], t["ts"], t["symbol"], t["price"], t["size"]): t for t in mine}
    sub = [t for t in trades if (t["seq"], t["ts"], t["symbol"], t["price"], t["size"]) in keyed]
    assert len(sub) > 1000, (log, len(sub))
    first = mine.index(sub[0])
    assert sub == mine[first:first + len(sub)], f"{log}: the trades received are not the log's from the first"
    assert first + len(sub) == len(mine), f"{log}: {len(mine) - first - len(sub)} trades of the end missing"
# Bars and signals: both shards', every one from the first second seen.
strip = lambda r: json.dumps({k: v for k, v in r.items() if k != "seq"}, sort_keys=True)
for ch, logs, key in (("bars.1s", ("bars.1s.0", "bars.1s.1"), "window_start"), ("signals", ("signals.0", "signals.1"), "ts")):
    mine = data(ch)
    assert mine, f"no {ch} message"
    t0 = min(r[key] for r in mine)
    want = sorted(strip(r) for l in logs for r in rows(l, key) if r[key] >= t0)
    assert sorted(strip(r) for r in mine) == want, f"{ch}: {len(mine)} received, {len(want)} in {logs} from {t0}"
    shards = {l: sum(1 for r in rows(l, key) if r[key] >= t0) for l in logs}
    assert all(shards.values()), (ch, shards)
# Quotes: the last of each symbol is the last trade of that symbol the client got.
quotes = data("quotes")
last_q = {q["symbol"]: q for q in quotes}
last_t = {}
for t in trades:
    last_t[t["symbol"]] = t
assert set(last_q) == set(last_t), (sorted(last_q), sorted(last_t))
for s, q in last_q.items():
    assert (q["price"], q["ts"]) == (last_t[s]["price"], last_t[s]["ts"]), (s, q, last_t[s])
print(f"stream over 2 feeds, 2 shards: {len(trades)} trades (both logs, in order), {len(data('bars.1s'))} 1 s bars and "
      f"{len(data('signals'))} signals of both shards, {len(quotes)} quotes ending at each symbol's last trade")
PY
echo "PASS: ws shards"
