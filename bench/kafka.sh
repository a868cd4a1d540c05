#!/usr/bin/env bash
# bench/kafka: tickd kafka's publish rate beside kcat -P producing the same
# messages from a file, to the same broker in the same run; then the latency
# from a tick in the segment to a consumer on the other side of the broker.
#
#   bench/kafka.sh [BUILD_DIR]      (env N: trades per round, default 1000000;
#                                    ROUNDS: A/B pairs, default 3; E2E_SECONDS: 10)
#
# Publish: a segment whose ticks.0 holds N synthetic trades (50 symbols) is
# published by `tickd kafka` from its start (lz4, linger 5 ms, idempotent,
# acks=all: its defaults) until its cursor has passed the last one, i.e.
# every message's delivery report is in; kcat -P then produces the same
# values with the same keys and four headers of the same size, with the same
# settings, from a file, until it exits (it waits for every delivery).  The
# two alternate, ROUNDS times; the figure is the median of each.  The
# broker is librdkafka's mock cluster (3 brokers, 12 partitions, its own
# process), on this host, for both.
#
# Latency: `tickd feed` paced at 2000 trades/s, `tickd kafka`, the broker,
# and bench/kafka_e2e, a consumer that follows the tick log too and takes
# now - the tick's recv_ns for every trade it receives.  At linger 0 and 5 ms,
# each on a fresh broker.
# Last line: one JSON object.
set -euo pipefail
B=${1:-build}
N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
E2E_SECONDS=${E2E_SECONDS:-10}
T=$B/tickd
M=$B/tickd-mock-kafka
E=$B/bench/kafka_e2e
command -v kcat >/dev/null || { echo "kcat is not installed (scripts/deps.sh)" >&2; exit 1; }
D=$(mktemp -d /tmp/tickd-bench-kafka.XXXXXX)
P=/dev/shm/tickd-bench-kafka-$$
BROKER=
cleanup() {
  pkill -f "tickd (kafka|feed) --shm-path $P" 2>/dev/null || true
  [ -n "$BROKER" ] && kill "$BROKER" 2>/dev/null || true
  "$T" clean --shm-path "$P" >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT

start_broker() {
  [ -n "$BROKER" ] && { kill "$BROKER"; wait "$BROKER" 2>/dev/null || true; }
  rm -f "$D/ready"
  "$M" --brokers 3 --partitions 12 --topics market.trades.raw,bench.kcat,market.gaps \
    --ready-file "$D/ready" --control "$D/ctl" >/dev/null 2>"$D/broker.err" &
  BROKER=$!
  for _ in $(seq 100); do [ -s "$D/ready" ] && break; sleep 0.1; done
  BS=$(cat "$D/ready")
}
start_broker
# The host's share of this machine's time taken by others (steal), over the run.
steal() { awk '$1 == "cpu" {print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
STEAL0=$(steal)

now() { date +%s.%N; }
fill() { # a fresh segment whose ticks.0 holds N trades and their heartbeats
  "$T" init --fresh --shm-path "$P" --slots 2097152 >/dev/null
  "$T" feed --source synth --shm-path "$P" --count "$N" --symbols 50 --rate 100000 --speed max \
    2>/dev/null
}

tickd_round() { # prints: messages seconds
  fill
  local last t0 t1
  last=$("$T" stats --shm-path "$P" | awk '$1 == "log" && $2 == "ticks.0" {print $4; exit}')
  t0=$(now)
  "$T" kafka --shm-path "$P" --kafka "$BS" 2>"$D/kafka.log" &
  local pid=$!
  "$E" wait "$P" "$last"
  t1=$(now)
  kill -TERM $pid
  wait $pid || true
  msgs=$(sed -n 's/.*kafka: \([0-9]*\) messages delivered.*/\1/p' "$D/kafka.log" | tail -1)
  echo "$msgs $(echo "$t1 - $t0" | bc -l)"
}

# The same values and keys for kcat, from the log tickd published.
fill
"$T" tail ticks.0 --shm-path "$P" --from-start --no-follow | python3 -c '
import json, sys
out = open(sys.argv[1], "w")
for line in sys.stdin:
    r = json.loads(line)
    out.write(r["symbol"] + "\t" + line)
' "$D/kcat.in"
KCAT_MSGS=$(wc -l <"$D/kcat.in")
VALUE_BYTES=$(awk -F'\t' '{n += length($2) + 1} END {print n}' "$D/kcat.in")
SRC="$(hostname)/ticks.0@18a2b3c4d5e6f708"
kcat_round() {
  local t0 t1
  t0=$(now)
  kcat -P -b "$BS" -t bench.kcat -K '\t' -z lz4 -X linger.ms=5 -X enable.idempotence=true \
    -X acks=all -H "tickd.src=$SRC" -H "tickd.seq=1234567" -H "tickd.clock=1704205800123456789" \
    -H "tickd.ts=1704205800123456789" <"$D/kcat.in"
  t1=$(now)
  echo "$KCAT_MSGS $(echo "$t1 - $t0" | bc -l)"
}

: >"$D/rounds"
[ -n "${E2E_ONLY:-}" ] && ROUNDS=0
for r in $(seq "$ROUNDS"); do
  # ABBA, so that a drift of the machine falls on both alike.
  if [ $((r % 2)) -eq 1 ]; then
    echo "tickd $(tickd_round)" >>"$D/rounds"
    echo "kcat $(kcat_round)" >>"$D/rounds"
  else
    echo "kcat $(kcat_round)" >>"$D/rounds"
    echo "tickd $(tickd_round)" >>"$D/rounds"
  fi
done

e2e() { # LINGER_MS: prints the probe's JSON
  "$T" init --fresh --shm-path "$P" --slots 2097152 >/dev/null
  "$T" kafka --shm-path "$P" --kafka "$BS" --linger-ms "$1" ${E2E_PRODUCER_PROPS:+--property "$E2E_PRODUCER_PROPS"} 2>"$D/kafka.e2e.log" &
  local kpid=$!
  "$E" "$P" "$BS" market.trades.raw $((E2E_SECONDS + 4)) >"$D/e2e.out" &
  local epid=$!
  for _ in $(seq 100); do grep -q ready "$D/e2e.out" 2>/dev/null && break; sleep 0.1; done
  sleep 2 # the producer and the consumer connected
  "$T" feed --source synth --shm-path "$P" --symbols 50 --rate 2000 --speed 1 --start now \
    2>/dev/null &
  local fpid=$!
  wait $epid || true
  kill $fpid $kpid 2>/dev/null || true
  wait $fpid $kpid 2>/dev/null || true
  tail -1 "$D/e2e.out"
}
# A broker of its own: the mock finds an offset by walking a partition's
# batches, and after the rounds each holds thousands (a fetch then takes ms).
start_broker
E2E0=$(e2e 0)
start_broker
E2E5=$(e2e 5)

STEAL1=$(steal)
python3 - "$D/rounds" "$VALUE_BYTES" "$E2E0" "$E2E5" "$N" "$STEAL0" "$STEAL1" <<'PYEOF'
import json, statistics, sys
rounds, value_bytes = sys.argv[1], int(sys.argv[2])
e0, e5, n = json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
s0, s1 = [list(map(int, a.split())) for a in sys.argv[6:8]]
steal = (s1[0] - s0[0]) / max(1, s1[1] - s0[1])
print(f"steal (the host's other guests) over the run: {100 * steal:.0f} % of this machine's CPU time")
rates = {"tickd": [], "kcat": []}
for line in open(rounds):
    who, msgs, secs = line.split()
    rates[who].append(int(msgs) / float(secs))
pairs = [t / k for t, k in zip(rates["tickd"], rates["kcat"])] or [0]
tm = statistics.median(rates["tickd"] or [0])
km = statistics.median(rates["kcat"] or [0])
print(f"publish, {n} trades a round, {len(rates['tickd'])} rounds each, ABBA:")
print("| | msgs/s (median) | MB/s of values | rounds |")
print("|---|---:|---:|---|")
mb = value_bytes / n / 1e6
print(f"| tickd kafka | {tm:,.0f} | {tm * mb:.1f} | {', '.join(f'{r:,.0f}' for r in rates['tickd'])} |")
print(f"| kcat -P | {km:,.0f} | {km * mb:.1f} | {', '.join(f'{r:,.0f}' for r in rates['kcat'])} |")
print(f"ratio tickd/kcat per pair: {', '.join(f'{p:.2f}' for p in pairs)}; median {statistics.median(pairs):.2f}")
print("latency, tick in the segment -> consumer, 2000 trades/s:")
print("| linger.ms | n | p50 us | p99 us | p99.9 us | max us |")
print("|---:|---:|---:|---:|---:|---:|")
for lg, e in ((0, e0), (5, e5)):
    print(f"| {lg} | {e.get('n', 0)} | {e.get('p50_us', 0)} | {e.get('p99_us', 0)} | {e.get('p999_us', 0)} | {e.get('max_us', 0)} |")
print(json.dumps({"publish_msgs_s": round(tm), "kcat_msgs_s": round(km),
                  "ratio_publish_to_kcat": round(statistics.median(pairs), 3),
                  "publish_mb_s": round(tm * mb, 1),
                  "e2e_us_p50": e0.get("p50_us"), "e2e_us_p99": e0.get("p99_us"),
                  "e2e_linger5_us_p50": e5.get("p50_us"), "e2e_linger5_us_p99": e5.get("p99_us"),
                  "steal_pct": round(100 * steal, 1)}))
PYEOF
