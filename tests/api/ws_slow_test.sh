#!/usr/bin/env bash
# The stream's fan-out never waits (issue 12): while 50 clients stream, one
# more (a process of its own, with a small receive buffer) is stopped with
# SIGSTOP for 10 s.  It is conflated when it falls --ws-max-lag behind and,
# once continued, gets the exact gap and the trades after it; none of the 50
# others misses a trade or gets a gap, and they all get the same trades.
# Their latency (trade time to receipt) before and during the stop is
# printed, not asserted (a timing is no test).  Then 1,000 clients at once,
# each receiving trades.
#
# usage: ws_slow_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3 # Debian's python3-websockets
$PY -c 'import websockets' 2>/dev/null || fail "python3-websockets is not installed (scripts/deps.sh)"
D=$(mktemp -d /tmp/tickd-ws-slow.XXXXXX)
cd "$D" # --no-persist: the API keeps its portfolio (./portfolio.json) here
SHM=/dev/shm/tickd-ws-slow-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
API=
cleanup() {
  [ -n "$API" ] && kill "$API" 2>/dev/null && wait "$API" 2>/dev/null
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  pkill -CONT -f "$D/slow.py" 2>/dev/null
  pkill -f "$D/slow.py" 2>/dev/null
  pkill -CONT -f "$D/stuck.py" 2>/dev/null
  pkill -f "$D/stuck.py" 2>/dev/null
  "$T" clean --shm-path "$SHM" >/dev/null 2>&1
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT

# 10,000 trades a second of real time, clock at the wall's, for as long
# as the test needs (150 s at most); the journal off (this is about the API).  The API is started here, with a
# small --ws-max-lag, so that the stopped client falls that far behind.
RATE=$([ "${TICKD_TEST_SCALE:-}" = small ] && echo 4000 || echo 10000)
"$T" run --fresh --shm-path "$SHM" --seed 9 --symbols 8 --rate "$RATE" --speed 1 --start now \
  --no-persist --listen off --duration 150 > "$D/run.log" 2>&1 &
RUN=$!
for _ in $(seq 1 100); do "$T" stats --shm-path "$SHM" >/dev/null 2>&1 && break; sleep 0.1; done
"$T" api --shm-path "$SHM" --listen "127.0.0.1:$PORT" --data-dir "" --portfolio "$D/p.json" \
  --ws-max-lag 5000 > "$D/api.log" 2>&1 &
export TICKD=$T SHM
API=$!
cat > "$D/slow.py" <<'PY'
import asyncio, json, socket, sys, time, websockets
port, out = int(sys.argv[1]), sys.argv[2]
end = time.time() + 22  # 3 s, 10 s stopped, then 9 s to catch up
async def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)  # the kernel cannot hide the stop
    s.connect(("127.0.0.1", port))
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", sock=s, max_size=1 << 22,
                                  max_queue=1) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": ["*"]}))
        with open(out, "w") as f:
            while time.time() < end:
                try:
                    fr = await asyncio.wait_for(ws.recv(), 30)
                except (asyncio.TimeoutError, websockets.ConnectionClosed) as e:
                    f.write(json.dumps({"closed": str(e)}) + "\n")
                    return
                f.write(fr + "\n")
                f.flush()
asyncio.run(main())
PY
# A client that stops for good: its socket takes nothing, so lws never
# offers it a write; it must be closed after 30 s all the same.
cat > "$D/stuck.py" <<'PY'
import asyncio, json, socket, sys, websockets
port, out = int(sys.argv[1]), sys.argv[2]
async def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.connect(("127.0.0.1", port))
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws", sock=s, max_size=1 << 22, max_queue=1) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": ["*"]}))
        print("subscribed", s.getsockname()[1], flush=True)
        await asyncio.sleep(3600)
asyncio.run(main())
PY
$PY - "$PORT" "$D" <<'PY' || { tail -5 "$D/api.log" >&2; fail "stream: a stopped client beside 50"; }
import asyncio, json, os, signal, socket, subprocess, sys, time, resource, websockets
port, d = int(sys.argv[1]), sys.argv[2]
url = f"ws://127.0.0.1:{port}/ws"
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
time.sleep(1)
# The symbol the 50 stream: the least traded one (a second of /ws "*").
async def pick():
    n = {}
    async with websockets.connect(url, max_size=1 << 22) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": ["*"]}))
        t = time.monotonic()
        while time.monotonic() - t < 1:
            for m in json.loads(await ws.recv()):
                if m.get("channel") == "trades":
                    n[m["data"]["symbol"]] = n.get(m["data"]["symbol"], 0) + 1
    return min(n, key=n.get)
