#!/usr/bin/env bash
# The journal's history through the commands users run: a run whose trades
# cross a UTC midnight journals two days per stream; tickd export by --date,
# --from/--to and --symbol gives exactly the records of the log that match
# (checked against tickd tail with python); a snapshot taken is a complete,
# verifiable journal; retention with a fake clock (--now) deletes whole
# days past their stream's retention and never a log's newest day; a file
# of another format is refused with a message naming it.
# usage: persist_history_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
P=/dev/shm/tickd-phist-$$
W=$(mktemp -d)
D=$W/journal
trap 'pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT
. "$(dirname "$0")/lib.sh"

# 2024-01-02T23:58:20Z, 1000 trades/s of event time: 200 s over midnight.
"$T" run --fresh --shm-path "$P" --data-dir "$D" --seed 4 --count 200000 --start 1704239900 \
  --exit-at-end > /dev/null 2> "$W/run.log" || fail "tickd run: $(tail -3 "$W/run.log")"
for s in ticks bars.1s bars.1m signals; do
  [ -d "$D/$s/2024-01-02" ] && [ -d "$D/$s/2024-01-03" ] ||
    fail "$s: not one directory per UTC day: $(ls "$D/$s")"
done
"$T" tail ticks.0 --shm-path "$P" --from-start --no-follow > "$W/ticks.log"
"$T" tail bars.1m --shm-path "$P" --from-start --no-follow > "$W/bars.log"

# By day, by time, by symbol: exactly the log's records that match, in order.
"$T" export ticks --data-dir "$D" --date 2024-01-02 > "$W/d1"
"$T" export ticks --data-dir "$D" --date 2024-01-03 > "$W/d2"
"$T" export ticks --data-dir "$D" --from 2024-01-02T23:59:30Z --to 1704240030000 --symbol NVDA > "$W/win"
"$T" export bars.1m --data-dir "$D" --date 2024-01-03 --symbol AAPL --limit 2 > "$W/bars_aapl"
"$T" export ticks --data-dir "$D" --from 2024-01-02T18:59:30-05:00 --to 2024-01-03T00:00:30 --limit 5 > "$W/tz"
python3 - "$W" <<'EOF' || fail "tickd export did not select what it should"
import json, sys
w = sys.argv[1]
def lines(p): return open(p).read().splitlines()
log = [l for l in lines(w + "/ticks.log")]
midnight = 1704240000000
d1 = [l for l in log if json.loads(l).get("ts", 0) < midnight and "price" in json.loads(l)]
d2 = [l for l in log if json.loads(l).get("ts", 0) >= midnight and "price" in json.loads(l)]
assert lines(w + "/d1") == d1 and lines(w + "/d2") == d2, (len(d1), len(lines(w + "/d1")))
assert len(d1) + len(d2) == 200000 and len(d1) > 0 and len(d2) > 0
win = [l for l in log if "price" in l and json.loads(l)["symbol"] == "NVDA"
       and 1704239970000 <= json.loads(l)["ts"] < 1704240030000]
assert lines(w + "/win") == win and len(win) > 0, (len(win), len(lines(w + "/win")))
bars = [l for l in lines(w + "/bars.log") if json.loads(l)["symbol"] == "AAPL"
        and json.loads(l)["window_start"] >= midnight][:2]
assert lines(w + "/bars_aapl") == bars and len(bars) == 2
tz = [l for l in log if "price" in l and 1704239970000 <= json.loads(l)["ts"] < 1704240030000][:5]
assert lines(w + "/tz") == tz, "a -05:00 offset, a time without a zone (UTC)"
print("export: %d + %d ticks by day, %d NVDA in a minute across midnight, bars by symbol" % (len(d1), len(d2), len(win)))
EOF

# A snapshot: a complete journal of its own, equal to the original.
"$T" journal snapshot "$W/snap" --data-dir "$D" > "$W/snap.out" || fail "snapshot: $(cat "$W/snap.out")"
grep -q "linked" "$W/snap.out" || fail "snapshot: $(cat "$W/snap.out")"
"$T" journal verify --data-dir "$W/snap" --quiet > "$W/v.out" || fail "the snapshot does not verify: $(head -3 "$W/v.out")"
cmp -s <("$T" export ticks --data-dir "$W/snap") <("$T" export ticks --data-dir "$D") ||
  fail "the snapshot's ticks differ"

