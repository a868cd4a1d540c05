#!/usr/bin/env bash
# The Kafka test broker (tickd-mock-kafka) against kcat, the independent
# client: 1000 keyed messages produced and consumed back exactly; all brokers
# down (a produce fails within its message timeout) and up again (a produce
# succeeds); retriable Produce errors ride through; the 2.0.2 mock's
# per-partition retention (~5 MiB, oldest batches dropped); bad commands
# answered with errors, the broker alive throughout; `quit` stops it cleanly.
# usage: mock_broker_test.sh BUILD_DIR
set -euo pipefail
B=$1
M=$B/tickd-mock-kafka
command -v kcat >/dev/null || { echo "SKIP: kcat is not installed (scripts/deps.sh)"; exit 77; }
[ -x "$M" ] || { echo "FAIL: no $M" >&2; exit 1; }

D=$(mktemp -d /tmp/tickd-mock-kafka-test.XXXXXX)
BROKER_PID=
cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$BROKER_PID" 2>/dev/null || true
  fi
  rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*" >&2
  echo "--- broker stderr (last 30 lines):" >&2
  tail -30 "$D/broker.err" >&2 || true
  exit 1
}

ctl() { "$M" --control "$D/ctl" --send "$@"; }   # prints the reply; rc 0 only for "ok"
expect_ok() { local r; r=$(ctl "$1") || fail "'$1' answered '$r'"; [[ $r == ok* ]] || fail "'$1': $r"; }
expect_error() {
  local r rc=0
  r=$(ctl "$1") || rc=$?
  [ "$rc" -eq 1 ] || fail "'$1' gave rc $rc ('$r'), wanted 1 (an error reply)"
  [[ $r == error* ]] || fail "'$1' answered '$r', wanted an error"
}

"$M" --brokers 3 --partitions 3 --topics smoke,other --ready-file "$D/ready" --control "$D/ctl" \
  >"$D/broker.out" 2>"$D/broker.err" &
BROKER_PID=$!
for _ in $(seq 100); do [ -s "$D/ready" ] && break; sleep 0.1; done
[ -s "$D/ready" ] || fail "no ready file after 10 s"
BS=$(cat "$D/ready")
[[ $BS =~ ^127\.0\.0\.1:[0-9]+(,127\.0\.0\.1:[0-9]+){2}$ ]] || fail "bootstrap '$BS' is not 3 brokers"
[ "$(head -1 "$D/broker.out")" = "$BS" ] || fail "stdout does not carry the bootstrap servers"
[ "$(ctl bootstrap)" = "ok $BS" ] || fail "bootstrap command"
[ "$(ctl topics)" = "ok smoke:3 other:3" ] || fail "topics: $(ctl topics)"

KC=(-b "$BS" -q -X topic.message.timeout.ms=20000)
consume() { # topic -> key:value lines, sorted
  timeout 60 kcat -C "${KC[@]}" -t "$1" -o beginning -e -f '%k:%s\n' | sort
}

# 1. 1000 keyed messages, across the 3 partitions, back exactly.
for i in $(seq 1 1000); do echo "k$i:trade-$i"; done | sort >"$D/sent"
timeout 60 kcat -P "${KC[@]}" -t smoke -K: <"$D/sent" || fail "kcat -P of 1000 messages"
consume smoke >"$D/got"
[ "$(wc -l <"$D/got")" -eq 1000 ] || fail "consumed $(wc -l <"$D/got") of 1000"
cmp -s "$D/sent" "$D/got" || fail "consumed messages differ from the produced ones"
parts=$(timeout 60 kcat -C "${KC[@]}" -t smoke -o beginning -e -f '%p\n' | sort -u | wc -l)
[ "$parts" -eq 3 ] || fail "keys landed on $parts partitions, not 3"

# 2. All brokers down: a produce fails within its 2 s message timeout.
expect_ok down
start=$(date +%s)
rc=0
echo "kd:while-down" | timeout 30 kcat -P -b "$BS" -t smoke -K: -X message.timeout.ms=2000 \
  2>"$D/down.err" || rc=$?
