#!/usr/bin/env bash
# tickd run, the supervisor: a finite run twice gives byte-identical bars;
# a live run serves bars, restarts a killed worker, stops cleanly on
# SIGTERM, and a second run resumes on the segment.
# usage: run_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
P=/dev/shm/tickd-run-test-$$
export TICKD_SHM_PATH=$P
trap 'kill ${rpid:-} 2>/dev/null || true; sleep 0.5; rm -f "$P" "$P".*' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

for i in 1 2; do
  "$T" run --fresh --source synth --seed 7 --count 200000 --exit-at-end >/dev/null 2>"$P.err$i" ||
    fail "finite run $i: $(tail -3 "$P.err$i")"
  "$T" tail bars.1m --from-start --no-follow > "$P.bars$i"
done
[ "$(wc -l < "$P.bars1")" -eq 32 ] || fail "expected 32 1m bars, got $(wc -l < "$P.bars1")"
cmp -s "$P.bars1" "$P.bars2" || fail "two runs with seed 7 gave different bars"

# A live run, its clock 60 times real time so minutes pass in seconds: the
# first five 1m bars, field for field against the trades in the tick log.
"$T" run --fresh --rate 50 --speed 60 --start now > "$P.out" 2> "$P.log" &
rpid=$!
for _ in $(seq 1 200); do grep -q "look: tickd top" "$P.out" 2>/dev/null && break; sleep 0.05; done
timeout 30 "$T" tail bars.1m --from-start --count 5 > "$P.live" || fail "no 1m bars from a live run"
"$T" tail ticks.0 --from-start --no-follow > "$P.ticks"
python3 - "$P.live" "$P.ticks" <<'PY' || fail "live 1m bars do not match their trades"
import json, math, sys
bars = [json.loads(l) for l in open(sys.argv[1])]
trades = [json.loads(l) for l in open(sys.argv[2])]
assert len(bars) == 5, bars
for b in bars:
    assert {"symbol", "tf", "window_start", "open", "high", "low", "close", "volume", "vwap",
            "trade_count"} <= set(b), b
    assert b["tf"] == "1m" and isinstance(b["window_start"], int) and b["window_start"] % 60000 == 0, b
    mine = [t for t in trades if t["symbol"] == b["symbol"]
            and b["window_start"] <= t["ts"] < b["window_start"] + 60000]
    mine.sort(key=lambda t: t["seq"])  # arrival order
    assert len(mine) == b["trade_count"], (b, len(mine))
    first, last = min(t["ts"] for t in mine), max(t["ts"] for t in mine)
    assert b["open"] in [t["price"] for t in mine if t["ts"] == first], b
    assert b["close"] in [t["price"] for t in mine if t["ts"] == last], b
    assert b["high"] == max(t["price"] for t in mine) and b["low"] == min(t["price"] for t in mine), b
    vol = sum(t["size"] for t in mine)
    pv = sum(t["price"] * t["size"] for t in mine)
    assert math.isclose(b["volume"], vol, rel_tol=1e-12), (b, vol)
    assert math.isclose(b["vwap"], pv / vol if vol > 0 else b["close"], rel_tol=1e-9), (b, pv / vol)
PY
grep -q "look: tickd top" "$P.out" || fail "no banner (the run did not start)"
epid=$("$T" stats --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print([r["pid"] for l in s["logs"] if l["name"]=="ticks.0" for r in l["readers"] if r["name"]=="engine.0"][0])')
kill -9 "$epid"
for _ in $(seq 1 100); do
  grep -q "engine.0 (pid $epid) was killed by signal 9; restarting" "$P.log" && break
  sleep 0.05
done
grep -q "engine.0 (pid $epid) was killed by signal 9; restarting" "$P.log" || fail "no restart logged"
for _ in $(seq 1 100); do
  npid=$("$T" stats --json | python3 -c 'import json,sys; s=json.load(sys.stdin); p=[r["pid"] for l in s["logs"] if l["name"]=="ticks.0" for r in l["readers"] if r["name"]=="engine.0" and r["alive"]]; print(p[0] if p else 0)' 2>/dev/null || echo 0)
  [ "$npid" != 0 ] && [ "$npid" != "$epid" ] && break
  sleep 0.05
done
[ "$npid" != 0 ] && [ "$npid" != "$epid" ] || fail "the worker was not restarted"
grep -q "restored from its checkpoint" "$P.log" || fail "the restarted worker did not restore its checkpoint"
kill -TERM $rpid
for _ in $(seq 1 150); do kill -0 $rpid 2>/dev/null || break; sleep 0.05; done
kill -0 $rpid 2>/dev/null && fail "tickd run did not stop on SIGTERM"
wait $rpid || fail "tickd run exited non-zero after SIGTERM"
rpid=
pgrep -f "tickd (engine|feed) .*$P" >/dev/null && fail "children left running"

# Resume on the segment.
"$T" run --duration 1 > /dev/null 2> "$P.log2" || fail "resumed run failed"
grep -q "resuming on the existing segment" "$P.log2" || fail "did not resume"
echo "1 passed, 0 failed"
