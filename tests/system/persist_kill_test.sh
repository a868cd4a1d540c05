#!/usr/bin/env bash
# kill -9 of the journal, KILLS times at random moments, under `tickd run`
# while a paced feed writes and the engine closes bars.  The supervisor
# restarts it; the restarted journal recovers its newest files (a torn tail
# is kept aside and zeroed) and resumes where its data ends.  Afterwards,
# for every log, what `tickd export` reads from the journal must equal what
# `tickd tail --from-start` reads from the segment, byte for byte (the same
# records, sequence numbers included: nothing lost, nothing twice, the same
# order), and `tickd journal verify` finds nothing wrong.
# usage: persist_kill_test.sh BUILD_DIR [KILLS]
set -euo pipefail
B=$1
T=$B/tickd
P=/dev/shm/tickd-pkill-$$
W=$(mktemp -d)
D=$W/journal
trap 'pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT
. "$(dirname "$0")/lib.sh"

if [ "${TICKD_TEST_SCALE:-}" = small ]; then KILLS=${2:-8}; SECONDS_OF_FEED=12; else KILLS=${2:-50}; SECONDS_OF_FEED=50; fi
RATE=20000

"$T" run --fresh --shm-path "$P" --data-dir "$D" --seed 9 --symbols 20 --rate $RATE \
  --count $((RATE * SECONDS_OF_FEED)) --speed 1 --exit-at-end > /dev/null 2> "$W/run.log" &
run=$!
t0=$(date +%s)
kills=0
RANDOM=23
while kill -0 $run 2>/dev/null && [ $kills -lt "$KILLS" ]; do
  # 0.45-0.84 s apart: a restart (0.1 s after a kill) has run past the
  # supervisor's quick-restart window (0.25 s) when it is killed, so each
  # restart comes after the base delay; the kills end well before the feed.
  sleep "0.$((RANDOM % 40 + 45))"
  pid=$(pgrep -f -- "tickd persist --shm-path $P " || true)
  [ -n "$pid" ] && kill -9 $pid 2>/dev/null && kills=$((kills + 1))
done
# The last restarted journal must see the end of the run (and drain it).
kill -0 $run 2>/dev/null || fail "the run ended with the kills, $kills of them (make it longer)"
wait $run || fail "tickd run failed after $kills journal kills: $(grep -E 'error|giving up' "$W/run.log" | tail -3)"
[ $kills -eq "$KILLS" ] ||
  fail "the run ended after only $kills journal kills in $(( $(date +%s) - t0 )) s (make it longer)"
restarts=$(grep -c "persist (pid [0-9]*) was killed by signal 9" "$W/run.log" || true)
[ "$restarts" -eq "$KILLS" ] || fail "the supervisor saw $restarts journal kills, not $KILLS"

for l in $("$T" info --shm-path "$P" | awk '$1 == "log" {print $2}'); do
  case $l in
  ticks.*) stream=ticks; extra=--heartbeats ;;
  *) stream=$l; extra= ;;
  esac
  # shellcheck disable=SC2086
  "$T" tail "$l" --shm-path "$P" --from-start --no-follow $extra > "$W/want.$l"
  # shellcheck disable=SC2086
  "$T" export "$stream" --data-dir "$D" $extra > "$W/got.$l" ||
    fail "tickd export $stream failed: $(tail -2 "$W/got.$l")"
  [ -s "$W/want.$l" ] || fail "$l is empty: the run wrote nothing?"
  cmp -s "$W/want.$l" "$W/got.$l" ||
    fail "$l: the journal differs from the log after $kills kills: $(diff "$W/want.$l" "$W/got.$l" | head -4)"
done
# The ring still holds the whole run: the oldest tick is sequence 1.
head -1 "$W/want.ticks.0" | grep -q '"seq":1}' || fail "the tick log does not start at 1"
"$T" journal verify --data-dir "$D" --quiet > "$W/verify.out" ||
  fail "tickd journal verify: $(head -5 "$W/verify.out")"
torn=$(grep -c "torn tail of" "$W/run.log" || true)
# Startup does not grow with the journal: each restart read at most the
# writer's window past the index, however much was on disk: its block slots,
# 4 per buffer (8): a block written but not yet durable is not indexed yet.
most=$(grep -o "recovery read [0-9]* blocks" "$W/run.log" | awk '{ if ($3 > m) m = $3 } END { print m + 0 }')
[ "$(grep -c "recovery read" "$W/run.log")" -ge "$KILLS" ] || fail "the restarts did not say what recovery read"
[ "$most" -le 32 ] || fail "a restart read $most blocks past the index (the window is 32)"
echo "$kills journal kills in $(( $(date +%s) - t0 )) s; $(grep -c '"price"' "$W/got.ticks.0") ticks," \
     "$(cat "$W"/got.bars.* | grep -c '"window_start"') bars, $(grep -c '"type"' "$W/got.signals") signals" \
     "in the journal equal the logs; $torn torn tails kept aside and zeroed; recovery read at most $most blocks past the index; verify: $(tail -1 "$W/verify.out")"
echo "1 passed, 0 failed"
