#!/usr/bin/env bash
# Host A publishes (tickd run --kafka, its own segment) to the test broker;
# consuming hosts B (more segments, tickd run --source kafka) make their
# bars from the topic.  Their bars and signals must equal A's, exactly
# (every field but the log's seq).
#   once:  one B on every partition (--partitions all); bad messages on the
#          topic while it runs (not JSON, a Finnhub trade with a bad price,
#          the followed source with a bad tickd.seq, another tickd source)
#          are counted by reason and skipped; B's trades are A's, in A's order
#   kill:  the same, with B's feed kill -9'ed KILLS times while it consumes
#          (tickd run restarts it): still A's trades once each, in order
#   scale: B1 and B2 in one consumer group, each with its share of the
#          partitions: the union of their bars equals A's; no symbol twice
#   finnhub: like once (without the bad messages), A publishing its trades
#          in Finnhub's format (tickd kafka --trades-format finnhub)
#   gap:   B's feed stopped (SIGSTOP) while A publishes more than the mock
#          broker keeps (about 5 MiB a partition): when it goes on, the offsets
#          it wanted are gone; it writes a gap event, counts it, and its
#          trades are A's in A's order with a hole, never twice
# usage: consume_test.sh BUILD_DIR TRADES RATE MODE [KILLS]
set -euo pipefail
B=$1
TRADES=${2:-100000}
RATE=${3:-5000}
MODE=${4:-once}
KILLS=${5:-20}
if [ "${TICKD_TEST_SCALE:-}" = small ]; then # the sanitizer builds
  # (gap: as many trades, or the broker would keep them all)
  [ "$MODE" != gap ] && TRADES=$((TRADES / 4))
  RATE=$((RATE / 8))
  KILLS=$((KILLS / 2))
fi
T=$B/tickd
M=$B/tickd-mock-kafka
command -v kcat >/dev/null || { echo "SKIP: kcat is not installed (scripts/deps.sh)"; exit 77; }
PARTS=12
TOPICS=market.trades.raw,market.gaps,market.signals,market.bars.1s,market.bars.1m,market.bars.5m,market.bars.1h
D=$(mktemp -d /tmp/tickd-kafka-consume.XXXXXX)
PA=/dev/shm/tickd-kc-a-$$
PB1=/dev/shm/tickd-kc-b1-$$
PB2=/dev/shm/tickd-kc-b2-$$
BROKER=
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for s in "$PA" "$PB1" "$PB2"; do
    pkill -9 -f "tickd (run|kafka|feed|engine) .*--shm-path $s" 2>/dev/null || true
    "$T" clean --shm-path "$s" >/dev/null 2>&1 || true
  done
  [ -n "$BROKER" ] && { kill "$BROKER" 2>/dev/null || true; }
  [ -n "${KEEP:-}" ] && echo "kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*" >&2
  for f in a b1 b2; do
    [ -s "$D/$f.log" ] && { echo "--- $f.log (last 15 lines):" >&2; tail -15 "$D/$f.log" >&2; }
  done
  exit 1
}

"$M" --brokers 3 --partitions $PARTS --topics $TOPICS --ready-file "$D/ready" \
  --control "$D/ctl" >"$D/broker.out" 2>"$D/broker.err" &
BROKER=$!
for _ in $(seq 100); do [ -s "$D/ready" ] && break; sleep 0.1; done
[ -s "$D/ready" ] || fail "the broker did not start"
BS=$(cat "$D/ready")

consumer() { # SEGMENT LOG [run options...]
  local seg=$1 log=$2
  shift 2
  "$T" run --fresh --shm-path "$seg" --no-persist --source kafka --kafka "$BS" --exit-at-end \
    "$@" >"$D/$log" 2>&1 &
  PIDS+=($!)
}
assigned() { # SEGMENT: partitions the feed has now
  "$T" stats --shm-path "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["feeds"][0]["subscribed"])' 2>/dev/null || echo 0
}

# The consumers first, settled on their partitions before A writes.
case $MODE in
  once|kill|finnhub) consumer "$PB1" b1.log --partitions all; NB=1 ;;
  gap) consumer "$PB1" b1.log --partitions all --slots 4194304; NB=1 ;;
  scale) consumer "$PB1" b1.log --group scale; consumer "$PB2" b2.log --group scale; NB=2 ;;
  *) fail "unknown mode $MODE" ;;
