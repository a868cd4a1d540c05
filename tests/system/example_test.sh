#!/usr/bin/env bash
# The public reader API from outside the tree: install tickd into a scratch
# prefix, build examples/follow.c with nothing but pkg-config, and let it
# follow a running writer.
# usage: example_test.sh SOURCE_DIR BUILD_DIR [EXTRA_CFLAGS (a sanitizer build's)]
set -euo pipefail
S=$1
B=$2
X=${3:-}
D=$(mktemp -d)
P=/dev/shm/tickd-example-test-$$
export TICKD_SHM_PATH=$P
cleanup() { kill "${wpid:-}" 2>/dev/null || true; rm -rf "$D" "$P"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$B" --prefix "$D/prefix" >/dev/null
export PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig:$D/prefix/lib/x86_64-linux-gnu/pkgconfig
cp "$S/examples/follow.c" "$D/"
(cd "$D" && cc -Wall -Wextra -Werror $X follow.c -o follow $(pkg-config --cflags --libs tickd)) ||
  fail "the example does not build with pkg-config"

"$B/tickd" init --slots 4096 >/dev/null
"$B/tests/system/tick_writer" --rate 5000 --duration 20 &
wpid=$!
"$D/follow" ticks.0 200 > "$D/out" || fail "follow failed"
[ "$(wc -l < "$D/out")" -eq 200 ] || fail "follow printed $(wc -l < "$D/out") trades, not 200"
grep -qE '^[0-9]+ (AAPL|MSFT|AMZN|BINANCE:BTCUSDT|BINANCE:ETHUSDT|OANDA:EUR_USD) [0-9.]+ x [0-9]+ at [0-9]+$' "$D/out" ||
  fail "unexpected output: $(head -3 "$D/out")"
echo "1 passed, 0 failed"
