#!/usr/bin/env bash
# A segment on hugetlbfs (the README's bare-metal advice: --shm-path on a
# hugetlbfs mount): the engine's checkpoint cannot live beside it (hugetlbfs
# has no write(2); the engine died at its first checkpoint, "short write"),
# so it lives on tmpfs as /dev/shm/<name>.engine.<shard>.  The bars equal
# those of the same feed on tmpfs, a restarted engine resumes from that
# checkpoint without writing a bar twice, and tickd clean removes it.
# Needs root (a hugetlbfs mount and huge pages reserved for the test, the
# old reservation put back after); skipped (77) otherwise.
# usage: hugetlb_test.sh BUILD_DIR
set -uo pipefail
B=$1
T=$(cd "$B" && pwd)/tickd
N=tickd-hugetlb-test-$$
REF=/dev/shm/$N-ref
W=$(mktemp -d)
MNT=$W/huge
OLD=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
SMALL="--slots 65536 --symbols 64 --bar-slots 4096 --history-symbols 0"
cleanup() {
  umount "$MNT" 2>/dev/null
  echo "$OLD" >/proc/sys/vm/nr_hugepages 2>/dev/null
  rm -rf "$W"
  rm -f "$REF" "$REF".* /dev/shm/$N /dev/shm/$N.*
}
trap cleanup EXIT
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: needs root for a hugetlbfs mount"; exit 77; }
mkdir -p "$MNT"
mount -t hugetlbfs -o pagesize=2M none "$MNT" 2>/dev/null || { echo "skip: no hugetlbfs"; exit 77; }
echo $((OLD + 48)) >/proc/sys/vm/nr_hugepages 2>/dev/null
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
[ "${free:-0}" -ge 24 ] || { echo "skip: the kernel gave no huge pages ($free free)"; exit 77; }
P=$MNT/$N

feed() { "$T" feed --shm-path "$1" --source synth --seed 11 --count 30000 --rate 2000 --speed max 2>/dev/null; }

# shellcheck disable=SC2086
"$T" init --fresh --shm-path "$REF" $SMALL >/dev/null || fail "init on tmpfs"
feed "$REF" || fail "feed on tmpfs"
"$T" engine --shm-path "$REF" --exit-at-end 2>"$W/ref.err" || fail "engine on tmpfs: $(cat "$W/ref.err")"
TICKD_SHM_PATH=$REF dump >"$W/ref"
[ -s "$W/ref" ] || fail "no bars on tmpfs"

# shellcheck disable=SC2086
"$T" init --fresh --shm-path "$P" $SMALL >/dev/null 2>"$W/init.err" || fail "init on hugetlbfs: $(cat "$W/init.err")"
feed "$P" || fail "feed on hugetlbfs"
"$T" engine --shm-path "$P" --exit-at-end 2>"$W/e1.err" || fail "engine on hugetlbfs: $(cat "$W/e1.err")"
[ -f "/dev/shm/$N.engine.0" ] || fail "no checkpoint at /dev/shm/$N.engine.0: $(ls "$MNT" /dev/shm | grep "$N")"
[ "$(ls "$MNT")" = "$N" ] || fail "files beside the segment on hugetlbfs: $(ls "$MNT")"
TICKD_SHM_PATH=$P dump >"$W/huge1"
cmp -s "$W/ref" "$W/huge1" || fail "bars on hugetlbfs differ from tmpfs: $(diff "$W/ref" "$W/huge1" | head -3)"

# A second engine resumes from the checkpoint: nothing is written again.
"$T" engine --shm-path "$P" --exit-at-end 2>"$W/e2.err" || fail "engine restart on hugetlbfs: $(cat "$W/e2.err")"
grep -q "no checkpoint" "$W/e2.err" && fail "the restarted engine found no checkpoint: $(cat "$W/e2.err")"
TICKD_SHM_PATH=$P dump >"$W/huge2"
cmp -s "$W/ref" "$W/huge2" || fail "the restarted engine changed the bars: $(diff "$W/ref" "$W/huge2" | head -3)"

"$T" clean --shm-path "$P" >"$W/clean.out" || fail "tickd clean"
[ ! -e "/dev/shm/$N.engine.0" ] || fail "tickd clean left /dev/shm/$N.engine.0"
[ ! -e "$P" ] || fail "tickd clean left $P"
echo "ok: $(wc -l <"$W/ref") bar and signal records, the same on hugetlbfs, checkpoint on tmpfs"
