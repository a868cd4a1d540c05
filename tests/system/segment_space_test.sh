#!/usr/bin/env bash
# Regression (issue 8): the segment was a sparse tmpfs file, so a /dev/shm
# too small for it (Docker's default is 64 MiB) let `tickd init` succeed and
# then killed a writer with SIGBUS mid-run.  On a 16 MiB tmpfs: `tickd init`
# and `tickd run` with the default (~500 MiB) segment fail at once, exit 1,
# with one line naming the free space and the size needed, leave nothing
# behind and die of no signal; a segment that fits is created with every
# block allocated.  On hugetlbfs (if it mounts) with no huge pages free, the
# same clean failure.  Needs root (mount); exits 77 (skipped) otherwise.
# usage: segment_space_test.sh BUILD_DIR
set -uo pipefail
B=$1
T=$B/tickd
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to mount a small tmpfs"; exit 77; }
W=$(mktemp -d /tmp/tickd-space-test.XXXXXX)
D=$W/shm
H=$W/huge
mkdir -p "$D" "$H"
cleanup() {
  [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null
  mountpoint -q "$D" && umount "$D"
  mountpoint -q "$H" && umount "$H"
  rm -rf "$W"
}
trap cleanup EXIT
mount -t tmpfs -o size=16m tmpfs "$D" || { echo "SKIP: cannot mount tmpfs"; exit 77; }

# The message: "<dir> has N MiB free, the segment needs M MiB: ..."
check_msg() { # file what
  local n
  n=$(grep -c "has 1[56] MiB free, the segment needs [0-9]* MiB: use smaller --slots/--symbols" "$1")
  [ "$n" -eq 1 ] || fail "$2: no one-line message naming free space and size: $(cat "$1")"
  grep -q -- "--shm-size=" "$1" || fail "$2: the message does not say how to enlarge it (docker --shm-size)"
}
# Exit status 1 (not 0, not a signal: >128 or a SIGBUS report).
check_status() { # status file what
  [ "$1" -eq 1 ] || fail "$3: exit status $1, want 1: $(tail -3 "$2")"
  ! grep -qi "bus error\|SIGBUS\|signal 7" "$2" || fail "$3: a process died of SIGBUS: $(grep -i bus "$2")"
}
empty() { # what
  [ -z "$(ls -A "$D")" ] || fail "$1: left behind in the tmpfs: $(ls -A "$D")"
}

"$T" init --shm-path "$D/seg" >"$W/init.out" 2>"$W/init.err"
st=$?
check_status $st "$W/init.err" "tickd init"
check_msg "$W/init.err" "tickd init"
empty "tickd init"

timeout 60 "$T" run --shm-path "$D/seg" --source synth --seed 7 --count 20000 --exit-at-end \
  >"$W/run.out" 2>"$W/run.err"
st=$?
[ $st -ne 124 ] || fail "tickd run on a full tmpfs did not stop"
check_status $st "$W/run.err" "tickd run"
check_msg "$W/run.err" "tickd run"
empty "tickd run"

# A segment that fits: created, every block allocated, usable.
"$T" init --shm-path "$D/small" --slots 1024 --symbols 64 --bar-slots 64 --history-symbols 0 \
  >/dev/null 2>"$W/small.err" || fail "a small segment that fits failed: $(cat "$W/small.err")"
[ ! -s "$W/small.err" ] || fail "a small segment on tmpfs warned: $(cat "$W/small.err")"
read -r size blocks < <(stat -c '%s %b' "$D/small")
[ $((blocks * 512)) -ge "$size" ] || fail "the segment is sparse: $((blocks * 512)) of $size bytes allocated"
"$T" info --shm-path "$D/small" >/dev/null || fail "tickd info on the small segment"
rm -f "$D/small"

# hugetlbfs with an empty pool: the same clean failure (fallocate there
# reserves huge pages; with none free it fails instead of mmap or a fault).
if [ "$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 1)" -eq 0 ] &&
   mount -t hugetlbfs none "$H" 2>/dev/null; then
  "$T" init --shm-path "$H/seg" --slots 1024 --symbols 64 --bar-slots 64 --history-symbols 0 \
    >/dev/null 2>"$W/huge.err"
  st=$?
  check_status $st "$W/huge.err" "tickd init on hugetlbfs"
  grep -q "hugetlbfs.*huge pages\|huge pages" "$W/huge.err" ||
    fail "hugetlbfs with no huge pages: the message does not say so: $(cat "$W/huge.err")"
  [ -z "$(ls -A "$H")" ] || fail "hugetlbfs: left behind: $(ls -A "$H")"
  echo "hugetlbfs: $(cat "$W/huge.err")"
fi
echo "ok: $(cat "$W/init.err")"