esac
for _ in $(seq 300); do
  got=0
  for s in "$PB1" "$PB2"; do [ -e "$s" ] && got=$((got + $(assigned "$s"))); done
  [ "$got" -eq $PARTS ] && break
  sleep 0.1
done
[ "$got" -eq $PARTS ] || fail "the consumers hold $got of $PARTS partitions"
if [ "$MODE" = scale ]; then
  [ "$(assigned "$PB1")" -gt 0 ] && [ "$(assigned "$PB2")" -gt 0 ] ||
    fail "one consumer of the group holds every partition"
fi

if [ "$MODE" = finnhub ]; then
  # The publisher by hand, before the feed writes: it starts at the log's start.
  "$T" init --fresh --shm-path "$PA" --slots 1048576 >/dev/null
  "$T" kafka --shm-path "$PA" --kafka "$BS" --trades-format finnhub >"$D/a.kafka.log" 2>&1 &
  KPID=$!
  PIDS+=($KPID)
  "$T" run --shm-path "$PA" --no-persist --source synth --count "$TRADES" --symbols 50 \
    --start 1704205800 --rate "$RATE" --speed 1 --exit-at-end >"$D/a.log" 2>&1 &
elif [ "$MODE" = gap ]; then
  # Without --exit-at-end: A is stopped once its publisher has sent it all
  # (at the end, tickd run gives a publisher 20 s; under ASan 2,000,000
  # messages take longer).
  "$T" run --fresh --shm-path "$PA" --no-persist --kafka "$BS" --source synth --count "$TRADES" \
    --symbols 50 --start 1704205800 --speed max --slots 4194304 >"$D/a.log" 2>&1 &
else
  "$T" run --fresh --shm-path "$PA" --no-persist --kafka "$BS" --source synth --count "$TRADES" \
    --symbols 50 --start 1704205800 --rate "$RATE" --speed 1 --exit-at-end --slots 1048576 \
    >"$D/a.log" 2>&1 &
fi
APID=$!
PIDS+=($APID)

if [ "$MODE" = once ]; then
  # Bad messages while the run goes, each to a partition of its own.
  # A's tickd.src, as the first message of the topic carries it.
  for _ in $(seq 100); do
    src=$(timeout 10 kcat -C -b "$BS" -t market.trades.raw -p 0 -o beginning -c 1 -f '%h\n' 2>/dev/null |
      tr ',' '\n' | sed -n 's/^tickd.src=//p' || true)
    [ -n "$src" ] && break
    sleep 0.1
  done
  [ -n "$src" ] || fail "no message of A on the topic"
  sleep 2
  printf 'not json at all\n' | kcat -P -b "$BS" -t market.trades.raw -p 0 -K '\t' 2>/dev/null || true
  printf 'AAPL\t{"type":"trade","data":[{"s":"AAPL","p":-5,"t":1704205801000,"v":1}]}\n' |
    kcat -P -b "$BS" -t market.trades.raw -p 1 -K '\t'
  printf 'AAPL\t{"symbol":"AAPL","price":1,"size":1,"ts":1704205801000,"seq":1}\n' |
    kcat -P -b "$BS" -t market.trades.raw -p 2 -K '\t' -H "tickd.src=$src" \
      -H "tickd.seq=twelve" -H "tickd.clock=0" -H "tickd.ts=1704205801000000000"
  printf 'AAPL\t{"symbol":"AAPL","price":1,"size":1,"ts":1704205801000,"seq":1}\n' |
    kcat -P -b "$BS" -t market.trades.raw -p 3 -K '\t' -H "tickd.src=elsewhere/ticks.0@1" \
      -H "tickd.seq=1" -H "tickd.clock=0" -H "tickd.ts=1704205801000000000"
  printf 'AAPL\t{"symbol":"AAPL","price":"1","size":1,"ts":1704205801000,"seq":5}\n' |
    kcat -P -b "$BS" -t market.trades.raw -p 4 -K '\t' -H "tickd.src=$src" \
      -H "tickd.seq=5" -H "tickd.clock=0" -H "tickd.ts=1704205801000000000"
fi