took=$(( $(date +%s) - start ))
[ "$rc" -ne 0 ] || fail "a produce with every broker down succeeded"
[ "$rc" -ne 124 ] || fail "a produce with every broker down hung past 30 s"
[ "$took" -le 15 ] || fail "the failing produce took ${took}s"
# kcat gives up either way: the message times out, or it stops on "all
# broker connections are down" first.
grep -Eq "Delivery failed|All broker connections are down" "$D/down.err" ||
  fail "kcat did not report the failure (rc $rc): $(cat "$D/down.err")"

# 3. Up again: produce and consume work, nothing of the failed message.
expect_ok up
for i in $(seq 1001 1010); do echo "k$i:trade-$i"; done >"$D/more"
timeout 60 kcat -P "${KC[@]}" -t smoke -K: <"$D/more" || fail "kcat -P after up"
sort "$D/sent" "$D/more" >"$D/sent2"
consume smoke >"$D/got2"
cmp -s "$D/sent2" "$D/got2" || fail "after down/up: $(wc -l <"$D/got2") messages, wanted 1010"

# 4. One broker down and up; retriable Produce errors are retried through.
expect_ok "down 2"
expect_ok "up 2"
expect_ok "errors Produce NOT_LEADER_FOR_PARTITION 3"
echo "kr:after-errors" | timeout 60 kcat -P "${KC[@]}" -t other -K: || fail "produce through 3 retriable errors"
[ "$(consume other)" = "kr:after-errors" ] || fail "the message after retriable errors"
expect_ok "rtt all 20"
expect_ok "rtt 0"
expect_ok "leader other 0 3"

# 5. Bad commands: a clear error each, the broker unharmed.
for c in "frobnicate" "down 0" "down 4" "down x" "up 1 2" "rtt -5" "rtt 1 abc" "rtt 9999999999" \
         "errors Produce" "errors NoSuchApi 6 1" "errors Produce NO_SUCH_ERROR 1" \
         "errors Produce 6 0" "errors 99 6 1" "leader nosuch 0 1" "leader smoke 3 1" \
         "leader smoke -1 1" "leader smoke 0 7" "create smoke 1" "create bad/name 1" \
         "create t 0" "broker-errors 9 Produce 6 1" "clear bogus" ""; do
  expect_error "$c"
done
long=$(head -c 5000 /dev/zero | tr '\0' x)
r=$(printf '%s\nping\n' "$long" | timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR); print(s.makefile().read(), end="")' "$D/ctl") || fail "raw control client"
[ "$r" = $'error line too long\nok pong' ] || fail "a 5000-byte line: '$r'"
kill -0 "$BROKER_PID" 2>/dev/null || fail "the broker died"
[ "$(ctl ping)" = "ok pong" ] || fail "ping after bad commands"

# 6. The 2.0.2 mock keeps ~5 MiB per partition (rdkafka_mock.c: max_size
# 1024*1024*5): 8 MiB into one partition, the oldest batches are gone.
expect_ok "create retention 1 3"
head -c $((8192 * 1023)) /dev/zero | tr '\0' r | fold -w 1023 >"$D/big"
timeout 120 kcat -P "${KC[@]}" -t retention -p 0 -z none <"$D/big" || fail "kcat -P of 8 MiB"
first=$(timeout 60 kcat -C "${KC[@]}" -t retention -p 0 -o beginning -c 1 -f '%o\n')
last=$(timeout 60 kcat -C "${KC[@]}" -t retention -p 0 -o -1 -c 1 -f '%o\n')
[ "$last" -eq 8191 ] || fail "retention: last offset $last, not 8191"
kept=$(( (last - first + 1) * 1024 ))
[ "$first" -gt 0 ] && [ "$kept" -ge $((4 * 1048576)) ] && [ "$kept" -le $((6 * 1048576)) ] ||
  fail "retention: offsets $first..$last kept (~$kept bytes), wanted ~5 MiB"
echo "mock retention: 8 MiB produced, offsets $first..$last kept (~$((kept / 1024)) KiB)"

# 7. quit: the broker exits 0 and removes its socket and ready file.
expect_ok quit
rc=0
for _ in $(seq 100); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
wait "$BROKER_PID" || rc=$?
BROKER_PID=
[ "$rc" -eq 0 ] || fail "the broker exited $rc after quit"
[ ! -e "$D/ctl" ] && [ ! -e "$D/ready" ] || fail "socket or ready file left behind"
echo "PASS: mock broker: 1000 messages round trip, down/up, retries, retention, commands"
