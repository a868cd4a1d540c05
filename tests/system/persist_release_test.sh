#!/usr/bin/env bash
# The journal's two policies with a stalled journal (SIGSTOP) under a feed
# writing a 4096-slot tick log:
#  - hold (the default): the feed waits for it; once it runs again the
#    journal holds every trade (equal to the log);
#  - release after 0.3 s ([persist] policy = release in the file tickd run
#    hands its children): the feed goes on; the journal writes a loss
#    record of exactly the sequences it never saw (tickd export gaps), and
#    what it holds plus that loss is every sequence of the log, once.
# usage: persist_release_test.sh BUILD_DIR
set -euo pipefail
B=$1
T=$B/tickd
P=/dev/shm/tickd-prel-$$
W=$(mktemp -d)
trap 'pkill -CONT -f -- "--shm-path $P( |$)" 2>/dev/null || true; pkill -9 -f -- "--shm-path $P( |$)" 2>/dev/null || true; rm -rf "$P" "$P".* "$W"' EXIT
. "$(dirname "$0")/lib.sh"

stall() { # stall the journal 1.5 s while the feed writes, then let it go
  local pid
  for _ in $(seq 100); do
    pid=$(pgrep -f -- "tickd persist --shm-path $P " || true)
    [ -n "$pid" ] && "$T" stats --json --shm-path "$P" 2>/dev/null | grep -q '"persist"' && break
    sleep 0.05
  done
  [ -n "$pid" ] || fail "no journal to stall"
  sleep 0.3
  kill -STOP "$pid"
  sleep 1.5
  kill -CONT "$pid"
}

for policy in hold release; do
  D=$W/journal.$policy
  printf '[persist]\npolicy = %s\nrelease-after = 0.3\n' "$policy" > "$W/tickd.conf"
  TICKD_CONFIG=$W/tickd.conf "$T" run --fresh --shm-path "$P" --data-dir "$D" --slots 4096 --seed 3 \
    --rate 20000 --count 80000 --speed 1 --exit-at-end > /dev/null 2> "$W/run.$policy.log" &
  run=$!
  stall
  wait $run || fail "$policy: tickd run failed: $(grep -E 'error' "$W/run.$policy.log" | tail -3)"
  "$T" export ticks --data-dir "$D" --heartbeats > "$W/got.$policy"
  "$T" export gaps --data-dir "$D" > "$W/gaps.$policy"
  python3 - "$policy" "$W/got.$policy" "$W/gaps.$policy" <<'EOF' || fail "$policy: the journal's sequences"
import json, sys
policy, got, gaps = sys.argv[1], sys.argv[2], sys.argv[3]
seqs = [json.loads(l)["seq"] for l in open(got)]
losses = [json.loads(l) for l in open(gaps) if '"loss"' in l]
assert len(seqs) == len(set(seqs)) and seqs == sorted(seqs), "no sequence twice, in order"
trades = sum(1 for l in open(got) if '"price"' in l)
if policy == "hold":
    assert not losses, losses
    assert seqs == list(range(1, len(seqs) + 1)), "every sequence"
    assert trades == 80000, trades
    print("hold: the feed waited; all %d trades in the journal, no loss" % trades)
else:
    assert len(losses) == 1 and losses[0]["log"] == "ticks.0", losses
    lo, hi = losses[0]["from"], losses[0]["to"]
    have = set(seqs) | set(range(lo, hi))
    assert have == set(range(1, max(seqs) + 1)) and not (set(seqs) & set(range(lo, hi))), \
        "the journal plus its loss is every sequence, once"
    assert hi - lo > 4096, "the feed went on past a ring"
    print("release: loss of sequences %d-%d (%d) recorded, the rest (%d records) in the journal" % (lo, hi - 1, hi - lo, len(seqs)))
EOF
done
grep -q "released gating reader 'persist'" "$W/run.release.log" || fail "the writer did not log the release"
if grep -q "released gating reader 'persist'" "$W/run.hold.log"; then fail "hold released the journal"; fi
echo "1 passed, 0 failed"
