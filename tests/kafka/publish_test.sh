#!/usr/bin/env bash
# tickd kafka, as `tickd run --kafka` starts it, against the test broker
# (tickd-mock-kafka, its own process) and kcat as the independent consumer:
# every trade, bar and signal of the run arrives exactly once (by its
# tickd.seq header), every heartbeat once on every partition of the trades
# topic, with the data contract's JSON (the line `tickd tail` prints), the
# symbol as the key, the event time as the Kafka timestamp.  With KILLS > 0
# the publisher is kill -9'ed that many times at random moments while the
# feed writes: still exactly once (what the brokers hold is read back at
# every start).
# With MODE faults instead: all brokers down for 30 s under load, then up,
# then three fatal producer errors (SIGUSR1: rd_kafka_test_fatal_error):
# still exactly once, and the feed never held (the ring holds the run).
# usage: publish_test.sh BUILD_DIR TRADES KILLS RATE [MODE] [SPEED]
set -euo pipefail
B=$1
TRADES=${2:-1000000}
KILLS=${3:-0}
RATE=${4:-max}
MODE=${5:-}
SPEED=${6:-1} # times the generator's clock: RATE trades/s of feed time, RATE x SPEED of wall time
if [ "${TICKD_TEST_SCALE:-}" = small ]; then # the sanitizer builds: a tenth
  TRADES=$((TRADES / 10))
  # Paced twice as long: under ASan a restart (and its read-back) takes
  # twice as long, and the kills must all land before the run ends.
  [ "$RATE" != max ] && RATE=$((RATE / 20))
fi
T=$B/tickd
M=$B/tickd-mock-kafka
command -v kcat >/dev/null || { echo "SKIP: kcat is not installed (scripts/deps.sh)"; exit 77; }
PARTS=12
TOPICS=market.trades.raw,market.gaps,market.signals,market.bars.1s,market.bars.1m,market.bars.5m,market.bars.1h

D=$(mktemp -d /tmp/tickd-kafka-publish.XXXXXX)
P=/dev/shm/tickd-kafka-publish-$$
BROKER=
RUN=
KCATS=()
cleanup() {
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && sleep 1
  [ -n "$RUN" ] && kill -9 "$RUN" 2>/dev/null
  pkill -9 -f "tickd (kafka|feed|engine|persist) --shm-path $P" 2>/dev/null || true
  for k in "${KCATS[@]}"; do kill "$k" 2>/dev/null || true; done
  [ -n "$BROKER" ] && { kill "$BROKER" 2>/dev/null || true; }
  "$T" clean --shm-path "$P" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] && echo "kept $D" >&2 || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*" >&2
  echo "--- run.log (last 30 lines):" >&2
  tail -30 "$D/run.log" >&2 || true
  exit 1
}

"$M" --brokers 3 --partitions $PARTS --topics $TOPICS --ready-file "$D/ready" \
  --control "$D/ctl" >"$D/broker.out" 2>"$D/broker.err" &
BROKER=$!
for _ in $(seq 100); do [ -s "$D/ready" ] && break; sleep 0.1; done
[ -s "$D/ready" ] || fail "the broker did not start"
BS=$(cat "$D/ready")

