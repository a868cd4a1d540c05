#!/usr/bin/env bash
# The Finnhub feed against the mock Finnhub server, over real WebSocket
# connections: subscriptions, drops and reconnects, bars checked against a
# reference computed from the recording, record then replay, runtime
# subscribe/unsubscribe, malformed and error messages, too many symbols,
# HTTP 401/429 at the upgrade, a silent connection, and the token never
# logged.
# usage: finnhub_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
B=$1
S=$2
T=$B/tickd
P=/dev/shm/tickd-fh-test-$$
export TICKD_SHM_PATH=$P
TOKEN=s3cr3t-tok-$$
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; sleep 0.3; rm -rf "$P" "$P".*' EXIT
. "$(dirname "$0")/lib.sh"

# start_mock NAME ARGS...: a mock server in the background; sets port.
start_mock() {
  local name=$1
  shift
  "$T" mock-finnhub --port 0 --token "$TOKEN" "$@" > "$P.$name.out" 2> "$P.$name.err" &
  pids+=($!)
  mpid=$!
  for _ in $(seq 1 100); do grep -q listening "$P.$name.out" 2>/dev/null && break; sleep 0.05; done
  port=$(grep -o '127.0.0.1:[0-9]*' "$P.$name.out" | cut -d: -f2)
  [ -n "$port" ] || fail "mock $name did not start: $(cat "$P.$name.err")"
}
stats() { "$T" stats --json --interval 1 | python3 -c "import json,sys; f=json.load(sys.stdin)['feeds'][0]; print(f$1)"; }
wait_for() { # wait_for SECONDS CONDITION...
  local until=$(( $(date +%s%N) + ${1}000000000 ))
  shift
  while ! eval "$@"; do
    [ "$(date +%s%N)" -lt $until ] || return 1
    sleep 0.1
  done
}

# --- A. A live run through the mock, dropped every 2.5 s ------------------------
start_mock a --rate 400 --ping-ms 300 --drop-every 2500 --symbols 20
FINNHUB_API_TOKEN=$TOKEN "$T" run --fresh --source finnhub --symbol-list AAPL,MSFT,NVDA \
  --url "ws://127.0.0.1:$port" --record "$P.rec" > "$P.run.out" 2> "$P.run.log" &
rpid=$!
pids+=($rpid)
wait_for 10 '[ -e "$P" ] && [ "$(stats "[\"trades\"]" 2>/dev/null || echo 0)" -gt 0 ]' ||
  fail "no trades from the mock: $(tail -5 "$P.run.log")"
"$T" subscribe AMZN || fail "subscribe"
sleep 1
"$T" unsubscribe MSFT || fail "unsubscribe"
t_unsub=$(( $(date +%s%N) / 1000000 ))
wait_for 15 '[ "$(stats "[\"reconnects\"]")" -ge 2 ]' || fail "fewer than 2 reconnects: $(tail -5 "$P.run.log")"
sleep 1.5
kill -TERM $rpid
wait $rpid || fail "tickd run exited non-zero"
for l in bars.1s bars.1m signals; do "$T" tail $l --from-start --no-follow > "$P.live.$l"; done
"$T" tail ticks.0 --from-start --no-follow --heartbeats > "$P.ticks"

# Back and resubscribed within 2 s of every drop.
grep -o 'reconnected to 127.0.0.1 after [0-9.]* s' "$P.run.log" > "$P.reconnects" ||
  fail "no reconnect logged"
awk '{ if ($5 >= 2.0) bad = 1 } END { exit bad }' "$P.reconnects" ||
  fail "a reconnect took 2 s or more: $(cat "$P.reconnects")"
python3 - "$P.ticks" "$t_unsub" <<'PY' || fail "ticks after the drops"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
t_unsub = int(sys.argv[2])
gaps = [r for r in recs if r.get("type") == "gap"]
trades = [r for r in recs if "symbol" in r]
assert len(gaps) >= 2, f"{len(gaps)} gap events"
assert {t["symbol"] for t in trades} <= {"AAPL", "MSFT", "NVDA", "AMZN"}, {t["symbol"] for t in trades}
assert any(t["symbol"] == "AMZN" for t in trades), "no AMZN after tickd subscribe"
late_msft = [t for t in trades if t["symbol"] == "MSFT" and t["ts"] > t_unsub + 500]
assert not late_msft, f"MSFT trades after tickd unsubscribe: {late_msft[:2]}"
for g in gaps:
    assert g["from"] <= g["to"] and g["symbols"] >= 3, g
    after = {t["symbol"] for t in trades if g["to"] <= t["ts"] <= g["to"] + 2000}
    want = {"AAPL", "NVDA"} | ({"AMZN"} if g["from"] > t_unsub else set())
    assert want <= after, f"after the gap {g}: only {after}"
