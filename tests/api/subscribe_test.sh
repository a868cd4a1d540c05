#!/usr/bin/env bash
# POST /subscriptions, /prices/poll and DELETE /subscriptions/{symbol} reach
# a live Finnhub feed through its control ring (issue 11): `tickd run
# --source finnhub` against the mock Finnhub server (the real protocol),
# the API answering 202 with what it sent; the feed subscribes and the
# trades of the new symbol arrive in the tick log, the removed one's stop.
# /health is ok while the feed is connected and 503 with the reason once
# the upstream is gone.
# usage: subscribe_test.sh BUILD_DIR SOURCE_DIR
set -u
B=$(cd "$1" && pwd)
S=$(cd "$2" && pwd)
T=$B/tickd
. "$S/tests/system/lib.sh"
D=$(mktemp -d /tmp/tickd-api-sub.XXXXXX)
export TICKD_SHM_PATH=/dev/shm/tickd-api-sub-$$
export TICKD_API_TOKEN=sub-token-$$
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
A=http://127.0.0.1:$PORT
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -f "$TICKD_SHM_PATH" "$TICKD_SHM_PATH".*
  rm -rf "$D"
}
trap cleanup EXIT
wait_for() { # wait_for SECONDS CONDITION...
  local until=$(( $(date +%s%N) + ${1}000000000 ))
  shift
  while ! eval "$@"; do
    [ "$(date +%s%N)" -lt $until ] || return 1
    sleep 0.1
  done
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
symbols_between() {
  "$T" tail ticks.0 --from-start --no-follow | python3 -c '
import json, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
print(",".join(sorted({r["symbol"] for r in map(json.loads, sys.stdin)
                       if "symbol" in r and lo <= r["ts"] < hi})))' "$1" "$2"
}
post() { # post PATH BODY [TOKEN] -> "STATUS BODY"
  curl -s -o "$D/out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Authorization: Bearer ${3:-$TICKD_API_TOKEN}" -d "$2" "$A$1"
  echo " $(cat "$D/out")"
}

"$T" mock-finnhub --port 0 --token mocktok --rate 400 --ping-ms 300 > "$D/mock.out" 2> "$D/mock.err" &
MOCK=$!
pids+=($MOCK)
wait_for 5 'grep -q listening "$D/mock.out" 2>/dev/null' || fail "the mock did not start: $(cat "$D/mock.err")"
mport=$(grep -o '127.0.0.1:[0-9]*' "$D/mock.out" | cut -d: -f2)
FINNHUB_API_TOKEN=mocktok "$T" run --fresh --source finnhub --symbol-list AAPL,MSFT \
  --url "ws://127.0.0.1:$mport" --data-dir "$D/data" --listen "127.0.0.1:$PORT" > "$D/run.log" 2>&1 &
pids+=($!)
wait_for 15 'curl -sf "$A/health" > "$D/health" 2>/dev/null' ||
  fail "/health did not become ok: $(curl -s "$A/health"); $(tail -5 "$D/run.log")"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert h["status"]=="ok" and h["feeds"][0]["connected"], h' \
  "$D/health" || fail "health: $(cat "$D/health")"

got=$(post /subscriptions '{"symbols":["NVDA"]}' wrong-token)
[ "${got%% *}" = 401 ] || fail "a subscription with a wrong token: $got"
got=$(post /subscriptions '{"symbols":["NVDA","BAD\"ONE"]}')
[ "${got%% *}" = 202 ] || fail "POST /subscriptions: $got"
echo "${got#* }" | python3 -c 'import json,sys; a=json.load(sys.stdin); assert a["sent"]==["NVDA"] and a["refused"][0]["symbol"]=="BAD\"ONE", a' ||
  fail "the 202 does not say what was sent: $got"
wait_for 10 'grep -q "subscribe NVDA (requested" "$D/run.log"' || fail "the feed did not take NVDA: $(tail -5 "$D/run.log")"
got=$(post /prices/poll '{"symbols":["AMZN"],"interval":60}')
[ "${got%% *}" = 202 ] || fail "POST /prices/poll: $got"
wait_for 10 'grep -q "subscribe AMZN (requested" "$D/run.log"' || fail "the feed did not take AMZN"
code=$(curl -s -o "$D/out" -w '%{http_code}' -X DELETE -H "Authorization: Bearer $TICKD_API_TOKEN" "$A/subscriptions/MSFT")
[ "$code" = 202 ] || fail "DELETE /subscriptions/MSFT: $code $(cat "$D/out")"
wait_for 10 'grep -q "unsubscribe MSFT (requested" "$D/run.log"' || fail "the feed did not drop MSFT"
sleep 0.5
t0=$(now_ms)
sleep 1.5
got=$(symbols_between "$t0" "$(now_ms)")
[ "$got" = "AAPL,AMZN,NVDA" ] || fail "trades after the changes for $got, not AAPL,AMZN,NVDA"
code=$(curl -s -o /dev/null -w '%{http_code}' "$A/quote/NVDA")
[ "$code" = 200 ] || fail "/quote/NVDA after its subscription: $code"

# The upstream goes away: /health says so (503, the reason), and comes back ok.
kill -STOP $MOCK
wait_for 20 '[ "$(curl -s -o "$D/h" -w "%{http_code}" "$A/health")" = 503 ]' ||
  fail "/health stayed $(curl -s -o /dev/null -w '%{http_code}' "$A/health") with the upstream stopped"
grep -q '"reason":"feed 0' "$D/h" || fail "/health 503 without the feed's reason: $(cat "$D/h")"
kill -CONT $MOCK
wait_for 30 'curl -sf "$A/health" > /dev/null' || fail "/health did not recover: $(curl -s "$A/health")"
echo "PASS: api subscriptions and health"