# The 2.0.2 mock keeps about 5 MiB a partition: consume as the run goes.
# Stop the consumers and wait for them: kcat writes its buffered lines as it
# exits, and a file read before that ends in the middle of a line.
stop_consumers() {
  for k in "${KCATS[@]}"; do kill "$k" 2>/dev/null || true; done
  for k in "${KCATS[@]}"; do wait "$k" 2>/dev/null || true; done
  KCATS=()
}
consume() { # [end]: only what comes from now on
  for t in ${TOPICS//,/ }; do
    kcat -C -b "$BS" -q -t "$t" -o "${1:-beginning}" -f '%p %T %k|%h|%s\n' >"$D/got.$t" 2>"$D/kcat.$t.err" &
    KCATS+=($!)
  done
}
consume

# Paced so that the kills land while the feed writes (or at full speed).
speed=(--speed max)
[ "$RATE" != max ] && speed=(--rate "$RATE" --speed "$SPEED")
"$T" run --fresh --shm-path "$P" --no-persist --kafka "$BS" --source synth --count "$TRADES" \
  --symbols 50 --start 1704205800 "${speed[@]}" --exit-at-end --slots 2097152 >"$D/run.log" 2>&1 &
RUN=$!
# Each kill lands while the publisher is publishing: after its cursor on
# ticks.0 moved since it (re)started, at a random moment up to 0.4 s later.
cursor() {
  "$T" stats --shm-path "$P" 2>/dev/null | awk '$1 == "log" {l = $2}
    $1 == "reader" && $2 == "kafka" && l == "ticks.0" {for (i = 3; i < NF; i++) if ($i == "cursor") {print $(i + 1); exit}}'
}
kills=0
while [ $kills -lt "$KILLS" ] && kill -0 $RUN 2>/dev/null; do
  pid=$(pgrep -f "tickd kafka --shm-path $P" | head -1 || true)
  [ -n "$pid" ] || { sleep 0.05; continue; }
  c0=$(cursor)
  for _ in $(seq 200); do
    c=$(cursor)
    [ -n "$c" ] && [ -n "$c0" ] && [ "$c" -gt "$c0" ] && break
    sleep 0.05
  done
  sleep "0.$(( RANDOM % 4 ))$(( RANDOM % 10 ))"
  kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
done
if [ "$MODE" = faults ]; then
  ctl() { "$M" --control "$D/ctl" --send "$1" >/dev/null || fail "broker: $1"; }
  sleep 3
  ctl down
  sleep 30
  ctl up
  # kcat gives up when every broker is gone: read again from the start.
  stop_consumers
  consume
  for _ in 1 2 3; do
    sleep 3
    pkill -USR1 -f "tickd kafka --shm-path $P" || fail "no publisher to signal"
  done
fi
wait $RUN || fail "tickd run failed"
RUN=
kill -0 "$BROKER" 2>/dev/null || fail "the test broker died: $(tail -5 "$D/broker.err")"
[ $kills -eq "$KILLS" ] || fail "the run ended after $kills of $KILLS kills (make it longer)"
if [ "$MODE" = faults ]; then
  [ "$(grep -c 'fatal producer error on purpose' "$D/run.log")" -eq 3 ] || fail "not 3 fatal errors"
  [ "$(grep -c 'the producer is made again' "$D/run.log")" -ge 3 ] || fail "the fatal errors did not restart the session"
  # The ring holds the whole run: the feed never waited for the publisher.
  waits=$("$T" stats --shm-path "$P" --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(l["writer"]["waits"] for l in d["logs"] if l["name"] == "ticks.0"))')
  [ "$waits" -eq 0 ] || fail "the feed waited $waits times for a reader"
  echo "faults: 30 s without brokers, 3 fatal errors; the feed never waited"
fi
grep -q "kafka: .* messages delivered" "$D/run.log" || fail "the publisher did not finish cleanly"

# What the logs hold, as tail prints it (seq included).
"$T" tail ticks.0 --shm-path "$P" --from-start --no-follow --heartbeats >"$D/want.ticks"
for l in bars.1s bars.1m bars.5m bars.1h signals; do
  "$T" tail $l --shm-path "$P" --from-start --no-follow >"$D/want.$l"
done
[ "$(grep -c '"price"' "$D/want.ticks")" -eq "$TRADES" ] || fail "the tick log does not hold $TRADES trades"

# Every topic's consumer has caught up when its line count stops growing.
want_trades=$(( $(grep -c '"price"' "$D/want.ticks") + $(grep -c '"heartbeat"' "$D/want.ticks") * PARTS ))
for _ in $(seq 120); do
  [ "$(wc -l <"$D/got.market.trades.raw")" -ge "$want_trades" ] && break
  sleep 0.5
done
sleep 2 # anything more (a duplicate) would come now
stop_consumers

cat >"$D/check.py" <<'PYEOF'
import json, sys, collections
d, parts, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)

