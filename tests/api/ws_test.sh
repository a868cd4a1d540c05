#!/usr/bin/env bash
# The stream of tickd api (issue 12) against a running `tickd run`: clients
# of /ws (one symbol with quotes, and "*") and of /ws/finnhub receive every
# trade `tickd tail` shows from their first one on, in order, byte for byte
# the data contract's JSON; malformed and oversized messages get an error
# message or a 1009 close and the server goes on.
#
# usage: ws_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
PY=/usr/bin/python3 # Debian's python3-websockets is for this one, whatever python3 is on PATH
$PY -c 'import websockets' 2>/dev/null || fail "python3-websockets is not installed (scripts/deps.sh)"
D=$(mktemp -d /tmp/tickd-ws-test.XXXXXX)
SHM=/dev/shm/tickd-ws-test-$$
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
cleanup() {
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  "$T" clean --shm-path "$SHM" >/dev/null 2>&1
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT

# 8 symbols, 120,000 trades at 20,000 a second of real time (the feed starts
# before the API, so the clients see at least the last 100,000).
COUNT=${TICKD_WS_TEST_COUNT:-$([ "${TICKD_TEST_SCALE:-}" = small ] && echo 60000 || echo 120000)}
# The sanitizer builds start the API later: a slower feed there (5,000 a
# second), so the clients still see five sixths of it.
SPEED=$([ "${TICKD_TEST_SCALE:-}" = small ] && echo 100 || echo 400)
"$T" run --fresh --shm-path "$SHM" --seed 5 --symbols 8 --rate 50 --count "$COUNT" --speed "$SPEED" \
  --start 1700000000 --data-dir "$D/data" --listen "127.0.0.1:$PORT" > "$D/run.log" 2>&1 &
RUN=$!
$PY - "$PORT" "$D" <<'PY' || { tail -20 "$D/run.log" >&2; fail "stream clients"; }
import asyncio, json, socket, sys, time, websockets
port, d = int(sys.argv[1]), sys.argv[2]
url = f"ws://127.0.0.1:{port}"
for _ in range(400):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)

async def client(path, hello, out, quiet=4.0):
    got = []
    async with websockets.connect(url + path, max_size=1 << 22) as ws:
        for h in hello:
            await ws.send(json.dumps(h))
        while True:
            try:
                frame = await asyncio.wait_for(ws.recv(), quiet)
            except asyncio.TimeoutError:
                break
            got.append(frame)
    with open(out, "w") as f:
        for fr in got:
            f.write(fr + "\n")

