#!/usr/bin/env bash
# bench/ws: the stream's fan-out (issue 12) beside a trivial forwarder, in
# one run: latency from a tick written in the segment to the message in a
# WebSocket client's hands for 1, 100 and 1,000 clients of tickd api's /ws,
# messages/s, the API's CPU, the same with 10 % of the clients stopped, the
# engine's apply latency with no client and with 1,000.  What and how: the
# header of bench/ws.c.
#
#   bench/ws.sh [BUILD_DIR]     (env RATE trades/s, default 1000; SYMBOLS 100;
#                                CLIENTS 1000; SECONDS_EACH 6 (100 clients, and twice
#                                that for the forwarder's 1,000); ONE_SECONDS 10 (1
#                                client); ENGINE_SECONDS 20 (1,000 clients, and half
#                                of it with none before and after); STOP_SECONDS 8;
#                                MAX_LAG: the API's --ws-max-lag, default its own;
#                                PIN 0: 1 pins as bench/api does, 3 keeps the hot
#                                path apart, see below;
#                                CLIENTS_SCHED=idle: the clients SCHED_IDLE instead of
#                                nice 10, as clients on other hosts take no cpu of this
#                                one; SERVER_SCHED=idle: tickd api and the forwarder too)
#
# The processes, as users run them: `tickd init` (no journal: no
# `tickd persist`, this is about the API), `tickd engine` (idle backoff),
# `tickd api --listen 127.0.0.1:PORT` (nice 10, its defaults), and
# build/bench/ws: the feed (a thread writing ticks.0, nice 0) and the
# clients (nice 10), the stopped group and the forwarder its own processes.  Nothing is pinned, as the README says to run on a
# shared 2-core host.  PIN=1 puts the server under test (tickd api's
# threads, or the forwarder) on cpu 0 and the clients on cpu 1, the feed
# thread and the engine floating, as bench/api does; at 1,000 clients
# that saturates cpu 0 (the API needs most of a core, and the engine and
# feed land there too): p50 2.8 ms instead of 1 ms.  PIN=3 is the README's
# bare-metal layout on two cores: the hot path (the feed thread and
# `tickd engine --cpu 1`) on cpu 1, every reader and client (tickd api, the
# forwarder, the clients, the stopped group) on cpu 0, in every window (the
# engine's unloaded one too).
# Last line: one JSON object.
set -euo pipefail
B=${1:-build}
T=$B/tickd
W=$B/bench/ws
RATE=${RATE:-1000}
SYMBOLS=${SYMBOLS:-100}
CLIENTS=${CLIENTS:-1000}
SECS=${SECONDS_EACH:-6}
OSECS=${ONE_SECONDS:-10}
ESECS=${ENGINE_SECONDS:-20}
SSECS=${STOP_SECONDS:-8}
PIN=${PIN:-0}
SCPU=-1
CCPU=-1
[ "$PIN" = 1 ] && { SCPU=0; CCPU=1; }
[ "$PIN" = 2 ] && CCPU=1
FCPU=-1
ENGINE_PIN=()
[ "$PIN" = 3 ] && { SCPU=0; CCPU=0; FCPU=1; ENGINE_PIN=(--cpu 1); }
LAG=()
[ -n "${MAX_LAG:-}" ] && LAG=(--ws-max-lag "$MAX_LAG")
[ -x "$W" ] || { echo "bench/ws: $W is not built (cmake --build $B --target bench_ws)" >&2; exit 1; }
# 1,000 connections each side, and the forwarder's as many again.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge $((2 * CLIENTS + 256)) ] || { echo "bench/ws: ulimit -n $(ulimit -n) is too low" >&2; exit 1; }
D=$(mktemp -d /tmp/tickd-bench-ws.XXXXXX)
P=/dev/shm/tickd-bench-ws-$$
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(port)
PF=$(port)
ENG=
API=
BENCH=
cleanup() {
  # The bench reaps its own children (stopped group, forwarder) on its way out.
  [ -n "$BENCH" ] && kill "$BENCH" 2>/dev/null && wait "$BENCH" 2>/dev/null || true
  [ -n "$API" ] && kill "$API" 2>/dev/null && wait "$API" 2>/dev/null || true
  [ -n "$ENG" ] && kill "$ENG" 2>/dev/null && wait "$ENG" 2>/dev/null || true
  "$T" clean --shm-path "$P" >/dev/null 2>&1 || true
  rm -f "$P" "$P".*
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench/ws: load before: $(uptime)" >&2
"$T" init --fresh --shm-path "$P" > "$D/init.log" 2>&1
"$T" engine --shm-path "$P" ${ENGINE_PIN[@]+"${ENGINE_PIN[@]}"} > "$D/engine.log" 2>&1 &
ENG=$!
SCHED=()
[ "${SERVER_SCHED:-}" = idle ] && SCHED=(chrt -i 0)
${SCHED[@]+"${SCHED[@]}"} "$T" api --shm-path "$P" --listen "127.0.0.1:$PA" --data-dir "" --portfolio "$D/p.json" \
  ${LAG[@]+"${LAG[@]}"} > "$D/api.log" 2>&1 &
API=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$PA/health" && break
  sleep 0.1
done
kill -0 "$API" 2>/dev/null || { cat "$D/api.log" >&2; echo "bench/ws: tickd api did not start" >&2; exit 1; }
[ "$SCPU" -ge 0 ] && taskset -a -p -c "$SCPU" "$API" > /dev/null

"$W" run --shm-path "$P" --port "$PA" --forward-port "$PF" --api-pid "$API" --engine-pid "$ENG" \
  --rate "$RATE" --symbols "$SYMBOLS" --clients "$CLIENTS" --seconds "$SECS" --one-seconds "$OSECS" \
  --engine-seconds "$ESECS" --stop-seconds "$SSECS" --server-cpu "$SCPU" --client-cpu "$CCPU" --feed-cpu "$FCPU" \
  > "$D/out" &
BENCH=$!
rc=0
wait "$BENCH" || rc=$?
BENCH=
kill -0 "$API" 2>/dev/null || { tail "$D/api.log" >&2; echo "bench/ws: tickd api died" >&2; exit 1; }
echo "bench/ws: load after: $(uptime)" >&2
[ "$rc" = 0 ] || { tail "$D/api.log" >&2; echo "bench/ws: the bench failed ($rc)" >&2; exit "$rc"; }
cat "$D/out"
