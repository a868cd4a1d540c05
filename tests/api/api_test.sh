#!/usr/bin/env bash
# tickd api against a running `tickd run` (issue 11): every endpoint's answer
# compared with what `tickd tail`, `tickd export` and an independent
# computation of the live state give, across the boundary between shared
# memory and the journal; hostile requests; a thousand idle keep-alive
# connections.
#
# The segment is made with short bar histories (1s: 40 bars) and small bar
# logs (512 slots), so most of a symbol's bars are only in the journal and
# every history answer crosses the boundary.
#
# usage: api_test.sh BUILD_DIR SOURCE_DIR [synth|replay]
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
MODE=${3:-synth}
T=$B/tickd
. "$S/tests/system/lib.sh"
D=$(mktemp -d /tmp/tickd-api-test.XXXXXX)
SHM=/dev/shm/tickd-api-test-$$
export TICKD_SHM_PATH=$SHM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUN=
cleanup() {
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null
  rm -f "$SHM" "$SHM".*
  rm -rf "$D"
}
trap cleanup EXIT
cd "$D" || exit 1

# 8 symbols from 2023-11-14 22:13 UTC for 4 hours of feed time (a UTC
# midnight inside), as fast as the engine takes them.
# (TICKD_TEST_SCALE=small, the sanitizer builds: a quarter of the trades
# over the same hours.)
COUNT=${TICKD_API_TEST_COUNT:-$([ "${TICKD_TEST_SCALE:-}" = small ] && echo 100000 || echo 400000)}
RATE=$((COUNT / 14400))
START=1700000000
"$T" init --history-depth 1s=40,1m=30,5m=10,1h=3 --bar-slots 512 >/dev/null || fail "tickd init"
if [ "$MODE" = replay ]; then
  # Raw Finnhub trade messages across the same hours (the replay paces by
  # trade time; --speed max takes them as fast as it can), a few trades late
  # as real feeds deliver them, a symbol with a colon.
  python3 - "$D/raw.jsonl" $((COUNT / 2)) $START <<'PY'
import json, random, sys
random.seed(5)
syms = ["AAPL", "MSFT", "AMZN", "NVDA", "TSLA", "META", "BINANCE:BTCUSDT", "GOOG"]
px = {s: 100.0 + 37 * i for i, s in enumerate(syms)}
t = int(sys.argv[3]) * 1000
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        t += random.randint(1, 2 * 4 * 3600 * 1000 // int(sys.argv[2]))
        data = []
        for _ in range(random.randint(1, 3)):
            s = random.choice(syms)
            px[s] = round(px[s] * (1 + random.gauss(0, 0.0005)), 2)
            data.append({"s": s, "p": px[s], "t": t - random.choice([0, 0, 0, 0, 300, 1500]),
                         "v": random.randint(1, 500)})
        f.write(json.dumps({"type": "trade", "data": data}, separators=(",", ":")) + "\n")
PY
  SRC=(--source "replay:$D/raw.jsonl")
else
  SRC=(--seed 11 --symbols 8 --rate $RATE --count "$COUNT" --start $START)
fi
"$T" run "${SRC[@]}" --speed max --data-dir "$D/data" --listen "127.0.0.1:$PORT" \
  >"$D/run.log" 2>&1 &
RUN=$!

# Wait until the feed has ended, the engine has drained it and the journal
# holds everything: every reader's lag 0 and the feed gone.
ok=
for _ in $(seq 1 600); do
  sleep 0.5
  if grep -q "feed finished" "$D/run.log" &&
     "$T" stats --json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if all(r["lag"] == 0 for l in s["logs"] for r in l["readers"]) else 1)'; then
    ok=1
    break
  fi
done
[ -n "$ok" ] || { cat "$D/run.log" >&2; fail "the run did not finish and drain in 300 s"; }
sleep 0.5 # the API's index follows within a millisecond

# What the API must agree with.
"$T" tail ticks.0 --from-start --no-follow | python3 "$S/tests/system/quote_ref.py" >"$D/quotes.json" ||
  fail "quote_ref"
for s in bars.1s bars.1m bars.5m bars.1h signals; do
  "$T" export "$s" --data-dir "$D/data" >"$D/export.$s.jsonl" || fail "tickd export $s"
  "$T" tail "$s" --from-start --no-follow >"$D/tail.$s.jsonl" || fail "tickd tail $s"