kills=0
if [ "$MODE" = kill ]; then
  RANDOM=11
  while [ $kills -lt "$KILLS" ] && kill -0 $APID 2>/dev/null; do
    pid=$(pgrep -f "tickd feed --source kafka --shm-path $PB1" | head -1 || true)
    [ -n "$pid" ] || { sleep 0.05; continue; }
    # Once it has written since it (re)started, at a random moment.
    n0=$("$T" stats --shm-path "$PB1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["feeds"][0]["trades"])')
    for _ in $(seq 100); do
      n=$("$T" stats --shm-path "$PB1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["feeds"][0]["trades"])')
      [ "$n" -gt "$n0" ] && break
      sleep 0.05
    done
    sleep "0.$(( RANDOM % 5 ))$(( RANDOM % 10 ))"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
  done
  [ $kills -eq "$KILLS" ] || fail "A ended after $kills of $KILLS kills (make it longer)"
fi

b_trades() {
  "$T" stats --shm-path "$PB1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["feeds"][0]["trades"])'
}
if [ "$MODE" = gap ]; then
  for _ in $(seq 300); do [ "$(b_trades)" -gt 1000 ] && break; sleep 0.05; done
  bpid=$(pgrep -f "tickd feed --source kafka --shm-path $PB1" | head -1)
  [ -n "$bpid" ] || fail "no consuming feed to stop"
  kill -STOP "$bpid"
  stopped_at=$(b_trades)
fi
published() { # the publisher's cursor on A's ticks.0 is past its last record
  local end c
  end=$("$T" stats --shm-path "$PA" | awk '$1 == "log" && $2 == "ticks.0" {print $4; exit}')
  c=$("$T" stats --shm-path "$PA" | awk '$1 == "log" {l = $2}
    $1 == "reader" && $2 == "kafka" && l == "ticks.0" {for (i = 3; i < NF; i++) if ($i == "cursor") {print $(i + 1); exit}}')
  [ -n "$c" ] && [ -n "$end" ] && [ "$c" -gt "$end" ]
}
if [ "$MODE" = gap ]; then
  # A's feed writes its END, then its publisher sends everything: then A stops.
  for _ in $(seq 1200); do
    pgrep -f "tickd feed --source synth --shm-path $PA" >/dev/null || break
    sleep 0.25
  done
  for _ in $(seq 1200); do published && break; sleep 0.25; done
  published || fail "A's publisher did not send all of ticks.0"
  kill -TERM $APID
fi
wait $APID || fail "host A's run failed"
if [ "$MODE" = gap ]; then
  kill -CONT "$bpid"
fi
if [ "$MODE" = finnhub ]; then
  # Everything published once the cursor is at the log's end, then stop it.
  for _ in $(seq 600); do published && break; sleep 0.1; done
  kill -TERM $KPID
  wait $KPID || fail "the Finnhub-format publisher failed"
  grep -q '"data":\[{"s":' < <(timeout 10 kcat -C -b "$BS" -t market.trades.raw -p 0 -o -5 -e -q 2>/dev/null) ||
    fail "the topic does not hold Finnhub's format"
fi
for p in "${PIDS[@]:0:$NB}"; do
  for _ in $(seq 600); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "a consumer did not reach the end of the stream"
  wait "$p" || fail "a consumer's run failed"
done

for l in bars.1s bars.1m bars.5m bars.1h signals; do
  "$T" tail $l --shm-path "$PA" --from-start --no-follow >"$D/A.$l"
  "$T" tail $l --shm-path "$PB1" --from-start --no-follow >"$D/B1.$l"
  if [ "$MODE" = scale ]; then
    "$T" tail $l --shm-path "$PB2" --from-start --no-follow >"$D/B2.$l"
  else
    : >"$D/B2.$l"
  fi
done
"$T" tail ticks.0 --shm-path "$PA" --from-start --no-follow >"$D/A.ticks"
"$T" tail ticks.0 --shm-path "$PB1" --from-start --no-follow >"$D/B1.ticks"
"$T" stats --shm-path "$PB1" --json >"$D/B1.stats"

python3 - "$D" "$MODE" "$TRADES" <<'PYEOF'
import json, sys
d, mode, trades = sys.argv[1], sys.argv[2], int(sys.argv[3])

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def rows(path):
    out = []
    for line in open(path, encoding="utf-8"):
        if line.strip():
            r = json.loads(line)
            r.pop("seq", None)
            out.append(r)
    return out

if mode == "gap":
    f = json.load(open(f"{d}/B1.stats"))["feeds"][0]
    ta = [(r["symbol"], r["price"], r["size"], r["ts"]) for r in rows(f"{d}/A.ticks")]
    tb, gaps = [], 0
    for r in rows(f"{d}/B1.ticks"):
        if r.get("type") == "gap":
            gaps += 1
        elif "price" in r:
            tb.append((r["symbol"], r["price"], r["size"], r["ts"]))
    if f["gaps"] < 1 or gaps < 1:
        fail(f"no gap: {f['gaps']} counted, {gaps} gap events in the log")
    if not 0 < len(tb) < len(ta):
        fail(f"B holds {len(tb)} of A's {len(ta)} trades: the broker kept everything?")
    # A subsequence of A's trades: in A's order, none twice.
    i = 0
    for t in tb:
        while i < len(ta) and ta[i] != t:
            i += 1
        if i == len(ta):
            fail(f"B's trade {t} is not in A's order (or twice)")
        i += 1
    print(f"gap: {f['gaps']} gaps counted, {gaps} events; B has {len(tb)} of A's {len(ta)} "
          f"trades, in A's order, none twice")
    sys.exit(0)
total = 0
for log in ["bars.1s", "bars.1m", "bars.5m", "bars.1h", "signals"]:
    a = rows(f"{d}/A.{log}")
    b1, b2 = rows(f"{d}/B1.{log}"), rows(f"{d}/B2.{log}")
    if not a:
        fail(f"A wrote no {log}")
    key = lambda r: json.dumps(r, sort_keys=True)
    if sorted(map(key, a)) != sorted(map(key, b1 + b2)):
        sa, sb = set(map(key, a)), set(map(key, b1 + b2))
        fail(f"{log}: A has {len(a)}, the consumers {len(b1) + len(b2)}; "
             f"A only: {sorted(sa - sb)[:2]} consumers only: {sorted(sb - sa)[:2]}")
    if mode == "scale" and log == "bars.1m":
        s1, s2 = {r["symbol"] for r in b1}, {r["symbol"] for r in b2}
        if not s1 or not s2 or s1 & s2:
            fail(f"the group's shares are not disjoint: {len(s1)} and {len(s2)} symbols, "
                 f"{len(s1 & s2)} in both")
    total += len(a)

if mode != "scale":
    # Every trade of A once, in A's order (every partition merged by seq).
    ta = [(r["symbol"], r["price"], r["size"], r["ts"]) for r in rows(f"{d}/A.ticks")]
    tb = [(r["symbol"], r["price"], r["size"], r["ts"]) for r in rows(f"{d}/B1.ticks")]
    if len(ta) != trades:
        fail(f"A's log holds {len(ta)} trades, not {trades}")
    if ta != tb:
        i = next((i for i, (x, y) in enumerate(zip(ta, tb)) if x != y), min(len(ta), len(tb)))
        fail(f"B's trades are not A's: {len(tb)} against {len(ta)}, first difference at {i}: "
             f"{ta[i] if i < len(ta) else None} / {tb[i] if i < len(tb) else None}")
if mode == "once":
    f = json.load(open(f"{d}/B1.stats"))["feeds"][0]
    # bad_price: the Finnhub trade (a trade rejected) and the contract's
    # string price (a message rejected).
    want = {"not_json": 1, "bad_price": 2, "bad_header": 1, "other_source": 1}
    for reason, n in want.items():
        if f["rejected_by"][reason] != n:
            fail(f"rejected_by.{reason} is {f['rejected_by'][reason]}, not {n}: {f['rejected_by']}")
    if f["invalid"] < 2 or f["trades_rejected"] < 1:
        fail(f"invalid {f['invalid']}, trades_rejected {f['trades_rejected']}")
print(f"{mode}: {total} bars and signals of A made again by {1 if mode != 'scale' else 2} "
      f"consumer(s), exactly")
PYEOF
[ "$MODE" = kill ] && echo "$kills kills of the consuming feed"
echo "1 passed, 0 failed"
