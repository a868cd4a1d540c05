#!/usr/bin/env bash
# The public reader API (libtickd), in the tree:
#  - after a finite tickd run whose trades cross a UTC midnight (public_api);
#  - on a segment without history or engine (public_api_live --bare);
#  - against a live tickd run with a 4096-slot tick log: a gating follower
#    that holds the writer, one released after 300 ms that reports exactly
#    what it missed (checked against tickd stats), quotes under updates.
# The library must write nothing to stderr in any of them.
# usage: public_api_test.sh BUILD_DIR
set -euo pipefail
B=$1
P=/dev/shm/tickd-api-test-$$
L=/dev/shm/tickd-api-live-$$
Q=/dev/shm/tickd-api-bare-$$
D=$(mktemp -d)
cleanup() {
  if [ -n "${rpid:-}" ]; then kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true; fi
  rm -rf "$D"
  rm -f "$P" "$P".* "$L" "$L".* "$Q" "$Q".*
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
quiet() { [ ! -s "$1" ] || fail "the library wrote to stderr: $(head -3 "$1")"; }

# Nothing in libtickd can print by itself: no stdio output, no err(3)/perror
# (its one write(2), common/msg's, is switched off when it loads: tested below).
printers=$(nm -D --undefined-only "$B/libtickd.so" | awk '{sub(/@.*/, "", $2); print $2}' |
  grep -xE '(v?f?printf|v?dprintf|puts|fputs|fputc|putc|putchar|fwrite|perror|psignal|v?errx?|v?warnx?|syslog|vsyslog)' || true)
[ -z "$printers" ] || fail "libtickd calls $printers"

# 2024-01-02T23:58:20Z, 1000 trades/s of event time: 200 s over midnight.
"$B/tickd" run --fresh --source synth --seed 7 --count 200000 --start 1704239900 --exit-at-end \
  --shm-path "$P" >"$D/run.log" 2>&1 || fail "tickd run: $(tail -3 "$D/run.log")"
"$B/tests/system/public_api" "$P" "$P.abi" 2>"$D/api.err" || fail "public_api: $(cat "$D/api.err")"
quiet "$D/api.err"

"$B/tickd" init --shm-path "$Q" --slots 64 --bar-slots 64 --symbols 64 --history-symbols 0 \
  --timeframes 1m,1s >/dev/null
"$B/tests/system/tick_writer" --shm-path "$Q" --count 10 --rate 0
"$B/tests/system/public_api_live" --bare "$Q" 2>"$D/bare.err" || fail "bare segment"
quiet "$D/bare.err"

"$B/tickd" run --fresh --source synth --start now --rate 5000 --slots 4096 --duration 120 \
  --shm-path "$L" >"$D/live.log" 2>&1 &
rpid=$!
for _ in $(seq 100); do
  [ -n "$("$B/tickd" tail ticks.0 --no-follow --count 1 --shm-path "$L" 2>/dev/null)" ] && break
  sleep 0.1
done
"$B/tests/system/public_api_live" "$L" 4096 >"$D/live.out" 2>"$D/live.err" ||
  fail "live: $(cat "$D/live.out")"
quiet "$D/live.err"
read -r _ from to < <(grep '^released ' "$D/live.out") || fail "no release reported"
# The segment's own counters agree: the reader skipped exactly [from, to),
# the writer released it once, for a stall.
"$B/tickd" stats --json --shm-path "$L" >"$D/stats.json"
python3 - "$D/stats.json" "$from" "$to" <<'EOF' || fail "stats disagree with the reported gap"
import json, sys
st = json.load(open(sys.argv[1]))
frm, to = int(sys.argv[2]), int(sys.argv[3])
log = [l for l in st["logs"] if l["name"] == "ticks.0"][0]
rd = {r["name"]: r for r in log["readers"]}
rel, hold = rd["api-release"], rd["api-hold"]
assert rel["skipped"] == to - frm, (rel["skipped"], to - frm)
assert rel["gaps"] == 1 and rel["releases"] == 1, rel
assert rel["policy"] == "release" and hold["policy"] == "hold", (rel, hold)
assert hold["skipped"] == 0 and hold["releases"] == 0, hold
assert log["releases"]["stall"] == 1, log["releases"]
assert log["writer"]["waits"] >= 1, log["writer"]
print("stats: skipped %d = the gap, 1 stall release, the held reader skipped nothing" % (to - frm))
EOF
grep -q "released gating reader 'api-release'" "$D/live.log" ||
  fail "the writer did not log the release: $(grep -i release "$D/live.log" | head -3)"
echo "1 passed, 0 failed"