PY
# The engine's bars equal bars computed from the recorded trades.
python3 "$S/tests/system/bars_ref.py" "$P.rec" 1 "$P.live.bars.1s" || fail "1 s bars differ from the reference"
[ "$(wc -l < "$P.live.bars.1s")" -ge 5 ] || fail "too few 1 s bars: $(wc -l < "$P.live.bars.1s")"
# The token appears in no log line.
! grep -q "$TOKEN" "$P.run.log" "$P.run.out" "$P".a.* "$P.rec" || fail "the token was logged"

# The quote endpoint, in Finnhub's schema.
python3 - "$port" "$TOKEN" <<'PY' || fail "GET /api/v1/quote"
import json, sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}/api/v1/quote?symbol=AAPL&token="
q = json.load(urllib.request.urlopen(base + sys.argv[2], timeout=5))
assert set(q) == {"c", "d", "dp", "h", "l", "o", "pc", "t"}, q
assert q["l"] <= q["c"] <= q["h"] and q["c"] > 0 and abs(q["d"] - (q["c"] - q["pc"])) < 1e-9, q
try:
    urllib.request.urlopen(base + "wrong", timeout=5)
    raise SystemExit("a wrong token was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 401, e.code
PY

# --- B. Replaying the recording gives the live run's bars ----------------------
"$T" run --fresh --source "replay:$P.rec" --speed max --exit-at-end > /dev/null 2> "$P.replay.log" ||
  fail "replay run: $(tail -3 "$P.replay.log")"
for l in bars.1s bars.1m signals; do
  "$T" tail $l --from-start --no-follow > "$P.replay.$l"
  n=$(wc -l < "$P.live.$l")
  # The live run stopped with windows still open; the replay's end closed them too.
  head -n "$n" "$P.replay.$l" | cmp -s - "$P.live.$l" ||
    fail "replayed $l differs from the live run's ($n lines): $(diff <(head -n "$n" "$P.replay.$l") "$P.live.$l" | head -4)"
done
# ... and every bar of the replay, the ones its end closed included, is right.
python3 "$S/tests/system/bars_ref.py" "$P.rec" 1 "$P.replay.bars.1s" || fail "replayed 1 s bars"
python3 "$S/tests/system/bars_ref.py" "$P.rec" 60 "$P.replay.bars.1m" || fail "replayed 1 m bars"

# --- C. Malformed and error messages, too many symbols ------------------------
start_mock c --rate 300 --ping-ms 300 --malformed-every 4 --error-every 400 --max-symbols 2
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL,MSFT,NVDA \
  --url "ws://127.0.0.1:$port" 2> "$P.c.log" &
fpid=$!
pids+=($fpid)
wait_for 10 '[ "$(stats "[\"invalid\"]" 2>/dev/null || echo 0)" -ge 3 ]' || fail "malformed messages not counted"
t1=$(stats '["trades"]')
sleep 1
t2=$(stats '["trades"]')
[ "$t2" -gt "$t1" ] || fail "trades stopped after malformed messages ($t1 -> $t2)"
[ "$(stats '["rejected_by"]["not_json"]')" -ge 3 ] || fail "not counted as not_json"
[ "$(stats '["errors"]')" -ge 2 ] || fail "error messages not counted"
[ "$(stats '["subscribe_rejected"]')" -eq 1 ] || fail "too-many-symbols not counted once"
[ "$(stats '["subscribed"]')" -eq 2 ] || fail "the accepted symbols are not kept"
grep -q "Finnhub refused NVDA: too many symbols" "$P.c.log" || fail "no clear too-many-symbols message"
kill -0 $fpid || fail "the feed died"
kill $fpid; wait $fpid || true

# --- D. HTTP 429 then accepted; HTTP 401 --------------------------------------
start_mock d --rate 100 --reject-429 1
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL \
  --url "ws://127.0.0.1:$port" 2> "$P.d.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "connected to 127.0.0.1" "$P.d.log"' || fail "no connection after a 429"
grep -q "HTTP 429" "$P.d.log" || fail "the 429 was not reported: $(cat "$P.d.log")"
# A feed killed and started again: its first connection writes the gap since
# the previous process's last message.
wait_for 10 '[ "$(stats "[\"trades\"]")" -gt 0 ]' || fail "no trades after the 429"
kill -9 $fpid; wait $fpid 2>/dev/null || true
sleep 0.5
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL \
  --url "ws://127.0.0.1:$port" 2> "$P.d3.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "reconnected to 127.0.0.1 after" "$P.d3.log"' || fail "a restarted feed did not report its gap"
"$T" tail ticks.0 --from-start --no-follow --heartbeats | python3 -c '
import json, sys
gaps = [r for r in map(json.loads, sys.stdin) if r.get("type") == "gap"]
assert len(gaps) == 1 and gaps[0]["to"] - gaps[0]["from"] >= 400, gaps' || fail "no gap event for the restart"
kill $fpid; wait $fpid || true
FINNHUB_API_TOKEN=wrong-$TOKEN "$T" feed --source finnhub --symbol-list AAPL \
  --url "ws://127.0.0.1:$port" 2> "$P.d2.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "refused the API key (HTTP 401)" "$P.d2.log"' || fail "no 401 message: $(cat "$P.d2.log")"
kill -0 $fpid || fail "the feed gave up on a 401"
kill $fpid; wait $fpid || true
! grep -q "$TOKEN" "$P.d.log" "$P.d2.log" || fail "the token was logged"

# --- E. A silent connection is replaced ----------------------------------------
start_mock e --rate 100 --ping-ms 200 --stall-after 800 --stall 2500
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL --silence 1 \
  --url "ws://127.0.0.1:$port" 2> "$P.e.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "no message from 127.0.0.1 for" "$P.e.log"' || fail "silence not detected"
wait_for 10 'grep -q "reconnected to 127.0.0.1" "$P.e.log"' || fail "no reconnect after the silence"
kill $fpid; wait $fpid || true
# --- E2. The mock serves a recording, per connection's subscriptions ----------
start_mock r --replay "$P.rec" --ping-ms 200
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list NVDA \
  --url "ws://127.0.0.1:$port" 2> "$P.r.log" &
fpid=$!
pids+=($fpid)
wait_for 15 '[ "$("$T" tail ticks.0 --from-start --no-follow | grep -c NVDA)" -ge 3 ]' ||
  fail "no NVDA trades from the mock's replay"
"$T" tail ticks.0 --from-start --no-follow | grep -q '"symbol":"AAPL"' && fail "AAPL was not subscribed"
kill $fpid; wait $fpid || true

# --- T. wss://: the certificate is verified, its name checked -------------------
( cd "$(dirname "$P")" && D=$(basename "$P").tls && mkdir -p "$D" && cd "$D" &&
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=tickd test CA" &&
  for name in localhost otherhost; do
    openssl req -newkey rsa:2048 -nodes -keyout $name.key -out $name.csr -subj "/CN=$name" &&
    printf 'subjectAltName=DNS:%s\n' $name > $name.ext &&
    openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $name.pem -days 2 \
      -extfile $name.ext
  done ) > /dev/null 2>&1 || fail "cannot make test certificates with openssl"
C=$P.tls
start_mock t --rate 200 --tls-cert "$C/localhost.pem" --tls-key "$C/localhost.key"
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN FINNHUB_CA_FILE="$C/ca.pem" "$T" feed --source finnhub --symbol-list AAPL \
  --url "wss://localhost:$port" 2> "$P.t.log" &
fpid=$!
pids+=($fpid)
wait_for 10 '[ "$(stats "[\"trades\"]")" -gt 0 ]' || fail "no trades over wss://: $(tail -3 "$P.t.log")"
kill $fpid; wait $fpid || true
# Not signed by a CA the system trusts: refused.
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL --url "wss://localhost:$port" \
  2> "$P.t2.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "unable to get local issuer certificate" "$P.t2.log"' || fail "an untrusted certificate was not refused"
kill $fpid; wait $fpid || true
# Signed by the trusted CA, but for another name: refused.
kill $mpid; wait $mpid 2>/dev/null || true
start_mock t3 --rate 200 --tls-cert "$C/otherhost.pem" --tls-key "$C/otherhost.key"
"$T" init --fresh > /dev/null
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL --ca-file "$C/ca.pem" \
  --url "wss://localhost:$port" 2> "$P.t3.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "hostname mismatch" "$P.t3.log"' || fail "a certificate for another name was not refused"
[ "$(stats '["trades"]')" -eq 0 ] || fail "trades over a connection to the wrong name"
kill $fpid; wait $fpid || true
rm -rf "$C"

# --- F. Two feeds at once, each into its own log; the worker consumes both -----
# Feed 1 replays the recording with every symbol renamed X:..., paced like feed 0.
python3 - "$P.rec" "$P.rec2" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        env = json.loads(line)
        msg = env.get("msg")
        if isinstance(msg, dict) and msg.get("type") == "trade":
            for t in msg["data"]:
                t["s"] = "X:" + t["s"]
            line = '{"recv_ts":%d,"msg":%s}\n' % (env["recv_ts"], json.dumps(msg, separators=(",", ":")))
        out.write(line)
PY
"$T" init --fresh --logs ticks.0,ticks.1 > /dev/null
"$T" engine --exit-at-end 2> "$P.f.eng" &
epid=$!
pids+=($epid)
wait_for 10 '"$T" stats --json | grep -q "engine.0"' || fail "the engine did not register"
"$T" feed --source "replay:$P.rec" --speed 4 2> "$P.f0.log" &
f0=$!
"$T" feed --source "replay:$P.rec2" --speed 4 --log ticks.1 --feed-id 1 2> "$P.f1.log" &
f1=$!
pids+=($f0 $f1)
wait $f0 || fail "feed 0"
wait $f1 || fail "feed 1"
wait $epid || fail "the engine with two feeds: $(tail -3 "$P.f.eng")"
"$T" tail bars.1s --from-start --no-follow > "$P.f.bars"
[ "$("$T" stats --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["feeds"]))')" -eq 2 ] ||
  fail "stats does not show two feeds"
python3 - "$P.f.bars" <<'PY' || fail "the two feeds' bars differ"
import json, sys
bars = [json.loads(l) for l in open(sys.argv[1])]
def key(b): return {k: v for k, v in b.items() if k not in ("symbol", "seq")}
a = {(b["symbol"], b["window_start"]): key(b) for b in bars if not b["symbol"].startswith("X:")}
x = {(b["symbol"][2:], b["window_start"]): key(b) for b in bars if b["symbol"].startswith("X:")}
assert a and a == x, f"{len(a)} bars of feed 0, {len(x)} of feed 1, differing: " + \
    str([k for k in a if a[k] != x.get(k)][:3])
PY

# --- G. --dedupe-window drops a message received twice within the window ------
python3 - "$P.rec" "$P.dup" <<'PY'
import json, sys
with open(sys.argv[2], "w") as out:
    for line in open(sys.argv[1]):
        env = json.loads(line)
        out.write(line)
        if isinstance(env.get("msg"), dict) and env["msg"].get("type") == "trade":
            out.write(line.replace('"recv_ts":%d' % env["recv_ts"], '"recv_ts":%d' % (env["recv_ts"] + 1000000), 1))
PY
ndup=$(( $(wc -l < "$P.dup") - $(wc -l < "$P.rec") ))
"$T" init --fresh > /dev/null
"$T" feed --source "replay:$P.dup" --speed max --dedupe-window 50 2> "$P.g.log" || fail "dedupe replay"
[ "$(stats '["duplicates"]')" -eq "$ndup" ] || fail "duplicates $(stats '["duplicates"]'), want $ndup"
once=$(stats '["trades"]')
"$T" init --fresh > /dev/null
"$T" feed --source "replay:$P.dup" --speed max 2> "$P.g2.log" || fail "replay without dedupe"
[ "$(stats '["trades"]')" -eq $(( 2 * once )) ] || fail "without the window every trade counts twice"

echo "1 passed, 0 failed"
