#!/usr/bin/env bash
# kill -9 of every role under `tickd run`, at random moments, while a paced
# feed writes: the feed(s) and the engine worker, KILLS times each, in three
# set-ups (the synthetic market, a replay of a file of Finnhub messages, two
# synthetic feeds merged by one worker).  The supervisor restarts them; the
# restarted feed resumes its stream, the restarted worker its checkpoint.
# The tick logs, bar logs and signal log must equal those of an
# uninterrupted run at full speed, byte for byte: no tick twice, none lost,
# the same bars.
# usage: kill_all_test.sh BUILD_DIR [KILLS] [MODE...]
set -euo pipefail
B=$1
KILLS=${2:-}
shift 2 || shift $#
MODES=${*:-synth replay feeds2}
T=$B/tickd
P=/dev/shm/tickd-killall-$$
W=$(mktemp -d)
trap 'pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT
. "$(dirname "$0")/lib.sh"

# Enough paced feed time to outlast the kills (about 0.6 s apart).
if [ "${TICKD_TEST_SCALE:-}" = small ]; then SCALE=1; KILLS=${KILLS:-5}; else SCALE=4; KILLS=${KILLS:-20}; fi

# A day's worth of raw Finnhub trade messages (the replay paces by trade time).
python3 - "$W/raw.jsonl" $((SCALE * 16000)) <<'PY'
import json, random, sys
random.seed(5)
syms = ["AAPL", "MSFT", "AMZN", "NVDA", "TSLA", "META", "BINANCE:BTCUSDT", "GOOG"]
px = {s: 100.0 + 37 * i for i, s in enumerate(syms)}
t = 1704205800000
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        t += random.randint(1, 14)
        data = []
        for _ in range(random.randint(1, 4)):
            s = random.choice(syms)
            px[s] = round(px[s] * (1 + random.gauss(0, 0.0005)), 2)
            # a few trades a little late, as real feeds deliver them
            data.append({"s": s, "p": px[s], "t": t - random.choice([0, 0, 0, 0, 300, 1800]),
                         "v": random.randint(1, 500)})
        f.write(json.dumps({"type": "trade", "data": data}, separators=(",", ":")) + "\n")
PY

args() {
  case $1 in
  synth) echo "--seed 7 --count $((SCALE * 150000)) --rate 2000" ;;
  replay) echo "--source replay:$W/raw.jsonl" ;;
  feeds2) echo "--feeds 2 --seed 7 --count $((SCALE * 100000)) --rate 1000" ;;
  esac
}

dump_all() {
  local l
  for l in $("$T" info --shm-path "$P" | awk '$1 == "log" && $2 ~ /^ticks\./ {print $2}') \
           bars.1s bars.1m bars.5m bars.1h signals; do
    echo "== $l"
    "$T" tail "$l" --shm-path "$P" --from-start --no-follow
  done
}

RANDOM=11
for mode in $MODES; do
  # shellcheck disable=SC2046
  "$T" run --fresh --shm-path "$P" $(args $mode) --speed max --exit-at-end > /dev/null 2> "$W/ref.log" ||
    fail "$mode: the uninterrupted run failed: $(tail -3 "$W/ref.log")"
  dump_all > "$W/want"
  grep -q '"window_start"' "$W/want" || fail "$mode: the uninterrupted run made no bars"

  # shellcheck disable=SC2046
  "$T" run --fresh --shm-path "$P" $(args $mode) --speed 10 --exit-at-end > /dev/null 2> "$W/run.log" &
  run=$!
  t0=$(date +%s)
  kf=0 ke=0 turn=0
  # Feed and engine in turn; a turn whose target is down (being restarted)
  # is tried again at the next step, so both get their KILLS.
  while kill -0 $run 2>/dev/null && { [ $kf -lt "$KILLS" ] || [ $ke -lt "$KILLS" ]; }; do
    sleep "0.$((RANDOM % 40 + 20))"
    if [ $ke -ge "$KILLS" ] || { [ $kf -lt "$KILLS" ] && [ $((turn % 2)) -eq 0 ]; }; then
      pids=$(pgrep -f -- "tickd feed --source [^ ]* --shm-path $P " || true)
      [ -n "$pids" ] || continue
      # shellcheck disable=SC2086
      set -- $pids
      shift $((RANDOM % $#))
      kill -9 "$1" 2>/dev/null && kf=$((kf + 1)) && turn=$((turn + 1))
    else
      pid=$(pgrep -f -- "tickd engine --shm-path $P " || true)
      [ -n "$pid" ] && kill -9 $pid 2>/dev/null && ke=$((ke + 1)) && turn=$((turn + 1))
    fi
  done
  wait $run || fail "$mode: tickd run failed after $kf feed and $ke engine kills: $(grep -E 'error|giving up' "$W/run.log" | tail -3)"
  [ $kf -eq "$KILLS" ] && [ $ke -eq "$KILLS" ] ||
    fail "$mode: the run ended after only $kf feed and $ke engine kills in $(( $(date +%s) - t0 )) s (make it longer)"
  dump_all > "$W/got"
  cmp -s "$W/want" "$W/got" ||
    fail "$mode: after $kf feed and $ke engine kills the logs differ: $(diff "$W/want" "$W/got" | head -6)"
  if grep "differed" "$W/run.log" | grep -qv " 0 differed"; then
    fail "$mode: a restarted worker recomputed a record differently"
  fi
  echo "$mode: $kf feed and $ke engine kills in $(( $(date +%s) - t0 )) s; $(grep -c '"price"' "$W/got") ticks and" \
       "$(grep -c '"window_start"' "$W/got") bars identical to the uninterrupted run;" \
       "$(grep -c 'resuming the' "$W/run.log") feed resumptions"
done
echo "1 passed, 0 failed"
