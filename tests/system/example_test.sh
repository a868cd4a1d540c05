#!/usr/bin/env bash
# The public reader API from outside the tree: install tickd into a scratch
# prefix, build the examples with nothing but pkg-config, run them and the
# Python binding (from the prefix, PYTHONPATH only) against a finite tickd
# run whose trades cross a UTC midnight, and hold what they print to
# `tickd tail` byte for byte and to quotes computed from the tick log.
# Then examples/follow.c follows a running writer.
# usage: example_test.sh SOURCE_DIR BUILD_DIR [EXTRA_CFLAGS (a sanitizer build's)]
set -euo pipefail
S=$1
B=$2
X=${3:-}
D=$(mktemp -d)
P=/dev/shm/tickd-example-test-$$
cleanup() {
  if [ -n "${wpid:-}" ]; then kill "$wpid" 2>/dev/null || true; wait "$wpid" 2>/dev/null || true; fi
  rm -rf "$D"; rm -f "$P" "$P".*
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Python loading a libtickd built with ASan needs the ASan runtime first;
# the interpreter's own allocations are not ours to leak-check.
py() {
  case "$X" in
  *sanitize=address*)
    LD_PRELOAD=$(cc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 python3 "$@" ;;
  *) python3 "$@" ;;
  esac
}
quiet() { [ ! -s "$1" ] || fail "$2 wrote to stderr: $(head -3 "$1")"; }

cmake --install "$B" --prefix "$D/prefix" >/dev/null
export PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig:$D/prefix/lib/x86_64-linux-gnu/pkgconfig
export PYTHONPATH=$D/prefix/lib/python3/dist-packages
unset TICKD_LIB
mkdir "$D/src"
cp "$S/examples/follow.c" "$S/examples/bars.c" "$S/examples/quote.c" \
  "$S/tests/system/public_api_sizes.c" "$D/src/"
for p in follow bars quote public_api_sizes; do
  (cd "$D/src" && cc -std=c17 -Wall -Wextra -Wpedantic -Werror $X $p.c -o $p \
    $(pkg-config --cflags --libs tickd)) || fail "examples/$p.c does not build with pkg-config"
done
[ "$(cd /tmp && py -c 'import tickd; print(tickd.library_version())')" = \
  "$(pkg-config --modversion tickd)" ] || fail "the binding does not load the installed libtickd"

export TICKD_SHM_PATH=$P
"$B/tickd" run --fresh --source synth --seed 7 --count 200000 --start 1704239900 --exit-at-end \
  >"$D/run.log" 2>&1 || fail "tickd run: $(tail -3 "$D/run.log")"

# bars and python3 -m tickd tail print exactly what tickd tail prints.
for log in bars.1m bars.1s signals; do
  "$B/tickd" tail "$log" --from-start --no-follow >"$D/tail.$log"
  [ -s "$D/tail.$log" ] || fail "tickd tail $log printed nothing"
  "$D/src/bars" "$log" >"$D/bars.$log" 2>"$D/err" || fail "bars $log"
  quiet "$D/err" "bars"
  cmp "$D/tail.$log" "$D/bars.$log" || fail "examples/bars differs from tickd tail for $log"
  (cd /tmp && py -m tickd tail "$log" --from-start --no-follow) >"$D/py.$log" 2>"$D/err" ||
    fail "python3 -m tickd tail $log"
  quiet "$D/err" "python3 -m tickd tail"
  cmp "$D/tail.$log" "$D/py.$log" || fail "python3 -m tickd tail differs from tickd tail for $log"
done
"$B/tickd" tail ticks.0 --from-start --no-follow --heartbeats >"$D/tail.ticks"
(cd /tmp && py -m tickd tail ticks.0 --from-start --no-follow --heartbeats) >"$D/py.ticks"
cmp "$D/tail.ticks" "$D/py.ticks" || fail "python tail differs for ticks.0 with heartbeats"
for args in "--count 25 --no-follow" "--count 5 --no-follow --symbol MSFT" "--no-follow"; do
  cmp <("$B/tickd" tail ticks.0 $args) <(cd /tmp && py -m tickd tail ticks.0 $args) ||
    fail "python tail differs for ticks.0 $args"
done
echo "tail: $(wc -l <"$D/tail.bars.1m") 1m bars, $(wc -l <"$D/tail.signals") signals," \
  "$(wc -l <"$D/tail.ticks") tick-log lines: the same bytes from tickd tail, bars, python"

# The ctypes mirrors have the C sizes.
"$D/src/public_api_sizes" >"$D/sizes"
(cd /tmp && py - "$D/sizes" <<'EOF') || fail "the Python structs are not tickd.h's"
import sys, tickd
c = dict(l.split() for l in open(sys.argv[1]))
bad = {k: (int(v), tickd.STRUCT_SIZES.get(k)) for k, v in c.items()
       if tickd.STRUCT_SIZES.get(k) != int(v)}