def java_murmur2(b):
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(b)) & 0xffffffff
    n4 = len(b) // 4
    for i in range(n4):
        k = int.from_bytes(b[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = len(b) % 4
    base = len(b) & ~3
    if rest == 3:
        h ^= b[base + 2] << 16
    if rest >= 2:
        h ^= b[base + 1] << 8
    if rest >= 1:
        h ^= b[base]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h

def read_got(topic):
    out = []
    for line in open(f"{d}/got.{topic}", encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        head, hdrs, value = line.split("|", 2)
        p, ts, key = head.split(" ", 2)
        h = dict(kv.split("=", 1) for kv in hdrs.split(",") if "=" in kv)
        out.append((int(p), int(ts), key, h, value))
    return out

def newest(got):
    # This run's source: tickd.src "<host>/<log>@<segment generation>"; an
    # earlier run on the same broker has an older generation.
    gens = [int(h["tickd.src"].rsplit("@", 1)[1], 16) for _, _, _, h, _ in got]
    return max(gens) if gens else None

def check(topic, want_file, fanout):
    want = [json.loads(l) for l in open(f"{d}/{want_file}", encoding="utf-8") if l.strip()]
    got = read_got(topic)
    g = newest(got)
    got = [m for m in got if int(m[3]["tickd.src"].rsplit("@", 1)[1], 16) == g]
    seen = collections.Counter()
    parts_of = collections.defaultdict(set)
    byseq = {}
    for p, ts, key, h, value in got:
        s = int(h["tickd.seq"])
        seen[s] += 1
        parts_of[s].add(p)
        byseq.setdefault(s, (p, ts, key, h, value))
    n_dup = 0
    for w in want:
        s = w["seq"]
        hb = w.get("type") == "heartbeat"
        if hb and not fanout:
            continue
        if w.get("type") == "gap":
            continue
        expect = parts if hb else 1
        if seen[s] != expect:
            fail(f"{topic}: seq {s} arrived {seen[s]} times, not {expect} ({kills} kills)")
        if hb:
            if len(parts_of[s]) != parts:
                fail(f"{topic}: heartbeat {s} on {len(parts_of[s])} partitions")
            continue
        p, ts, key, h, value = byseq[s]
        if json.loads(value) != w:
            fail(f"{topic}: seq {s}: value {value} is not the log's {w}")
        if key != w["symbol"]:
            fail(f"{topic}: seq {s}: key {key}, symbol {w['symbol']}")
        if p != (java_murmur2(key.encode()) & 0x7fffffff) % parts:
            fail(f"{topic}: seq {s}: partition {p} is not murmur2({key}) % {parts}")
        t = w.get("ts", w.get("window_start"))
        if ts != t:
            fail(f"{topic}: seq {s}: Kafka timestamp {ts}, event time {t}")
    extra = set(seen) - {w["seq"] for w in want}
    if extra:
        fail(f"{topic}: {len(extra)} sequences that the log does not hold, like {sorted(extra)[:3]}")
    return len(got)

n = check("market.trades.raw", "want.ticks", True)
m = sum(check(f"market.bars.{tf}", f"want.bars.{tf}", False) for tf in ("1s", "1m", "5m", "1h"))
s = check("market.signals", "want.signals", False)
print(f"exactly once after {kills} publisher kills: {n} messages on the trades topic, {m} bars, {s} signals")
PYEOF
/usr/bin/python3 "$D/check.py" "$D" "$PARTS" "$KILLS"

# A new segment (a reboot, --fresh) starts its sequences at 1 again: the same
# broker's records of the old one must not be taken for its own.
if [ "$KILLS" -eq 0 ]; then
  consume end
  sleep 3 # assigned at the end before anything new is sent
  "$T" run --fresh --shm-path "$P" --no-persist --kafka "$BS" --source synth --count 20000 \
    --symbols 50 --start 1704205800 --speed max --exit-at-end >"$D/run.log" 2>&1 ||
    fail "the second tickd run failed"
  "$T" tail ticks.0 --shm-path "$P" --from-start --no-follow --heartbeats >"$D/want.ticks"
  for l in bars.1s bars.1m bars.5m bars.1h signals; do
    "$T" tail $l --shm-path "$P" --from-start --no-follow >"$D/want.$l"
  done
  want_trades=$(( $(grep -c '"price"' "$D/want.ticks") + $(grep -c '"heartbeat"' "$D/want.ticks") * PARTS ))
  for _ in $(seq 120); do
    [ "$(wc -l <"$D/got.market.trades.raw")" -ge "$want_trades" ] && break
    sleep 0.5
  done
  sleep 2
  stop_consumers
  /usr/bin/python3 "$D/check.py" "$D" "$PARTS" 0 || fail "a new segment's records were taken for the old one's"
fi
