#!/usr/bin/env bash
# The production binary does not carry the simdjson DOM parser (issue 8,
# item 11): tickd parses Finnhub with feed/fh_scan.c; feed/fh_parse.cpp
# (simdjson's DOM, the scanner's reference) is for the tests, bench/feed and
# the fuzz target.  So build/tickd has no simdjson symbol, no libsimdjson
# and no libstdc++ among its dependencies; it does depend on libjemalloc,
# and libtickd (the public reader library) depends on none of the three
# nor on jemalloc, which is its host program's choice.
# usage: binary_deps_test.sh BUILD_DIR
set -uo pipefail
B=$1
T=$B/tickd
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -x "$T" ] || fail "no $T"
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

syms=$(nm -C "$T" 2>/dev/null | grep -ci simdjson)
[ "$syms" -eq 0 ] || fail "tickd has $syms simdjson symbols: $(nm -C "$T" | grep -i simdjson | head -3)"
n=$(needed "$T")
! echo "$n" | grep -q simdjson || fail "tickd needs libsimdjson: $(echo "$n" | tr '\n' ' ')"
! echo "$n" | grep -q 'libstdc++' || fail "tickd needs libstdc++ (C++ linked in): $(echo "$n" | tr '\n' ' ')"
echo "$n" | grep -q '^libjemalloc' || fail "tickd does not link jemalloc: $(echo "$n" | tr '\n' ' ')"
# No simdjson loaded at run time either (ldd follows the dependencies' own).
# libstdc++ is loaded only because Debian's libjemalloc needs it (its C++
# operator new); say so if that changes.
l=$(ldd "$T")
! echo "$l" | grep -q 'simdjson' || fail "ldd tickd: $(echo "$l" | grep simdjson)"
if echo "$l" | grep -q 'libstdc++'; then
  why=$(for d in $(echo "$l" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
          needed "$d" | grep -q 'libstdc++' && basename "$d"; done | tr '\n' ' ')
  [ -n "$why" ] || fail "ldd tickd loads libstdc++, and none of its libraries needs it"
  echo "note: libstdc++ is loaded for $why(not for tickd's own code)"
fi

L=$(ls "$B"/libtickd.so.[0-9]* 2>/dev/null | head -1)
[ -n "$L" ] || fail "no libtickd.so in $B"
ln=$(needed "$L")
! echo "$ln" | grep -q 'jemalloc\|simdjson\|libstdc++' ||
  fail "libtickd forces on its host: $(echo "$ln" | grep 'jemalloc\|simdjson\|libstdc++')"
echo "ok: tickd needs $(echo "$n" | tr '\n' ' '); libtickd needs $(echo "$ln" | tr '\n' ' ')"