sym = asyncio.run(pick())
stuck = subprocess.Popen([sys.executable, f"{d}/stuck.py", str(port), "-"], stdout=subprocess.PIPE)
said = stuck.stdout.readline().split()
assert said[0] == b"subscribed", said
stuck_port = int(said[1])
os.kill(stuck.pid, signal.SIGSTOP)
stuck_at = time.monotonic()
slow = subprocess.Popen([sys.executable, f"{d}/slow.py", str(port), f"{d}/slow.txt"])
marks = {}
async def other(i, got):
    async with websockets.connect(url, max_size=1 << 22) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": [sym]}))
        end = time.time() + 22
        while time.time() < end:
            try:
                fr = await asyncio.wait_for(ws.recv(), 5)
            except asyncio.TimeoutError:
                continue
            now = time.time() * 1000
            for m in json.loads(fr):
                if m.get("type") == "gap":
                    got.append(("gap", m))
                elif m.get("channel") == "trades" and "price" in m["data"]:
                    got.append((m["data"]["seq"], (now, now - m["data"]["ts"])))
async def stopper():
    await asyncio.sleep(3)
    os.kill(slow.pid, signal.SIGSTOP)
    marks["stop"] = time.time() * 1000
    await asyncio.sleep(10)
    os.kill(slow.pid, signal.SIGCONT)
    marks["cont"] = time.time() * 1000
async def main():
    got = [[] for _ in range(50)]
    await asyncio.gather(stopper(), *(other(i, got[i]) for i in range(50)))
    return got
got = asyncio.run(main())
slow.wait(timeout=60)
gaps = [g for c in got for g in c if g[0] == "gap"]
assert not gaps, f"{len(gaps)} gaps among the 50: {gaps[:2]}"
seqs = [[x[0] for x in c] for c in got]
lo = max(s[0] for s in seqs)
hi = min(s[-1] for s in seqs)
common = [[x for x in s if lo <= x <= hi] for s in seqs]
assert all(c == common[0] for c in common) and len(common[0]) > 100, "the 50 did not get the same trades"
assert all(s == sorted(s) and len(set(s)) == len(s) for s in seqs), "out of order or twice"
# Against the log itself: each of the 50 got every trade of its symbol from its first to its last.
tail = subprocess.run([os.environ["TICKD"], "tail", "ticks.0", "--shm-path", os.environ["SHM"], "--from-start",
                       "--no-follow"], capture_output=True, text=True, check=True).stdout.splitlines()
log_trades = [t for t in map(json.loads, tail) if "price" in t]
of_sym = [t["seq"] for t in log_trades if t["symbol"] == sym]
for s in seqs:
    assert s == [x for x in of_sym if s[0] <= x <= s[-1]], "a client missed a trade the log has"
# The stopped one: a gap after the stop, with the trades on both sides contiguous with it.
frames = [json.loads(l) for l in open(f"{d}/slow.txt")]
msgs = [m for fr in frames if isinstance(fr, list) for m in fr]
gap = [m for m in msgs if m.get("type") == "gap"]
closed = [fr for fr in frames if isinstance(fr, dict) and "closed" in fr]
assert gap, f"the stopped client got no gap ({len(msgs)} messages, closed: {closed})"
g = gap[0]
trade = lambda m: m.get("channel") == "trades" and "price" in m.get("data", {})
before = [m["data"]["seq"] for m in msgs[:msgs.index(g)] if trade(m)]
after = [m["data"]["seq"] for m in msgs[msgs.index(g) + 1:] if trade(m)]
assert g["channel"] == "trades" and g["from"] > before[-1] and g["to"] >= g["from"], (g, before[-1:])
assert after and after[0] > g["to"], (g, after[:1])
# ... and outside its gaps' ranges it missed nothing: between two trades
# it got, the log has no trade but in a gap told between them.
next_trade = {}
all_seqs = [t["seq"] for t in log_trades]
for a, b in zip(all_seqs, all_seqs[1:]):
    next_trade[a] = b
