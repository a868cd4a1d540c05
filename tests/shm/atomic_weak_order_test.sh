#!/bin/sh
# Regression (issue 8): shm/atomic.h's acquire/release were right only on
# x86 (TSO).  Its release store was a store fence then the store, which on
# arm64 is `dmb ishst`: the loads of a slot a reader copied could still be
# performed after its cursor store, so a writer could overwrite the slot
# under the copy.  Compile the helpers for arm64 (clang, freestanding, with
# Concurrency Kit's arm64 ck_pr and the RMO model Debian's arm64 ck_md.h
# declares) and check both carry a full `dmb ish`; and check that building
# for arm64 against this machine's x86 ck_md.h (TSO) is refused.
# usage: atomic_weak_order_test.sh SOURCE_DIR
set -eu
SRC=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v clang >/dev/null || { echo "SKIP: no clang"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cat >"$W/probe.c" <<'PROBE'
#include "shm/atomic.h"
/* A reader's release of its cursor after copying a slot. */
uint64_t tk_probe_release(uint64_t *slot, uint64_t *cursor)
{
	uint64_t v = tk_load_relaxed_64(slot);
	tk_store_release_64(cursor, 1);
	return v;
}
/* A writer's acquire of the cursor before it reuses the slot. */
uint64_t tk_probe_acquire(uint64_t *cursor, uint64_t *slot)
{
	uint64_t c = tk_load_acquire_64(cursor);
	tk_store_relaxed_64(slot, c);
	return c;
}
PROBE
A="clang --target=aarch64-linux-gnu -ffreestanding -O2 -S -I$SRC"
$A -DCK_MD_RMO -o "$W/probe.s" "$W/probe.c" || fail "atomic.h does not compile for arm64"
fn() { awk -v f="$1:" '$1 == f { on = 1; next } on && /^[A-Za-z_.][A-Za-z0-9_.]*:/ && $1 !~ /^\.L/ { on = 0 } on' "$W/probe.s"; }
for f in tk_probe_release tk_probe_acquire; do
  body=$(fn $f)
  [ -n "$body" ] || fail "$f not found in the arm64 assembly"
  # `dmb ish` (full), not `dmb ishst`/`dmb ishld`.
  echo "$body" | grep -Eq 'dmb[[:space:]]+ish$' ||
    fail "$f on arm64 has no full barrier (dmb ish): $(echo "$body" | grep dmb | tr -s ' \t' ' ')"
done
# The x86 ck_md.h says TSO: for arm64 that must be an #error, not silence.
if $A -o /dev/null "$W/probe.c" 2>"$W/err"; then
  fail "atomic.h compiled for arm64 with a TSO memory model and no complaint"
fi
grep -q "TSO" "$W/err" || fail "arm64 with a TSO ck_md.h failed, but not with atomic.h's message: $(head -3 "$W/err")"
echo "ok: release and acquire are dmb ish on arm64; a TSO ck_md.h on arm64 is refused"