async def hostile():
    # Not JSON, a wrong action, an unknown channel, a bad symbol, unknown keys:
    # one error message each, and the connection still serves.
    async with websockets.connect(url + "/ws") as ws:
        bad = ["not json", "[]", '{"action":"dance"}', '{"action":"subscribe","channels":["nope"],"symbols":["A"]}',
               '{"action":"subscribe","channels":["trades"],"symbols":["A B\\u0000"]}',
               '{"action":"subscribe","channels":["trades"],"symbols":["A"],"x":1}',
               '{"action":"subscribe","channels":"trades","symbols":["A"]}', '{"action":"subscribe"}']
        for b in bad:
            await ws.send(b)
        errors = 0
        while errors < len(bad):
            for m in json.loads(await asyncio.wait_for(ws.recv(), 5)):
                if m.get("type") == "error":
                    errors += 1
                    assert isinstance(m.get("error"), str) and m["error"], m
        await ws.send(b"\x00\xff binary")  # a binary frame: also an error, not a crash
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": ["AAPL"]}))
        ok = False
        while not ok:
            for m in json.loads(await asyncio.wait_for(ws.recv(), 5)):
                ok = ok or m.get("type") == "subscribed"
    # A message over 16 KiB closes with 1009.
    async with websockets.connect(url + "/ws") as ws:
        await ws.send("x" * 20000)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1009, e
    # Not a stream path: refused at the upgrade (libwebsockets closes it).
    try:
        async with websockets.connect(url + "/nope") as ws:
            raise SystemExit("a WebSocket at /nope was accepted")
    except (websockets.InvalidHandshake, EOFError, OSError):
        pass
    # Naming the HTTP side's protocol is no way around the stream's paths and limits.
    for path in ("/anything", "/ws"):
        try:
            async with websockets.connect(url + path, subprotocols=["http"]) as ws:
                raise SystemExit(f"a WebSocket at {path} with subprotocol http was accepted")
        except (websockets.InvalidHandshake, EOFError, OSError):
            pass
    # A flood: 1,200 messages at once on Finnhub's protocol (which acknowledges
    # nothing): past the burst of 1,000 each is refused unread, with an error;
    # a second later the connection takes messages again.
    async with websockets.connect(url + "/ws/finnhub") as ws:
        t0 = time.monotonic()
        for _ in range(1200):
            await ws.send('{"type":"subscribe","symbol":"QUIET1"}')  # no trades: only errors come
        sent_in = time.monotonic() - t0
        await ws.send('{"type":"subscribe","symbol":"QUIET2"}')
        errors = []
        try:
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 2))
                if m.get("type") == "error":
                    errors.append(m["msg"])
        except asyncio.TimeoutError:
            pass
        assert errors and all(e.startswith("too many messages") for e in errors), errors[:3]
        assert len(errors) <= 201, (len(errors), sent_in)
        await ws.send('{"type":"subscribe"}')
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m.get("type") == "error":
                assert m["msg"].startswith("a message is"), m
                break
    # Subscribing symbol by symbol (400 messages at once, read as they come):
    # a newer acknowledgement replaces one not sent yet, so the client is not
    # buried in n^2/2 bytes of them, and the last one names all 400.
    async with websockets.connect(url + "/ws", max_size=1 << 22) as ws:
        for i in range(400):
            await ws.send(json.dumps({"action": "subscribe", "channels": ["signals"], "symbols": [f"Q{i:03d}"]}))
        acks = []
        while not acks or len(acks[-1]["symbols"]) < 400:
            for m in json.loads(await asyncio.wait_for(ws.recv(), 5)):
                if m.get("type") == "subscribed":
                    acks.append(m)
        assert acks[-1]["symbols"] == [f"Q{i:03d}" for i in range(400)] and len(acks) < 400, len(acks)
        n_acks = len(acks)
    # 1,000 bad messages at once: errors up to 16 KiB waiting, the rest told as one count.
    # Corked, they reach the server in one segment, so it reads hundreds before it
    # can write (sent one by one, a slow server, ASan's, answers each in turn).
    async with websockets.connect(url + "/ws", max_size=1 << 22) as ws:
        sock = ws.transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        for _ in range(1000):
            await ws.send("x")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
        n_err, folded = 0, 0
        while n_err + folded < 1000:
            for m in json.loads(await asyncio.wait_for(ws.recv(), 5)):
                if m.get("type") == "error":
                    if "more messages refused" in m["error"]:
                        folded += int(m["error"].split()[0])
                    else:
                        n_err += 1
        assert n_err + folded == 1000 and folded > 0, (n_err, folded)
    print(f"stream: 400 subscriptions one by one: {n_acks} acknowledgements, the last naming all; 1,000 bad "
          f"messages: {n_err} errors and one count of {folded} more")
    print(f"stream: 8 malformed messages answered with errors (and a binary frame survived), 20 KB closed 1009, "
          f"/nope refused, {len(errors)} of a flood of 1,201 messages refused (too many), then served again")

async def main():
    await asyncio.gather(
        client("/ws", [{"action": "subscribe", "channels": ["trades", "quotes"], "symbols": ["AAPL"]}], f"{d}/one.txt"),
        client("/ws", [{"action": "subscribe", "channels": ["trades"], "symbols": ["*"]}], f"{d}/all.txt"),
        client("/ws/finnhub", [{"type": "subscribe", "symbol": "MSFT"}], f"{d}/fh.txt"),
        hostile())
asyncio.run(main())
PY
# Connections per address: a second API on every interface with
# --ws-max-per-address 3; clients from this host's own non-loopback address
# get 3, the 4th is refused, loopback is not limited, and a closed one frees
# its place.
HOSTIP=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
[ -n "$HOSTIP" ] || fail "this host has no IPv4 address but loopback: the per-address limit cannot be tried"
P2=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$T" api --shm-path "$SHM" --listen "0.0.0.0:$P2" --ws-max-per-address 3 --data-dir "" \
  --portfolio "$D/p2.json" 2> "$D/api2.log" &
API2=$!
$PY - "$HOSTIP" "$P2" <<'PY' || { kill $API2; cat "$D/api2.log" >&2; fail "--ws-max-per-address"; }
import asyncio, socket, sys, time, websockets
ip, port = sys.argv[1], int(sys.argv[2])
for _ in range(200):
    try:
        socket.create_connection((ip, port), timeout=1).close()
        break
    except OSError:
        time.sleep(0.05)
async def main():
    held = [await websockets.connect(f"ws://{ip}:{port}/ws") for _ in range(3)]
    try:
        await websockets.connect(f"ws://{ip}:{port}/ws")
        raise SystemExit("a 4th connection from one address was accepted")
    except (websockets.InvalidHandshake, EOFError, OSError):
        pass
    local = [await websockets.connect(f"ws://127.0.0.1:{port}/ws") for _ in range(5)]
    await held[0].close()
    await asyncio.sleep(0.2)
    held[0] = await websockets.connect(f"ws://{ip}:{port}/ws")
    for c in held + local:
        await c.close()
