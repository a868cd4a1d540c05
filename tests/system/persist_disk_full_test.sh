#!/usr/bin/env bash
# A full disk under the journal: `tickd run` journals onto a 64 MiB tmpfs
# (a private mount namespace: needs root) of which a filler file leaves
# 4 MiB.  The journal runs out of room (a new file, or the next
# preallocation), says so once, holds (its records stay in the log: it is a
# gating reader that has not committed them) and keeps running; when the
# filler goes, it goes on by itself.  At the end the journal equals every
# log, byte for byte: nothing committed was lost, nothing written twice.
# usage: persist_disk_full_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
if [ "$(id -u)" -ne 0 ] || ! command -v unshare > /dev/null; then
  echo "skipped: needs root and unshare (a tmpfs mount)"
  exit 77
fi
if [ -z "${TK_DISK_FULL_NS:-}" ]; then
  TK_DISK_FULL_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
P=/dev/shm/tickd-dfull-$$
W=$(mktemp -d)
M=$W/mnt
D=$M/journal
mkdir "$M"
mount -t tmpfs -o size=64m tmpfs "$M"
trap 'pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; umount -l "$M" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT
fallocate -l $((60 * 1024 * 1024)) "$M/filler"

"$T" run --fresh --shm-path "$P" --data-dir "$D" --seed 5 --rate 20000 --count 240000 --speed 1 \
  --exit-at-end > /dev/null 2> "$W/run.log" &
run=$!
for _ in $(seq 200); do
  grep -q "No space left on device" "$W/run.log" && break
  sleep 0.05
done
grep -q "No space left on device" "$W/run.log" ||
  fail "the journal never ran out of room: $(tail -3 "$W/run.log")"
full=$(grep -m1 "No space left on device" "$W/run.log")
sleep 2
pgrep -f -- "tickd persist --shm-path $P " > /dev/null || fail "the journal died on a full disk"
kill -0 $run 2>/dev/null || fail "tickd run stopped on a full disk: $(tail -3 "$W/run.log")"
# Said once per episode and stream, not once per try (every 0.25 s).
said=$(grep -c "No space left on device" "$W/run.log" || true)
[ "$said" -le 12 ] || fail "the full disk was reported $said times in 2 s"
# The journal holds: its cursor on ticks.0 stays behind what the feed wrote.
"$T" stats --json --shm-path "$P" > "$W/stats.json"
python3 - "$W/stats.json" <<'EOF' || fail "the journal's cursor did not hold"
import json, sys
st = json.load(open(sys.argv[1]))
log = [l for l in st["logs"] if l["name"] == "ticks.0"][0]
r = [r for r in log["readers"] if r["name"] == "persist"][0]
assert log["write_seq"] >= r["cursor"] + 20000, (log["write_seq"], r["cursor"])
print("held: the journal's cursor at %d, the feed at %d" % (r["cursor"], log["write_seq"]))
EOF
rm -f "$M/filler"
wait $run || fail "tickd run failed: $(grep -E 'error|giving up' "$W/run.log" | tail -3)"
grep -q "goes on" "$W/run.log" || fail "the journal never said it went on: $(tail -3 "$W/run.log")"

for l in $("$T" info --shm-path "$P" | awk '$1 == "log" {print $2}'); do
  case $l in
  ticks.*) stream=ticks; extra=--heartbeats ;;
  *) stream=$l; extra= ;;
  esac
  # shellcheck disable=SC2086
  "$T" tail "$l" --shm-path "$P" --from-start --no-follow $extra > "$W/want.$l"
  # shellcheck disable=SC2086
  "$T" export "$stream" --data-dir "$D" $extra > "$W/got.$l" || fail "tickd export $stream failed"
  cmp -s "$W/want.$l" "$W/got.$l" ||
    fail "$l: the journal differs from the log after the full disk: $(diff "$W/want.$l" "$W/got.$l" | head -4)"
done
"$T" journal verify --data-dir "$D" --quiet > "$W/verify.out" || fail "verify: $(head -3 "$W/verify.out")"
echo "full: ${full#*error: }"
echo "after the filler went: $(grep -c '"price"' "$W/got.ticks.0") ticks and every bar and signal in the journal equal the logs; verify: $(tail -1 "$W/verify.out")"
echo "1 passed, 0 failed"