done

# /health's engine entries: seq is the last record applied, seq + lag the
# log's head (the live page waits on it): drained, both the log's write seq.
"$T" stats --json > "$D/stats.json" || fail "tickd stats --json"
curl -s "http://127.0.0.1:$PORT/health" > "$D/health.json" || fail "GET /health"
python3 - "$D/stats.json" "$D/health.json" <<'PY' || fail "/health: engine seq and lag"
import json, sys
st, h = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
head = {l["name"]: l["write_seq"] for l in st["logs"]}
assert h["engine"], h
for e in h["engine"]:
    assert e["seq"] == head[e["log"]] and e["lag"] == 0, (e, head[e["log"]])
PY
python3 "$S/tests/api/api_check.py" "127.0.0.1:$PORT" "$D" || { tail -20 "$D/run.log" >&2; fail "api_check"; }
grep -E "api\[[0-9]+\].*(error|killed)|api .* was killed" "$D/run.log" && fail "the API logged errors or crashed"

# The OpenAPI document as the API serves it, checked by an independent validator.
curl -sf "http://127.0.0.1:$PORT/openapi.json" > "$D/openapi.json" || fail "GET /openapi.json"
REDOCLY_TELEMETRY=off NO_UPDATE_NOTIFIER=1 "$S/api/web/node_modules/.bin/redocly" lint "$D/openapi.json" \
  > "$D/lint.txt" 2>&1 || { cat "$D/lint.txt" >&2; fail "redocly lint of /openapi.json"; }
grep -q "Your API description is valid" "$D/lint.txt" || { cat "$D/lint.txt" >&2; fail "redocly lint"; }
echo "openapi.json: redocly lint: valid"

# /metrics: clean for promtool, and its numbers are the run's.
sleep 0.2 # the API publishes its own counters every 50 ms
curl -sf "http://127.0.0.1:$PORT/metrics" > "$D/metrics.txt" || fail "GET /metrics"
promtool check metrics < "$D/metrics.txt" || fail "promtool check metrics: $(promtool check metrics < "$D/metrics.txt" 2>&1 | head -5)"
python3 - "$D/metrics.txt" "$COUNT" "$MODE" <<'PY' || fail "/metrics values"
import re, sys
text, count, mode = open(sys.argv[1]).read(), int(sys.argv[2]), sys.argv[3]
def val(name, **labels):
    for line in text.splitlines():
        m = re.match(r'^([a-z_]+)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(3) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(4))
    raise SystemExit(f"no sample {name} {labels}")
trades = val("tickd_feed_trades_total", feed="0")
if mode == "synth":
    assert trades == count, (trades, count)
assert val("tickd_engine_ticks_total", role="engine.0") == trades, "engine ticks != feed trades"
assert val("tickd_engine_bars_total", role="engine.0") > 0
assert val("tickd_journal_records_total", role="persist") > trades
assert val("tickd_reader_lag", log="ticks.0", reader="persist") == 0
assert val("tickd_reader_lag", log="ticks.0", reader="engine.0") == 0
assert val("tickd_api_requests_total", role="api", code="4xx") >= 100, "the hostile requests"
assert val("tickd_api_requests_total", role="api", code="2xx") > 1000
assert val("tickd_role_up", role="persist") == 1 and val("tickd_role_up", role="api") == 1
assert val("websocket_connected", feed="0") == 0, "the feed has finished"
assert val("tickd_api_request_seconds_count", role="api") > 1000
print(f"/metrics: promtool clean; {int(trades)} trades fed = applied; journal lag 0")
PY

# Rate limiting: a second API on the same segment limiting loopback too, 5 a
# second with bursts of 10: ten answered, then 429 with Retry-After and the
# RateLimit fields, and answers again a second later.
P2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$T" api --listen "127.0.0.1:$P2" --data-dir "" --portfolio "$D/p2.json" --rate-limit 5 \
  --rate-burst 10 --rate-limit-loopback --max-connections 8 2>"$D/api2.log" &
API2=$!
python3 - "$P2" <<'PY' || { kill $API2; fail "rate limiting"; }
import http.client, sys, time
port = int(sys.argv[1])
for _ in range(100):
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).connect()
        break
    except OSError:
        time.sleep(0.05)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
got = []
for i in range(14):
    c.request("GET", "/api/v1/ping")
    r = c.getresponse()
    r.read()
    got.append((r.status, r.getheader("RateLimit-Remaining"), r.getheader("Retry-After")))
