#!/usr/bin/env bash
# Runtime subscriptions of the Finnhub feed through its control ring, against
# the mock (issue 8's regressions):
#  - symbol validation: `tickd subscribe` refuses a name the symbol rule
#    refuses (exit 2, one line naming it, nothing sent), and the feed refuses,
#    counts and logs a bad request another program wrote into the ring,
#    and goes on;
#  - swap-remove indices: after an unsubscribe, "too many symbols" refuses the
#    newest subscribe, and a reconnect subscribes exactly the accepted ones.
# usage: fh_ctl_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
INJECT=$B/tests/system/ctl_inject
P=/dev/shm/tickd-ctl-test-$$
export TICKD_SHM_PATH=$P
TOKEN=ctl-tok-$$
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; sleep 0.3; rm -rf "$P" "$P".*' EXIT
. "$(dirname "$0")/lib.sh"

stats() { "$T" stats --json --interval 1 | python3 -c "import json,sys; f=json.load(sys.stdin)['feeds'][0]; print(f$1)"; }
wait_for() { # wait_for SECONDS CONDITION...
  local until=$(( $(date +%s%N) + ${1}000000000 ))
  shift
  while ! eval "$@"; do
    [ "$(date +%s%N)" -lt $until ] || return 1
    sleep 0.05
  done
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# symbols_between FROM_MS TO_MS: the symbols of the trades in the tick log
# stamped in [FROM, TO), sorted, comma-separated.
symbols_between() {
  "$T" tail ticks.0 --from-start --no-follow | python3 -c '
import json, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
print(",".join(sorted({r["symbol"] for r in map(json.loads, sys.stdin)
                       if "symbol" in r and lo <= r["ts"] < hi})))' "$1" "$2"
}

"$T" init --fresh > /dev/null

# --- 1. tickd subscribe refuses a bad symbol: exit 2, one line, nothing sent ---
for bad in 'AAPL","type":"unsubscribe' $'A\nB' 'A\B' '' 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345' $'\xff'; do
  rc=0
  "$T" subscribe TSLA "$bad" 2> "$P.sub.err" || rc=$?
  [ "$rc" -eq 2 ] || fail "tickd subscribe of a bad symbol exited $rc, not 2: $(cat "$P.sub.err")"
  [ "$(wc -l < "$P.sub.err")" -eq 1 ] || fail "not one line: $(cat "$P.sub.err")"
  grep -q '^tickd: subscribe: ".*" is not a symbol: it ' "$P.sub.err" ||
    fail "the message does not name the argument: $(cat "$P.sub.err")"
done
want="tickd: subscribe: \"AAPL\\\",\\\"type\\\":\\\"unsubscribe\" is not a symbol: it holds '\"' at byte 5"
got=$("$T" subscribe 'AAPL","type":"unsubscribe' 2>&1 || true)
[ "${got%% (*}" = "$want" ] || fail "the injection is not named as it was given: $got"
rc=0
"$T" unsubscribe $'A\tB' 2> /dev/null || rc=$?
[ "$rc" -eq 2 ] || fail "tickd unsubscribe of a bad symbol exited $rc"

# --- 2. A key allowing 3 symbols; unsubscribe, subscribe, refused, reconnect ----
"$T" mock-finnhub --port 0 --token "$TOKEN" --rate 800 --ping-ms 300 --max-symbols 3 \
  --drop-every 9000 > "$P.mock.out" 2> "$P.mock.err" &
pids+=($!)
wait_for 5 'grep -q listening "$P.mock.out" 2>/dev/null' || fail "the mock did not start: $(cat "$P.mock.err")"
port=$(grep -o '127.0.0.1:[0-9]*' "$P.mock.out" | cut -d: -f2)
FINNHUB_API_TOKEN=$TOKEN "$T" feed --source finnhub --symbol-list AAPL,MSFT,AMZN,NVDA \
  --url "ws://127.0.0.1:$port" 2> "$P.feed.log" &
fpid=$!
pids+=($fpid)
wait_for 10 'grep -q "Finnhub refused NVDA: too many symbols" "$P.feed.log"' ||
  fail "NVDA, the 4th of 3, was not refused: $(tail -3 "$P.feed.log")"
"$T" unsubscribe AAPL || fail "tickd unsubscribe AAPL"
wait_for 5 'grep -q "unsubscribe AAPL (requested" "$P.feed.log"' || fail "the feed did not take the unsubscribe"
"$T" subscribe GOOGL || fail "tickd subscribe GOOGL"
wait_for 5 'grep -q "subscribe GOOGL (requested" "$P.feed.log"' || fail "the feed did not take the subscribe"
sleep 0.3
"$T" subscribe META || fail "tickd subscribe META"
wait_for 5 '[ "$(grep -c "Finnhub refused" "$P.feed.log")" -ge 2 ]' || fail "META was not refused"
grep "Finnhub refused" "$P.feed.log" | tail -1 | grep -q "Finnhub refused META: too many symbols" ||
  fail "the wrong symbol was marked refused: $(grep "Finnhub refused" "$P.feed.log" | tail -1)"
[ "$(stats '["subscribed"]')" -eq 3 ] || fail "subscribed $(stats '["subscribed"]'), not 3"
t0=$(( $(now_ms) + 300 ))
sleep 1.3
t1=$(now_ms)
got=$(symbols_between $t0 $t1)
[ "$got" = "AMZN,GOOGL,MSFT" ] || fail "trades before the drop for $got, not AMZN,GOOGL,MSFT"
# The mock drops the connection: the feed subscribes the accepted ones again.
wait_for 12 'grep -q "reconnected to 127.0.0.1" "$P.feed.log"' || fail "no reconnect: $(tail -3 "$P.feed.log")"
t0=$(( $(now_ms) + 500 ))
sleep 1.5
t1=$(now_ms)
got=$(symbols_between $t0 $t1)
[ "$got" = "AMZN,GOOGL,MSFT" ] || fail "trades after the reconnect for $got, not AMZN,GOOGL,MSFT"
[ "$(stats '["subscribe_rejected"]')" -eq 2 ] || fail "subscribe_rejected $(stats '["subscribe_rejected"]'), not 2"
! grep -q "subscribe TSLA" "$P.feed.log" || fail "a refused tickd subscribe sent its good symbol"

# --- 3. Bad requests written into the ring by another program ----------------
[ "$("$INJECT" "$P" 0 rejected)" -eq 0 ] || fail "requests refused before any was bad"
"$INJECT" "$P" 0 raw 1 'AAPL","type":"unsubscribe' || fail "inject"
"$INJECT" "$P" 0 raw 1 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345' || fail "inject"
"$INJECT" "$P" 0 raw 2 $'MSFT\r\nX' || fail "inject"
"$INJECT" "$P" 0 raw 7 'AMZN' || fail "inject"
wait_for 5 '[ "$("$INJECT" "$P" 0 rejected)" -eq 4 ]' ||
  fail "ctl_rejected $("$INJECT" "$P" 0 rejected), not 4"
grep -qF 'control request 1 "AAPL\",\"type\":\"unsubscribe" from pid' "$P.feed.log" &&
  grep -q "refused: symbol holds '\"' at byte 5" "$P.feed.log" || fail "no precise message: $(tail -4 "$P.feed.log")"
grep -q 'refused: symbol fills its 32 bytes without a NUL' "$P.feed.log" || fail "no message for a 32-byte name"
grep -qF 'control request 2 "MSFT\u000d\u000aX" from pid' "$P.feed.log" || fail "a control character was logged raw"
grep -q 'refused: request type 7 is not subscribe' "$P.feed.log" || fail "no message for an unknown type"
[ "$(grep -c ' refused: ' "$P.feed.log")" -eq 4 ] || fail "not one line per refused request"
kill -0 $fpid || fail "the feed died"
grep -q "unsubscribe MSFT (requested" "$P.feed.log" && fail "a request with MSFT and a control character unsubscribed MSFT"
# ... and it still takes good ones.
"$T" unsubscribe MSFT || fail "tickd unsubscribe MSFT"
wait_for 5 'grep -q "unsubscribe MSFT (requested" "$P.feed.log"' || fail "the feed no longer takes requests"
[ "$(stats '["subscribed"]')" -eq 2 ] || fail "subscribed $(stats '["subscribed"]'), not 2"
kill $fpid; wait $fpid || true
echo "1 passed, 0 failed"
