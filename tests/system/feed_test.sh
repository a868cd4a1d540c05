#!/usr/bin/env bash
# The synthetic feed as a process: deterministic whatever the speed, an
# end-of-stream heartbeat, symbols in the table, clear refusals.
# usage: feed_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
P=/dev/shm/tickd-feed-test-$$
export TICKD_SHM_PATH=$P
trap 'rm -f "$P" "$P".*' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

run() { # seed speed -> the log as JSON
  "$T" init --fresh --slots 65536 >/dev/null
  "$T" feed --source synth --seed "$1" --count 20000 --rate 10000 --speed "$2" 2>/dev/null
  "$T" tail --from-start --no-follow --heartbeats
}
run 7 max > "$P.a"
run 7 50 > "$P.b"
run 8 max > "$P.c"
[ "$(grep -c '"symbol"' "$P.a")" -eq 20000 ] || fail "not 20000 trades"
cmp -s "$P.a" "$P.b" || fail "the same seed at another speed gave other records"
cmp -s "$P.a" "$P.c" && fail "another seed gave the same records"
tail -1 "$P.a" | grep '"type":"heartbeat".*"end":true' >/dev/null || fail "no end-of-stream heartbeat"
# Heartbeats every 100 ms of feed time: 2 s of trades at 10000/s.
n=$(grep -c '"type":"heartbeat"' "$P.a")
[ "$n" -ge 19 ] && [ "$n" -le 22 ] || fail "$n heartbeats for 2 s of feed time"
"$T" info | grep "symbols   8 of" >/dev/null || fail "8 symbols not in the table"

set +e
out=$("$T" feed --source finnhubx 2>&1); rc=$?
set -e
[ $rc -eq 2 ] && printf '%s' "$out" | grep -- "--source" >/dev/null || fail "bad source: $rc $out"
set +e; "$T" feed --source synth --symbols 0 >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 2 ] || fail "--symbols 0 exits $rc"
echo "1 passed, 0 failed"