asyncio.run(main())
print(f"stream: --ws-max-per-address 3: 3 from {ip}, the 4th refused, 5 from loopback, a closed one's place taken again")
PY
kill $API2; wait $API2 2>/dev/null
"$T" tail ticks.0 --from-start --no-follow --shm-path "$SHM" > "$D/tail.jsonl" 2>"$D/tail.err" \
  || fail "tickd tail: $(cat "$D/tail.err")"
$PY - "$D" "$COUNT" <<'PY' || fail "stream contents"
import json, sys
d, count = sys.argv[1], int(sys.argv[2])
tail = [json.loads(l) for l in open(f"{d}/tail.jsonl")]
trades = [t for t in tail if "price" in t]
assert len(trades) == count, (len(trades), count)
by_seq = {t["seq"]: t for t in trades}
def frames(name):
    return [json.loads(l) for l in open(f"{d}/{name}")]
def check(name, want_sym):
    got = [m["data"] for fr in frames(name) for m in fr if m.get("channel") == "trades"]
    assert got, f"{name}: no trades"
    first = got[0]["seq"]
    want = [t for t in trades if t["seq"] >= first and (want_sym is None or t["symbol"] == want_sym)]
    assert got == want, f"{name}: {len(got)} trades, tail has {len(want)} from seq {first}; first difference at " + \
        str(next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want))))
    gaps = [m for fr in frames(name) for m in fr if m.get("type") == "gap"]
    assert not gaps, gaps
    return got
allt = check("all.txt", None)
assert len(allt) >= 100000 * count // 120000, f"only {len(allt)} trades reached the '*' client"
one = check("one.txt", "AAPL")
quotes = [m["data"] for fr in frames("one.txt") for m in fr if m.get("channel") == "quotes"]
assert quotes and all(q["symbol"] == "AAPL" for q in quotes), quotes[:3]
assert quotes[-1]["seq"] == one[-1]["seq"] and quotes[-1]["price"] == one[-1]["price"], (quotes[-1], one[-1])
# Finnhub's frames: {"type":"trade","data":[{"s","p","t","v","c"}]} of MSFT, every one from the first.
fh = [t for fr in frames("fh.txt") if fr.get("type") == "trade" for t in fr["data"]]
assert fh and all(t["s"] == "MSFT" for t in fh), fh[:3]
ms = [t for t in trades if t["symbol"] == "MSFT"]
start = next(i for i, t in enumerate(ms) if t["ts"] == fh[0]["t"] and t["price"] == fh[0]["p"])
want = [{"s": "MSFT", "p": t["price"], "t": t["ts"], "v": t["size"], "c": None} for t in ms[start:]]
assert fh == want, (len(fh), len(want))
print(f"stream: '*' got {len(allt)} trades, AAPL {len(one)} (+{len(quotes)} quotes), Finnhub MSFT {len(fh)}: "
      f"each equal to tickd tail from its first, in order")
PY
# The stream's counters in /metrics: what the clients got, the refusals.
sleep 0.3 # the main loop publishes every 50 ms
curl -sf "http://127.0.0.1:$PORT/metrics" > "$D/metrics.txt" || fail "GET /metrics"
$PY - "$D" <<'PY' || fail "the stream's metrics"
import json, sys
d = sys.argv[1]
m = {}
for l in open(f"{d}/metrics.txt"):
    if l.startswith("tickd_api_ws_") and '{role="api"}' in l:  # the run's API, not the second one
        name, v = l.split("{")[0], float(l.rsplit(" ", 1)[1])
        m[name] = v
got = sum(1 for n in ("one.txt", "all.txt") for l in open(f"{d}/{n}") for x in json.loads(l) if "channel" in x)
got += sum(len(json.loads(l).get("data", [])) for l in open(f"{d}/fh.txt"))
assert m["tickd_api_ws_clients"] == 0, m
assert m["tickd_api_ws_messages_total"] >= got, (m, got)
assert m["tickd_api_ws_bad_messages_total"] >= 1011, m  # 8 malformed, a binary frame, the floods
assert m["tickd_api_ws_refused_total"] >= 1, m       # /nope (the http-subprotocol ones are not the stream's; the 4th is the second API's)
assert m["tickd_api_ws_gaps_total"] == 0 and m["tickd_api_ws_closed_slow_total"] == 0, m
print(f"stream: /metrics counts {m['tickd_api_ws_messages_total']:.0f} messages (the clients got {got}), "
      f"{m['tickd_api_ws_bad_messages_total']:.0f} bad messages, {m['tickd_api_ws_refused_total']:.0f} refused")
PY
echo "PASS: ws"