last, told = None, []
for m in msgs:
    if m.get("type") == "gap":
        told.append((m["from"], m["to"]))
    elif trade(m):
        x = m["data"]["seq"]
        if last is not None:
            missing = [y for y in all_seqs if last < y < x] if next_trade.get(last) != x else []
            assert all(any(f <= y <= t for f, t in told) for y in missing), \
                f"the stopped one missed trades {missing[:3]} between {last} and {x} that no gap told"
        last, told = x, []
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")
# Trade time is the generator's clock, a constant offset from the wall's:
# latency is shown above the smallest seen (the jitter), before and during the stop.
rows = [x[1] for c in got for x in c if x[0] != "gap"]
base = min(l for _, l in rows)
pre = [l - base for r, l in rows if r < marks["stop"]]
mid = [l - base for r, l in rows if marks["stop"] <= r < marks["cont"]]
print(f"stream: 50 clients of {sym}: {len(common[0])} trades each in common, none missed, no gap; "
      f"the stopped client (SIGSTOP 10 s): gap {g['from']}..{g['to']} ({g['to'] - g['from'] + 1} "
      f"records), then {len(after)} trades; the 50's latency above its minimum, p50/p99 ms, "
      f"before the stop {pct(pre, .5):.1f}/{pct(pre, .99):.1f}, during it {pct(mid, .5):.1f}/{pct(mid, .99):.1f}")
# A thousand clients at once, each receiving trades.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
async def many():
    # All connected first, then all subscribed; each reads until its first
    # trade, then unsubscribes and drains what was in flight until all have
    # one.  A client that stops reading cannot see the server's close reply
    # behind the data it left unread: the server shuts its end at once
    # (FIN-WAIT-1 in ss), but python-websockets waits out its own close
    # timeouts (about 30 s); a thousand such closes one by one timed the
    # test out on a slow host.  And a thousand clients that all keep
    # reading the stream are more than this one Python process can parse.
    conns = [await websockets.connect(url, max_size=1 << 22) for _ in range(1000)]
    sub = {"channels": ["trades"], "symbols": [sym]}
    await asyncio.gather(*(ws.send(json.dumps({"action": "subscribe", **sub})) for ws in conns))
    everyone = asyncio.Event()
    left = [len(conns)]
    async def first_trade(ws):
        first = None
        while not everyone.is_set():
            try:
                fr = await asyncio.wait_for(ws.recv(), 1)
            except asyncio.TimeoutError:
                continue
            for m in json.loads(fr):
                if first is None and trade(m):  # (a gap is on the trades channel too)
                    first = m["data"]["seq"]
                    await ws.send(json.dumps({"action": "unsubscribe", **sub}))
                    left[0] -= 1
                    if left[0] == 0:
                        everyone.set()
        return first
    got = await asyncio.wait_for(asyncio.gather(*(first_trade(ws) for ws in conns)), 120)
    await asyncio.gather(*(ws.close() for ws in conns))
    return got
firsts = asyncio.run(many())
assert len(firsts) == 1000 and all(isinstance(s, int) for s in firsts)
print(f"stream: 1,000 clients at once, each received trades of {sym}")
# The client stopped for good: closed by the server once its socket took
# nothing for 30 s (lws's timeout).  The socket takes data for a while
# after the stop, until the server's send buffer is full (2 MB and
# more, seconds at these rates), so the close comes 30 s after that:
# never before 30 s after the stop, and well before 140 (37-61 s here).
# Seen from the server's side: its end of that connection is no longer
# established (its FIN waits behind the data the client never read).
def held():
    return subprocess.run(["ss", "-tnH", "state", "established",
                           f"( sport = :{port} and dport = :{stuck_port} )"],
                          capture_output=True, text=True, check=True).stdout.strip()
last = held()
while last != "" and time.monotonic() < stuck_at + 140:
    time.sleep(0.5)
    last = held()
gone_at = time.monotonic() - stuck_at
os.kill(stuck.pid, signal.SIGCONT)
stuck.kill()
assert last == "", f"the server still holds the connection of a client stopped {gone_at:.0f} s: {last}"
assert gone_at >= 30, f"the server closed a client stopped only {gone_at:.1f} s ago"
print(f"stream: a client stopped for good was closed by the server {gone_at:.0f} s after its stop "
      f"(its socket took nothing for 30 s)")
PY
kill -0 "$API" 2>/dev/null || fail "tickd api died"
echo "PASS: ws_slow"
