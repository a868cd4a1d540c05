#!/usr/bin/env bash
# `make run`: tickd run, the embedded default, on the synthetic market in
# real time (Ctrl-C stops it).  Without a terminal it runs for 5 seconds
# and shows what it made.
set -euo pipefail
B=${1:-build}
export TICKD_SHM_PATH=${TICKD_SHM_PATH:-/dev/shm/tickd}
if [ -t 0 ] && [ -t 1 ]; then
  exec "$B/tickd" run --start now --rate 5000
fi
"$B/tickd" run --fresh --start now --rate 5000 --duration 5
"$B/tickd" stats
"$B/tickd" tail bars.1s --count 3 --no-follow
