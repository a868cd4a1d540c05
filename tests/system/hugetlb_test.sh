#!/usr/bin/env bash
# A segment on hugetlbfs (the README's bare-metal advice: --shm-path on a
# hugetlbfs mount): the engine's checkpoint cannot live beside it (hugetlbfs
# has no write(2); the engine died at its first checkpoint, "short write"),
# so it lives on tmpfs as /dev/shm/<name>-<hash of its path>.engine.<shard>
# (not /dev/shm/<name>.engine.<shard>: that is a tmpfs segment's of the same
# name, which runs beside it here).  The bars equal those of the same feed on
# tmpfs, an engine killed -9 twice mid-stream and restarted resumes from
# that checkpoint and writes the same bars, and tickd clean removes it.
# Needs root (a hugetlbfs mount and huge pages reserved for the test, the
# old reservation put back after); skipped (77) otherwise.
# usage: hugetlb_test.sh BUILD_DIR
set -uo pipefail
B=$1
T=$(cd "$B" && pwd)/tickd
N=tickd-hugetlb-test-$$
REF=/dev/shm/$N
W=$(mktemp -d)
MNT=$W/huge
OLD=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
SET=
SMALL="--slots 65536 --symbols 512 --bar-slots 16384 --history-symbols 0"
cleanup() {
  kill -9 ${fpid:-} ${epid:-} 2>/dev/null
  if mountpoint -q "$MNT" 2>/dev/null; then
    rm -f "$MNT"/* 2>/dev/null
    umount "$MNT" 2>/dev/null || { umount -l "$MNT"; echo "note: $MNT unmounted lazily" >&2; }
  fi
  # Put the reservation back only if nobody changed it since.
  [ -n "$SET" ] && [ "$(cat /proc/sys/vm/nr_hugepages)" = "$SET" ] && echo "$OLD" >/proc/sys/vm/nr_hugepages
  rm -rf "$W"
  rm -f /dev/shm/$N /dev/shm/$N.* /dev/shm/$N-*
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for a hugetlbfs mount"; exit 77; }
mkdir -p "$MNT"
mount -t hugetlbfs -o pagesize=2M none "$MNT" 2>/dev/null || { echo "skip: no hugetlbfs"; exit 77; }
SET=$((OLD + 48))
echo "$SET" >/proc/sys/vm/nr_hugepages 2>/dev/null || SET=""
[ -z "$SET" ] || SET=$(cat /proc/sys/vm/nr_hugepages)
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "${free:-0}" -ge 24 ] || { echo "skip: the kernel gave no huge pages ($free free)"; exit 77; }
P=$MNT/$N

# 300 symbols (several words of the engine's active set), 60,000 trades.
feed() { "$T" feed --shm-path "$1" --source synth --seed 11 --symbols 300 --count 60000 --rate 2000 --speed "$2" 2>/dev/null; }

# shellcheck disable=SC2086
"$T" init --fresh --shm-path "$REF" $SMALL >/dev/null || fail "init on tmpfs"
feed "$REF" max || fail "feed on tmpfs"
"$T" engine --shm-path "$REF" --exit-at-end 2>"$W/ref.err" || fail "engine on tmpfs: $(cat "$W/ref.err")"
TICKD_SHM_PATH=$REF dump >"$W/ref"
[ -s "$W/ref" ] || fail "no bars on tmpfs"

# shellcheck disable=SC2086
"$T" init --fresh --shm-path "$P" $SMALL >/dev/null 2>"$W/init.err" || fail "init on hugetlbfs: $(cat "$W/init.err")"
# The engine first (its cursor holds the ring), the feed paced (30 s of feed
# time in ~1.5 s), the engine killed -9 twice mid-stream and restarted.
"$T" engine --shm-path "$P" --exit-at-end 2>"$W/e1.err" &
epid=$!
for _ in $(seq 1 200); do
  "$T" stats --shm-path "$P" 2>/dev/null | grep -q "reader engine.0" && break
  sleep 0.02
done
feed "$P" 20 &
fpid=$!
for k in 1 2; do
  sleep 0.4
  kill -9 $epid 2>/dev/null
  wait $epid 2>/dev/null
  ls /dev/shm/$N-*.engine.0 >/dev/null 2>&1 || fail "no checkpoint /dev/shm/$N-<hash>.engine.0 after kill $k: $(ls /dev/shm | grep "$N")"
  "$T" engine --shm-path "$P" --exit-at-end 2>>"$W/e2.err" &
  epid=$!
done
wait $fpid || fail "feed on hugetlbfs"
wait $epid || fail "engine on hugetlbfs: $(cat "$W/e1.err" "$W/e2.err")"
n=$(grep -c "restored from its checkpoint" "$W/e2.err")
[ "$n" -eq 2 ] || fail "$n of the 2 restarted engines restored their checkpoint: $(cat "$W/e2.err")"
grep -q "no checkpoint" "$W/e2.err" && fail "a restarted engine found no checkpoint: $(cat "$W/e2.err")"
grep -qi "short write\|error" "$W/e1.err" "$W/e2.err" && fail "engine errors: $(cat "$W/e1.err" "$W/e2.err")"
[ "$(ls "$MNT")" = "$N" ] || fail "files beside the segment on hugetlbfs: $(ls "$MNT")"
TICKD_SHM_PATH=$P dump >"$W/huge.out"
cmp -s "$W/ref" "$W/huge.out" || fail "bars on hugetlbfs (engine killed twice) differ from tmpfs: $(diff "$W/ref" "$W/huge.out" | head -3)"
# The tmpfs segment of the same name kept its own checkpoint.
[ -f "/dev/shm/$N.engine.0" ] || fail "the tmpfs segment's checkpoint /dev/shm/$N.engine.0 is gone"

"$T" clean --shm-path "$P" >"$W/clean.out" || fail "tickd clean"
ls /dev/shm/$N-*.engine.0 >/dev/null 2>&1 && fail "tickd clean left the checkpoint: $(ls /dev/shm/$N-*)"
[ -f "/dev/shm/$N.engine.0" ] || fail "tickd clean of the hugetlbfs segment removed the tmpfs one's checkpoint"
[ ! -e "$P" ] || fail "tickd clean left $P"
echo "ok: $(wc -l <"$W/ref") bar and signal records, the same on hugetlbfs with two kill -9, checkpoint on tmpfs"
