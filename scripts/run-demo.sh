#!/usr/bin/env bash
# `make run`: tickd run, the embedded default (Ctrl-C stops it): Finnhub's
# live trades when FINNHUB_API_TOKEN is set (symbols from SYMBOLS), the
# synthetic market in real time otherwise, journaled to ./tickd-data
# (TICKD_DATA_DIR).  Without a terminal it runs for 5 seconds and shows what
# it made, live and from the journal.
set -euo pipefail
B=${1:-build}
export TICKD_SHM_PATH=${TICKD_SHM_PATH:-/dev/shm/tickd}
args=()
if [ -z "${FINNHUB_API_TOKEN:-${FINNHUB_API_KEY:-${FINNHUB_TOKEN:-}}}" ]; then
  args=(--start now --rate 5000)
fi
if [ -t 0 ] && [ -t 1 ]; then
  exec "$B/tickd" run "${args[@]}"
fi
"$B/tickd" run --fresh "${args[@]}" --duration 6 &
run=$!
# The HTTP API (tickd api, on TICKD_API_LISTEN or 127.0.0.1:8000), while it runs.
api=${TICKD_API_LISTEN:-127.0.0.1:8000}
sleep 4
echo "curl http://$api/quote/AAPL"
curl -s "http://$api/quote/AAPL" || true
echo
echo "curl 'http://$api/ohlcv/1s?symbol=AAPL&limit=2'"
curl -s "http://$api/ohlcv/1s?symbol=AAPL&limit=2" || true
echo
wait "$run"
"$B/tickd" stats
"$B/tickd" tail bars.1s --count 3 --no-follow
# The journal (./tickd-data, or TICKD_DATA_DIR): the same bars, from disk.
echo "from the journal: tickd export bars.1s --date $(date -u +%F) | tail -3"
"$B/tickd" export bars.1s --date "$(date -u +%F)" | tail -3
