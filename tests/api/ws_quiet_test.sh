#!/usr/bin/env bash
# A quiet symbol's subscriber beside a busy one (issue 12): the loop wakes
# only the clients new records are for, and moves the others' positions past
# what they do not want.  A replay of raw Finnhub messages: AAA traded 6,000
# times, then ZZZ once, 6,000 more AAA, ZZZ again; the API runs with
# --ws-max-lag 5000.  A client of ZZZ gets both ZZZ trades and no gap (a wake
# that skipped it past its own trade, or left it for the 1 s wake of every
# client, fails here: skipped, or 6,000 records behind and conflated); a
# client of AAA gets every AAA trade the log has after its first, in order;
# a "*" client all of them.
#
# usage: ws_quiet_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3 # Debian's python3-websockets
$PY -c 'import websockets' 2>/dev/null || fail "python3-websockets is not installed (scripts/deps.sh)"
D=$(mktemp -d /tmp/tickd-ws-quiet.XXXXXX)
cd "$D" # --no-persist: the API keeps its portfolio (./portfolio.json) here
SHM=/dev/shm/tickd-ws-quiet-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
API=
cleanup() {
  [ -n "$API" ] && kill "$API" 2>/dev/null && wait "$API" 2>/dev/null
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  "$T" clean --shm-path "$SHM" >/dev/null 2>&1
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT

# The file: one AAA trade and one QQQ, 6 s of nothing (the clients
# subscribe), then the 12,003 trades over 2.5 s of trade time, paced at speed 1.
$PY - "$D/day.jsonl" <<'PY'
import json, sys, time
t0 = int(time.time() * 1000)
t = t0 + 6000
# (QQQ: a raw file is paced by the trade time of the message before, so the
# first one after the quiet seconds is written at once, before the clients.)
lines = [("AAA", t0), ("QQQ", t)]
for part in range(2):
    for i in range(6000):
        lines.append(("AAA", t + i // 6))
    t += 1000
    lines.append(("ZZZ", t))
    t += 1
lines.append(("AAA", t + 500))
with open(sys.argv[1], "w") as f:
    for n, (s, ms) in enumerate(lines):
        f.write(json.dumps({"type": "trade", "data": [{"s": s, "p": 100 + n * 0.01, "t": ms, "v": n + 1}]}) + "\n")
PY
"$T" run --fresh --shm-path "$SHM" --source "replay:$D/day.jsonl" --speed 1 --no-persist --listen off \
  > "$D/run.log" 2>&1 &
RUN=$!
for _ in $(seq 1 100); do "$T" stats --shm-path "$SHM" >/dev/null 2>&1 && break; sleep 0.1; done
"$T" api --shm-path "$SHM" --listen "127.0.0.1:$PORT" --data-dir "" --portfolio "$D/p.json" \
  --ws-max-lag 5000 > "$D/api.log" 2>&1 &
API=$!
export TICKD=$T SHM
$PY - "$PORT" <<'PY' || { tail -n 5 "$D/api.log" "$D/run.log" >&2; fail "stream: a quiet symbol's client"; }
import asyncio, json, os, socket, subprocess, sys, time, websockets
port = int(sys.argv[1])
url = f"ws://127.0.0.1:{port}/ws"
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
async def client(symbol, want):
    got, gaps = [], []
    async with websockets.connect(url, max_size=1 << 22) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": [symbol]}))
        while not want(got):
            try:
                fr = await asyncio.wait_for(ws.recv(), 15)
            except asyncio.TimeoutError:
                raise SystemExit(f"client of {symbol}: {len(got)} trades, then 15 s of nothing, "
                                 f"gaps {gaps[:2]}, the last {got[-1:]}")
            for m in json.loads(fr):
                if m.get("type") == "gap":
                    gaps.append(m)
                elif m.get("channel") == "trades" and "price" in m["data"]:
                    got.append(m["data"])
    return got, gaps
async def main():
    last = lambda got: got and got[-1]["size"] == 12005  # the file's last trade (v: its line number)
    return await asyncio.gather(client("ZZZ", lambda got: len(got) == 2), client("AAA", last), client("*", last))
(zzz, zgaps), (aaa, agaps), (star, sgaps) = asyncio.run(main())
assert not zgaps and not agaps and not sgaps, (zgaps, agaps[:1], sgaps[:1])
assert [m["symbol"] for m in zzz] == ["ZZZ", "ZZZ"], zzz
tail = subprocess.run([os.environ["TICKD"], "tail", "ticks.0", "--shm-path", os.environ["SHM"], "--from-start",
                       "--no-follow"], capture_output=True, text=True, check=True).stdout.splitlines()
log = [t for t in map(json.loads, tail) if "price" in t]
assert [m["seq"] for m in zzz] == [t["seq"] for t in log if t["symbol"] == "ZZZ"], "ZZZ's trades"
aaa_log = [t["seq"] for t in log if t["symbol"] == "AAA"]
def same(got, want, what):
    g = [m["seq"] for m in got]
    missing = sorted(set(want) - set(g))
    assert g == want, f"{what}: {len(g)} of {len(want)}, missing {missing[:5]}, extra {sorted(set(g) - set(want))[:5]}"
same(aaa, aaa_log[-12001:], "AAA's trades after the first")
same(star, [t["seq"] for t in log][-12003:], "every trade after QQQ's")
assert log[-12004]["symbol"] == "QQQ", log[-12004]
print(f"stream: --ws-max-lag 5000, ZZZ traded after 6,000 AAA trades twice: its client got both "
      f"(seq {zzz[0]['seq']}, {zzz[1]['seq']}), no gap; AAA's all 12,001, '*' all 12,003")
PY
echo "PASS: ws_quiet"
