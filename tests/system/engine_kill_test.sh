#!/usr/bin/env bash
# kill -9 the engine worker at random moments, 20 times, restarting it each
# time, while the feed writes: the bar and signal logs must equal those of
# an uninterrupted run, byte for byte (idempotent apply, DESIGN.md 5).
# usage: engine_kill_test.sh BUILD_DIR [KILLS]
set -euo pipefail
B=$1
KILLS=${2:-20}
T=$B/tickd
P=/dev/shm/tickd-engine-kill-$$
export TICKD_SHM_PATH=$P
trap 'kill ${fpid:-} ${epid:-} 2>/dev/null || true; rm -f "$P" "$P".*' EXIT
. "$(dirname "$0")/lib.sh"
# 150,000 trades over 8 symbols, 150 s of feed time; small rings so that
# checkpoints and gating come into play.  A killed engine is a dead gating
# reader: if the feed fills the ring before the engine is back, the feed
# releases it (DESIGN.md 3) and the bars rightly differ.  The ring holds
# 16384 trades, 0.65 s at speed 25; a sanitizer build restarts slowly on a
# loaded machine, so there the feed goes at speed 8 (2 s of ring).
if [ "${TICKD_TEST_SCALE:-}" = small ]; then SPEED=8; else SPEED=25; fi
feed() { "$T" feed --source synth --seed 11 --count 150000 --rate 1000 --speed "$1" 2>>"$P.feedlog"; }
init() { "$T" init --fresh --slots 16384 --bar-slots 8192 >/dev/null; }

# The engine registers its cursor before the feed writes: nothing is lost.
engine_registered() {
  for _ in $(seq 1 200); do
    "$T" stats | grep -q "reader engine.0" && return 0
    sleep 0.02
  done
  fail "the engine did not register"
}

init
"$T" engine --exit-at-end 2>/dev/null &
epid=$!
engine_registered
feed max
wait $epid
dump > "$P.want"

init
kills=0
RANDOM=7
first=1
while :; do
  "$T" engine --exit-at-end 2>>"$P.log" &
  epid=$!
  if [ $first -eq 1 ]; then
    engine_registered
    feed $SPEED &       # about 6 s of wall time (19 s at speed 8)
    fpid=$!
    first=0
  fi
  sleep "0.$(printf '%02d' $((RANDOM % 25 + 3)))"
  if [ $kills -lt "$KILLS" ] && kill -9 $epid 2>/dev/null; then
    wait $epid 2>/dev/null || true
    kills=$((kills + 1))
    continue
  fi
  wait $epid || fail "the engine failed: $(tail -3 "$P.log")"
  break
done
wait $fpid
[ $kills -eq "$KILLS" ] || fail "only $kills kills happened before the run ended (make the feed slower)"
dump > "$P.got"
if grep -q "released gating reader" "$P.feedlog"; then
  fail "the feed released the killed engine before it was back (the test's ring is too small for this machine): $(grep "released gating reader" "$P.feedlog" | head -2)"
fi
cmp -s "$P.want" "$P.got" || fail "after $kills kills the logs differ: $(diff "$P.want" "$P.got" | head -6)"
grep -q "differed" "$P.log" && grep "differed" "$P.log" | grep -v " 0 differed" && fail "a replay differed"
echo "$kills kills, $(grep -c '"window_start"' "$P.got") bars identical to the uninterrupted run"
echo "1 passed, 0 failed"