# Retention by a fake clock: 31 days after the files were written, the
# ticks' first day goes (30 days), its newest day stays, bars stay (90 days).
now_ms=$(( $(date +%s) * 1000 ))
"$T" journal retain --data-dir "$D" --now $((now_ms + 31 * 86400000)) --dry-run > "$W/r0"
grep -q "would delete $D/ticks/2024-01-02" "$W/r0" || fail "dry run: $(cat "$W/r0")"
[ -d "$D/ticks/2024-01-02" ] || fail "a dry run deleted"
"$T" journal retain --data-dir "$D" --now $((now_ms + 29 * 86400000)) > "$W/r1"
grep -q "deleted 0 day" "$W/r1" || fail "29 days: $(cat "$W/r1")"
"$T" journal retain --data-dir "$D" --now $((now_ms + 31 * 86400000)) > "$W/r2"
[ ! -e "$D/ticks/2024-01-02" ] && [ -d "$D/ticks/2024-01-03" ] || fail "31 days, ticks: $(cat "$W/r2")"
[ -d "$D/bars.1m/2024-01-02" ] && [ -d "$D/signals/2024-01-02" ] || fail "31 days, bars: $(cat "$W/r2")"
[ -z "$("$T" export ticks --data-dir "$D" --date 2024-01-02)" ] || fail "a deleted day is still exported"
cmp -s <("$T" export ticks --data-dir "$D" --date 2024-01-03) "$W/d2" || fail "the kept day changed"
"$T" journal retain --data-dir "$D" --now $((now_ms + 91 * 86400000)) > "$W/r3"
for s in bars.1s bars.1m bars.5m bars.1h signals; do
  [ ! -e "$D/$s/2024-01-02" ] || fail "91 days: $s/2024-01-02 kept: $(cat "$W/r3")"
  ls "$D/$s"/2024-01-0[23] > /dev/null || fail "91 days: $s lost its newest day"
done
"$T" journal retain --data-dir "$D" --retain ticks=forever,bars.1h=1h --now $((now_ms + 400 * 86400000)) > "$W/r4"
[ -d "$D/ticks/2024-01-03" ] || fail "the newest day went"
"$T" journal verify --data-dir "$D" --quiet > "$W/v2.out" || fail "after retention: $(head -3 "$W/v2.out")"
# The snapshot's hard links kept what retention deleted.
[ "$("$T" export ticks --data-dir "$W/snap" | wc -l)" -eq 200000 ] || fail "the snapshot lost data"

# Bad input: a file of another format, a bad option, a bad date.
{ printf 'not a journal'; head -c 5000 /dev/zero; } > "$D/ticks/2024-01-03/ticks.0.0000000000000001.00000000000000000001.tkj"
if "$T" export ticks --data-dir "$D" > /dev/null 2> "$W/e1"; then fail "a foreign file was read"; fi
grep -q "ticks.0.0000000000000001.00000000000000000001.tkj: .*journal file" "$W/e1" || fail "message: $(cat "$W/e1")"
if "$T" journal verify --data-dir "$D" --quiet > "$W/v3.out"; then fail "verify passed a foreign file"; fi
grep -q "BAD .*not a tickd journal file" "$W/v3.out" || fail "verify: $(cat "$W/v3.out")"
set +e
"$T" export ticks --data-dir "$D" --date 2024-02-30 > /dev/null 2> "$W/e2"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q -- "--date.*not a date" "$W/e2" || fail "bad date: $rc $(cat "$W/e2")"
if "$T" export tickz --data-dir "$D" > /dev/null 2> "$W/e3"; then fail "an unknown stream"; fi
grep -q "no stream 'tickz'" "$W/e3" || fail "$(cat "$W/e3")"
# A directory it cannot use: one line naming it, exit 2 (tickd run stops
# instead of restarting it); a second journal on a directory in use: refused.
set +e
"$T" persist --shm-path "$P" --data-dir /etc/hostname/journal > /dev/null 2> "$W/e4"; rc=$?
set -e
[ $rc -eq 2 ] && [ "$(wc -l < "$W/e4")" -eq 1 ] && grep -q "/etc/hostname/journal: Not a directory" "$W/e4" ||
  fail "an unusable directory: $rc $(cat "$W/e4")"
python3 - "$D/LOCK" <<'EOF' &
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.fcntl(fd, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 1, 0))  # F_OFD_SETLK
time.sleep(3)
EOF
holder=$!
sleep 0.5
set +e
"$T" persist --shm-path "$P" --data-dir "$D" > /dev/null 2> "$W/e5"; rc=$?
set -e
wait $holder || true
[ $rc -eq 2 ] && grep -q "is in use by another tickd persist" "$W/e5" || fail "a second journal: $rc $(cat "$W/e5")"
echo "snapshot: $(cat "$W/snap.out")"
echo "retention: $(tail -1 "$W/r2"); $(tail -1 "$W/r3")"
echo "1 passed, 0 failed"