assert not bad and len(c) == len(tickd.STRUCT_SIZES), bad
EOF

# Quotes: examples/quote and Segment().quote() against the tick log.
"$B/tickd" tail ticks.0 --from-start --no-follow | py "$S/tests/system/quote_ref.py" >"$D/ref.json"
for sym in $(cd /tmp && py -m tickd symbols); do
  "$D/src/quote" "$sym" >"$D/quote.$sym" 2>"$D/err" || fail "quote $sym: $(cat "$D/err")"
  quiet "$D/err" "quote"
done
(cd /tmp && py - "$D" "$D/ref.json" <<'EOF') || fail "quotes differ from the tick log"
import json, math, sys, tickd
d, ref = sys.argv[1], json.load(open(sys.argv[2]))
seg = tickd.Segment()
assert sorted(ref) == sorted(seg.symbols()), (sorted(ref), seg.symbols())
def same(a, b):
    return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b
crossed = 0
for sym, r in ref.items():
    q = seg.quote(sym)
    c = {}
    for line in open("%s/quote.%s" % (d, sym)):
        k, v = line.split()
        c[k] = v
    assert c["symbol"] == sym and q.symbol == sym
    for k in ("last_price", "last_size", "day_open", "day_high", "day_low", "day_volume",
              "prev_close", "change", "change_pct", "trade_count", "day_ns", "seq"):
        want = r[k]
        got_py = getattr(q, k)
        got_c = float(c[k]) if isinstance(want, float) else int(c[k])
        assert same(want, got_py), (sym, k, want, got_py)
        assert same(want, got_c), (sym, k, want, got_c)
    assert q.last_ts_ns // 1000000 == r["last_ts_ms"] and int(c["last_ts_ns"]) == q.last_ts_ns
    assert q.late == 0 and q.symbol_id == seg.symbol_id(sym)
    crossed += not math.isnan(q.prev_close)
assert crossed == len(ref), "every symbol traded on both days: %d of %d" % (crossed, len(ref))
# The rest of the binding: timeframes, history (the log's bars), follow.
tfs = seg.timeframes()
assert [t.name for t in tfs] == ["1s", "1m", "5m", "1h"] and tfs[1].history_depth == 1439, tfs
bars = [r for r in seg.follow("bars.1m", from_start=True, follow=False) if r.symbol == "AAPL"]
hist = seg.history("AAPL", "1m")
assert [b.window_start for b in hist] == [r.fields["window_start"] for r in bars], "history"
assert [b.close for b in hist] == [r.fields["close"] for r in bars]
assert all(r.fields["tf_ns"] == 60 * 10**9 and r.type == tickd.REC_BAR for r in bars)
try:
    seg.quote("NOPE")
    raise SystemExit("an unknown symbol was quoted")
except tickd.TickdError as e:
    assert e.errno == 2 and "no symbol 'NOPE'" in e.strerror, e
try:
    seg.follow("nope")
    raise SystemExit("an unknown log was followed")
except tickd.TickdError as e:
    assert e.errno == 2 and "no log named 'nope'" in e.strerror, e
print("quotes: %d symbols, every field as computed from the tick log (C and Python)" % len(ref))
EOF
# Errors: a message from the library, exit 1, nothing else on stderr.
if (cd /tmp && py -m tickd quote NOPE) 2>"$D/err"; then fail "quote NOPE succeeded"; fi
[ "$(cat "$D/err")" = "tickd quote: no symbol 'NOPE' in segment $P" ] || fail "$(cat "$D/err")"
if "$D/src/bars" nope 2>"$D/err"; then fail "bars nope succeeded"; fi
grep -q "^bars: no log named 'nope' in segment $P; it has: ticks.0, bars.1s" "$D/err" ||
  fail "bars nope: $(cat "$D/err")"

# follow: a running writer.
"$B/tickd" init --fresh --slots 4096 >/dev/null
"$B/tests/system/tick_writer" --rate 5000 --duration 20 &
wpid=$!
"$D/src/follow" ticks.0 200 > "$D/out" || fail "follow failed"
[ "$(wc -l < "$D/out")" -eq 200 ] || fail "follow printed $(wc -l < "$D/out") trades, not 200"
grep -qE '^[0-9]+ (AAPL|MSFT|AMZN|BINANCE:BTCUSDT|BINANCE:ETHUSDT|OANDA:EUR_USD) [0-9.]+ x [0-9]+ at [0-9]+$' "$D/out" ||
  fail "unexpected output: $(head -3 "$D/out")"
echo "1 passed, 0 failed"
