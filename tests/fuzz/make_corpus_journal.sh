#!/bin/sh
# Regenerates tests/fuzz/corpus_journal, fuzz_journal's seeds: a short
# seeded `tickd run` writes a journal, gen_corpus_journal.c cuts its
# records into small files with the journal's own writer functions and adds
# blocks, headers, times and rules.  Everything temporary is removed.  The
# crash_* inputs (ones that crashed the target before their fixes, kept as
# regressions) stay as they are.
# Not byte for byte the same each time: the segment's generation and the
# feed's receive times are wall clock.
#   tests/fuzz/make_corpus_journal.sh [BUILD_DIR]   (default build; needs BUILD_DIR/tickd)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
out=$root/tests/fuzz/corpus_journal
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzzseed.XXXXXX")
shm=/dev/shm/fuzzseed-$$
cleanup() { rm -rf "$tmp"; rm -f "$shm" "$shm".*; }
trap cleanup EXIT INT TERM
cc -O1 -g -D_GNU_SOURCE -I"$root" -o "$tmp/gen" "$root/tests/fuzz/gen_corpus_journal.c" \
   "$root/persist/format.c" "$root/persist/index.c" "$root/common/crc32c.c" \
   "$root/common/err.c" -lpthread
"$build/tickd" run --fresh --seed 3 --count 300 --exit-at-end --data-dir "$tmp/data" \
   --shm-path "$shm" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
mkdir -p "$out"
rm -f "$out"/file_* "$out"/block_* "$out"/header "$out"/real_* "$out"/time_* "$out"/retain_*
"$tmp/gen" "$out" "$tmp"/data/ticks/*/ticks.0.*.tkj "$tmp"/data/ticks/*/*.tkj \
   "$tmp"/data/bars.1m/*/*.tkj "$tmp"/data/signals/*/*.tkj
ls -l "$out" | tail -n +2 | wc -l
du -sh "$out"