assert [g[0] for g in got] == [200] * 10 + [429] * 4, got
assert got[0][1] == "9" and got[9][1] == "0", got
assert got[10][2] == "1" and r.getheader("RateLimit-Limit") == "10", got
assert r.getheader("Content-Type") == "application/problem+json"
time.sleep(1.1)
c.request("GET", "/api/v1/ping")
r = c.getresponse()
r.read()
assert r.status == 200, r.status
print("rate limit: 10 answered, then 429 with Retry-After 1; answered again after 1 s")
PY
kill $API2; wait $API2 2>/dev/null

# TLS: a third API with a certificate made here answers https:// the same
# bytes as the first one answers http://, keeps the connection alive, and
# refuses plain HTTP on its port without stopping.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$D/tls.key" -out "$D/tls.crt" 2>/dev/null \
  || fail "openssl req (the test certificate)"
P3=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$T" api --listen "127.0.0.1:$P3" --data-dir "" --portfolio "$D/p3.json" \
  --tls-cert "$D/tls.crt" --tls-key "$D/tls.key" 2>"$D/api3.log" &
API3=$!
python3 - "$PORT" "$P3" "$D/tls.crt" AAPL <<'PY' || { kill $API3; cat "$D/api3.log" >&2; fail "TLS"; }
import http.client, socket, ssl, sys, time
plain, port, cert, sym = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=cert)
for _ in range(200):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        break
    except OSError:
        time.sleep(0.05)
def fetch(c, path):
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read(), r
h = http.client.HTTPConnection("127.0.0.1", plain, timeout=10)
want = fetch(h, f"/quote/{sym}")
c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
got = fetch(c, f"/quote/{sym}")
assert got[:2] == want[:2], (got[:2], want[:2])
assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
sock = c.sock
for _ in range(100):  # one connection, kept alive
    st, b, r = fetch(c, "/api/v1/ping")
    assert st == 200 and not r.will_close and c.sock is sock, st
# Plain HTTP on the TLS port: no answer in the clear, no harm.
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
try:
    data = s.recv(4096)
except OSError:
    data = b""
assert b'"pong"' not in data, data[:100]
s.close()
# An untrusting client fails the handshake; the server goes on.
try:
    http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ssl.create_default_context()).request("GET", "/")
    raise SystemExit("a client without the certificate's CA completed a handshake")
except ssl.SSLError:
    pass
c2 = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
assert fetch(c2, "/api/v1/ping")[0] == 200
print(f"tls: {c.sock.version()}, /quote/{sym} over https = over http, 100 requests on one connection")
PY
# The stream over the same TLS port: wss://.../ws subscribes and is acknowledged.
/usr/bin/python3 - "$P3" "$D/tls.crt" <<'PY' || { kill $API3; cat "$D/api3.log" >&2; fail "wss"; }
import asyncio, json, ssl, sys, websockets
port, cert = int(sys.argv[1]), sys.argv[2]
async def main():
    async with websockets.connect(f"wss://127.0.0.1:{port}/ws", ssl=ssl.create_default_context(cafile=cert)) as ws:
        await ws.send(json.dumps({"action": "subscribe", "channels": ["trades"], "symbols": ["AAPL"]}))
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert m == [{"type": "subscribed", "channels": ["trades"], "symbols": ["AAPL"]}], m
asyncio.run(main())
print("tls: wss:// /ws subscribed and acknowledged on the same port")
PY
kill $API3; wait $API3 2>/dev/null
# A key that is not the certificate's: exit 2 at once, saying so (not a
# start retried every second).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other" -keyout "$D/other.key" \
  -out "$D/other.crt" 2>/dev/null || fail "openssl req (a second key)"
rc=0
timeout 20 "$T" api --listen "127.0.0.1:$P3" --data-dir "" --portfolio "$D/p4.json" \
  --tls-cert "$D/tls.crt" --tls-key "$D/other.key" 2>"$D/api4.log" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--tls-key: .*key values mismatch" "$D/api4.log" \
  || { cat "$D/api4.log" >&2; fail "a mismatched TLS key: exit $rc"; }
echo "tls: a key that is not the certificate's: exit 2, $(grep -o -- '--tls-key: [^(]*' "$D/api4.log")"
echo "PASS: api ($MODE)"
