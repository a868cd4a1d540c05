#!/usr/bin/env bash
# System test of the command line: a real segment, a real writer process,
# and tickd init / info / tail / stats / top / clean against them.
# usage: tools_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
W=$B/tests/system/tick_writer
P=/dev/shm/tickd-tools-test-$$
export TICKD_SHM_PATH=$P
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { kill ${wpid:-} ${tpid:-} 2>/dev/null || true; rm -f "$P" "$P".*; }
trap cleanup EXIT

"$T" --help | grep "tail" >/dev/null || fail "tickd --help lists no commands"
for c in init info clean tail stats top; do
  "$T" "$c" --help >/dev/null || fail "tickd $c --help"
done

# Bad settings: one line naming the setting, exit 2.
set +e
out=$("$T" tail --count abc 2>&1); rc=$?
set -e
[ $rc -eq 2 ] || fail "bad --count exits $rc, not 2"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "bad --count: more than one line: $out"
printf '%s' "$out" | grep -q -- "--count: 'abc' is not an integer" || fail "bad --count message: $out"
set +e; "$T" init --slots 1000 >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 2 ] || fail "--slots 1000 (not a power of two) exits $rc"

# No segment yet: a clear refusal.
set +e; out=$("$T" stats 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "tickd run" || fail "missing segment: $rc $out"

"$T" init --slots 4096 --logs ticks.0,ticks.1 >/dev/null
[ "$(stat -c %a "$P")" = 600 ] || fail "segment mode is not 0600"
"$T" info | grep "ticks.1" >/dev/null || fail "info does not list the logs"
set +e; "$T" init >/dev/null 2>&1; rc=$?; set -e
[ $rc -ne 0 ] || fail "init over an existing segment must refuse without --fresh"
# An earlier segment's engine checkpoint (here of an older format, which
# the engine could not tell from its own) goes with a fresh segment.
printf 'TKCKPT03 an older engine checkpoint' > "$P.engine.0"
out=$("$T" init --fresh --slots 4096 --logs ticks.0,ticks.1)
[ ! -e "$P.engine.0" ] || fail "init --fresh left the old segment's checkpoint: $out"
printf '%s' "$out" | grep -q "removed $P.engine.0" || fail "init --fresh did not say what it removed: $out"
# Only its own: a path with a glob character in it names no other's.
Q="${P%?}*"
printf 'TKCKPT05 another segment' > "$P.engine.0"
TICKD_SHM_PATH="$Q" "$T" init --slots 4096 >/dev/null
[ -e "$P.engine.0" ] || fail "init of $Q removed the checkpoint of $P"
TICKD_SHM_PATH="$Q" "$T" clean >/dev/null
[ -e "$P.engine.0" ] || fail "clean of $Q removed the checkpoint of $P"
rm -f "$P.engine.0"

# A finite run: 1000 ticks, then every one of them, in order, as JSON.
"$W" --count 1000 --rate 0 --seed 7
"$T" tail --from-start --no-follow > "$P.out"
[ "$(wc -l < "$P.out")" -eq 1000 ] || fail "tail printed $(wc -l < "$P.out") lines, not 1000"
python3 - "$P.out" <<'PY'
import json, sys
seqs = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert set(r) >= {"symbol", "price", "size", "ts", "seq"}, r
    assert isinstance(r["ts"], int) and r["ts"] > 1600000000000, r
    assert r["price"] > 0 and r["size"] > 0, r
    seqs.append(r["seq"])
assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "sequences out of order"
PY
rm -f "$P.out"
[ "$("$T" tail --no-follow --count 5 | wc -l)" -eq 5 ] || fail "--count 5"
n=$("$T" tail --from-start --no-follow --symbol AAPL | wc -l)
[ "$n" -gt 0 ] && [ "$n" -lt 1000 ] || fail "--symbol AAPL printed $n lines"
"$T" tail --from-start --no-follow --symbol AAPL | grep -v '"symbol":"AAPL"' && fail "--symbol let another symbol through"
"$T" tail --from-start --no-follow --heartbeats | grep '"type":"heartbeat"' >/dev/null || fail "no heartbeat"
set +e; "$T" tail nosuchlog >/dev/null 2>&1; rc=$?; set -e
[ $rc -eq 1 ] || fail "unknown log exits $rc"

# Follow a live writer: tail -f gets new records, stats sees the writer and the reader.
"$W" --rate 2000 --duration 30 &
wpid=$!
timeout 10 "$T" tail --count 20 > "$P.live" || fail "tail did not get 20 live records"
[ "$(wc -l < "$P.live")" -eq 20 ] || fail "tail --count 20"
rm -f "$P.live"
"$T" tail --name watcher --count 1000000 >/dev/null &
tpid=$!
sleep 1
"$T" stats --json > "$P.stats"
python3 - "$P.stats" "$wpid" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
log = {l["name"]: l for l in s["logs"]}["ticks.0"]
assert log["writer"]["pid"] == int(sys.argv[2]) and log["writer"]["alive"], log["writer"]
assert log["rate_per_s"] > 500, log["rate_per_s"]
assert log["write_seq"] > 1000
r = {x["name"]: x for x in log["readers"]}["watcher"]
assert r["alive"] and r["state"] == "active" and not r["gating"], r
assert r["lag"] < 10000, r
assert s["symbols"] == 6, s["symbols"]
PY
rm -f "$P.stats"
"$T" stats > "$P.plain"
grep -q "reader watcher" "$P.plain" || fail "plain stats does not show the reader"
"$T" top --iterations 2 --interval 100 </dev/null > "$P.top" || fail "top exited non-zero"
[ "$(grep -c 'ticks.0' "$P.top")" -eq 2 ] && grep -q 'watcher' "$P.top" || fail "top did not draw two frames"
kill $tpid; wait $tpid 2>/dev/null || true
kill $wpid; wait $wpid 2>/dev/null || true

# Refusals: a foreign file and a segment of another ABI version.
head -c 8192 /dev/urandom > "$P.foreign"
set +e; out=$("$T" stats --shm-path "$P.foreign" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "not a tickd segment" || fail "foreign file: $out"
printf '\x09' | dd of="$P" bs=1 seek=8 conv=notrunc status=none
set +e; out=$("$T" tail 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && printf '%s' "$out" | grep -q "ABI version 9, this build reads version [0-9]" || fail "ABI: $out"

"$T" clean | grep removed >/dev/null || fail "clean"
[ ! -e "$P" ] || fail "clean left the segment"
echo "1 passed, 0 failed"
