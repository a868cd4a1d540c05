#!/usr/bin/env bash
# `make run` until `tickd run` lands (issue 3): create the segment, start
# an engine worker and the synthetic feed in real time, and watch them with
# `tickd top`
# (q or Ctrl-C stops everything).  Without a terminal it shows three frames
# and the last trades, then stops.
set -euo pipefail
B=${1:-build}
export TICKD_SHM_PATH=${TICKD_SHM_PATH:-/dev/shm/tickd}

"$B/tickd" init --fresh
"$B/tickd" engine &
epid=$!
"$B/tickd" feed --source synth --start now --rate 5000 --symbols 8 &
wpid=$!
trap 'kill $wpid $epid 2>/dev/null || true; wait $wpid $epid 2>/dev/null || true' EXIT
echo "synthetic feed writing into $TICKD_SHM_PATH (pid $wpid); in another terminal try:"
echo "  $B/tickd tail ticks.0   $B/tickd tail bars.1s   $B/tickd tail signals   $B/tickd top"
sleep 1
if [ -t 0 ] && [ -t 1 ]; then
  "$B/tickd" top
else
  "$B/tickd" top --iterations 3
  "$B/tickd" tail --count 5 --no-follow
  sleep 3
  "$B/tickd" tail bars.1s --count 3 --no-follow
fi
