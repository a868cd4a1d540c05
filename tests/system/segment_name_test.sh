#!/usr/bin/env bash
# Regression (issue 8): a segment named without a slash (`--shm-path
# tickd2`, or getopt's abbreviation `--shm tickd2`) became a ~500 MB file in
# the current directory, on disk.  A bare name now means /dev/shm/NAME, as
# for shm_open(3), for every command and for TICKD_SHM_PATH; and a segment
# on a disk file system is created with one warning saying why.
# usage: segment_name_test.sh BUILD_DIR
set -uo pipefail
B=$1
T=$(cd "$B" && pwd)/tickd
N=tickd-name-test-$$
W=$(mktemp -d "$(cd "$B" && pwd)/segment-name-test.XXXXXX") # on the build's (disk) file system
SMALL="--slots 1024 --symbols 64 --bar-slots 64 --history-symbols 0"
trap 'rm -rf "$W"; rm -f /dev/shm/$N /dev/shm/$N.* /dev/shm/$N-env' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$W" || exit 1

# shellcheck disable=SC2086
"$T" init --shm-path "$N" $SMALL >init.out 2>init.err || fail "tickd init --shm-path $N: $(cat init.err)"
[ -f "/dev/shm/$N" ] || fail "tickd init --shm-path $N did not create /dev/shm/$N"
[ ! -e "$N" ] || fail "tickd init --shm-path $N created $N in the current directory ($(du -h "$N" | cut -f1))"
grep -q "/dev/shm/$N" init.out || fail "tickd init does not name the segment it made: $(cat init.out)"
[ ! -s init.err ] || fail "a segment on /dev/shm warned: $(cat init.err)"
# The getopt abbreviation and the environment name the same segment.
"$T" info --shm "$N" >info.out 2>&1 || fail "tickd info --shm $N: $(cat info.out)"
grep -q "^segment   /dev/shm/$N$" info.out || fail "tickd info --shm $N: $(head -1 info.out)"
TICKD_SHM_PATH=$N "$T" stats --json >/dev/null 2>stats.err || fail "TICKD_SHM_PATH=$N tickd stats: $(cat stats.err)"
TICKD_SHM_PATH=$N "$T" tail ticks.0 --from-start --no-follow >/dev/null 2>tail.err ||
  fail "TICKD_SHM_PATH=$N tickd tail: $(cat tail.err)"
# shellcheck disable=SC2086
TICKD_SHM_PATH=$N-env "$T" init $SMALL >/dev/null 2>env.err || fail "TICKD_SHM_PATH=$N-env tickd init: $(cat env.err)"
[ -f "/dev/shm/$N-env" ] && [ ! -e "$N-env" ] || fail "TICKD_SHM_PATH=$N-env is not /dev/shm/$N-env"
TICKD_SHM_PATH=$N-env "$T" clean >/dev/null || fail "TICKD_SHM_PATH=$N-env tickd clean"
[ ! -e "/dev/shm/$N-env" ] || fail "tickd clean left /dev/shm/$N-env"
"$T" clean --shm-path "$N" >clean.out || fail "tickd clean --shm-path $N"
[ ! -e "/dev/shm/$N" ] || fail "tickd clean --shm-path $N left /dev/shm/$N"
[ -z "$(ls -A | grep -v '\.\(out\|err\)$')" ] || fail "files left in the current directory: $(ls -A)"

# A path on a disk directory: created, with exactly one warning that says why.
# shellcheck disable=SC2086
"$T" init --shm-path "$W/disk-seg" $SMALL >/dev/null 2>disk.err || fail "tickd init on disk: $(cat disk.err)"
n=$(grep -c "not tmpfs or hugetlbfs" disk.err)
[ "$n" -eq 1 ] || fail "a segment on disk: $n warnings, want 1: $(cat disk.err)"
grep -q "writes its pages back to the disk" disk.err || fail "the warning does not say why: $(cat disk.err)"
# Attaching to it (a reader, the roles) does not warn again.
"$T" info --shm-path "$W/disk-seg" >/dev/null 2>info.err || fail "tickd info on disk: $(cat info.err)"
[ ! -s info.err ] || fail "attaching warned again: $(cat info.err)"
echo "ok: $(cat disk.err)"
