#!/usr/bin/env bash
# jemalloc really is the allocator of every tickd process (issue 8, item
# 11).  `tickd --version` names it as read at run time (mallctl "version")
# and checks that malloc is jemalloc's (its per-thread allocation counter
# grows); then one run with every role (tickd run: init, feed, engine), the
# mock server and the readers, under LD_DEBUG=bindings with one file per
# process: in each, every binding of malloc/calloc/realloc/free, from tickd
# and from every library (libc's own calls included), goes to libjemalloc.
# usage: allocator_test.sh BUILD_DIR [SANITIZER]
set -uo pipefail
B=$1
T=$B/tickd
# A sanitizer build's malloc is the sanitizer's, by design: nothing to check.
if [ -n "${2:-}" ]; then echo "SKIP: a $2 sanitizer build allocates with the sanitizer"; exit 0; fi
W=$(mktemp -d /tmp/tickd-alloc-test.XXXXXX)
export TICKD_SHM_PATH=/dev/shm/tickd-alloc-test-$$
trap 'rm -rf "$W"; rm -f "$TICKD_SHM_PATH" "$TICKD_SHM_PATH".*' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

v=$("$T" --version) || fail "tickd --version failed"
echo "$v" | grep -Eq '^allocator: jemalloc [0-9]+\.[0-9]+\.[0-9]+' ||
  fail "tickd --version does not name jemalloc as the allocator: $v"
! echo "$v" | grep -q "not jemalloc's\|not checked" || fail "tickd --version: $v"

mkdir -p "$W/ld"
ld() { LD_DEBUG=bindings LD_DEBUG_OUTPUT="$W/ld/$1" "${@:2}"; }
ld run "$T" run --fresh --source synth --seed 7 --count 5000 --exit-at-end >/dev/null 2>"$W/run.err" ||
  fail "tickd run: $(tail -3 "$W/run.err")"
ld tail "$T" tail bars.1s --from-start --no-follow >/dev/null || fail "tickd tail"
ld stats "$T" stats --json >/dev/null || fail "tickd stats"
ld info "$T" info >/dev/null || fail "tickd info"
ld mock "$T" mock-finnhub --help >/dev/null || fail "tickd mock-finnhub --help"
ld clean "$T" clean >/dev/null || fail "tickd clean"

files=$(ls "$W/ld" | wc -l)
# init, feed, engine and the supervisor, and five more commands.
[ "$files" -ge 9 ] || fail "LD_DEBUG wrote $files process files, expected at least 9: $(ls "$W/ld")"
for f in "$W"/ld/*; do
  n=$(grep -c "normal symbol \`\(malloc\|calloc\|realloc\|free\)'" "$f")
  [ "$n" -gt 0 ] || fail "$(basename "$f"): no allocator binding at all"
  other=$(grep "normal symbol \`\(malloc\|calloc\|realloc\|free\)'" "$f" | grep -v "to [^ ]*libjemalloc")
  [ -z "$other" ] || fail "$(basename "$f"): malloc not from jemalloc: $(echo "$other" | head -2)"
done
echo "ok: $(echo "$v" | tail -1); $files processes, every malloc/calloc/realloc/free bound to libjemalloc"
