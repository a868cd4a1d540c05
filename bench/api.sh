#!/usr/bin/env bash
# bench/api: tickd api under wrk beside nginx serving a static file of the
# same size, same connections and threads, in one run; and the engine's
# latency with and without that load.
#
#   bench/api.sh [BUILD_DIR]     (env ROUNDS: A/B pairs, default 3; SECONDS_EACH: 8;
#                                 CONNS: 50)
#
# The run: `tickd run` as users run it (journal on): a synthetic market of 8
# symbols at 5 trades/s of feed time, 600 times real time (3,000 trades a
# second, and a 1-minute bar every 0.1 s) from 2023-11-14 00:00 UTC of feed
# time, asked for with from= and to= thirty days apart (the default range,
# today by the wall clock, would miss bars once feed time crosses midnight),
# until AAPL has 100 closed 1m bars: the newest 100, from shared memory.
# Then, ROUNDS times in turn: wrk against /quote/AAPL, against nginx's copy
# of that answer, against /ohlcv/1m?symbol=AAPL&from=1699920000000&to=1702512000000&limit=100, against nginx's
# copy of that one.  Pinned as far as two cores allow: the server under test
# (tickd api's threads, or nginx's one worker) on cpu 0, wrk on cpu 1; the
# feed, engine and journal float; both servers at tickd api's niceness (10).  Figures: the median of the rounds; p50
# and p99 from wrk's latency distribution.
#
# The engine: its apply latency (feed receive -> applied in shared memory,
# one trade in 64, from its metrics slot) over SECONDS_EACH with no load,
# and over each /quote load; bench/api_engine reads the histogram.
# Last line: one JSON object.
set -euo pipefail
B=${1:-build}
ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_EACH:-8}
CONNS=${CONNS:-50}
T=$B/tickd
E=$B/bench/api_engine
for c in wrk nginx taskset curl; do
  command -v $c >/dev/null || { echo "$c is not installed (scripts/deps.sh)" >&2; exit 1; }
done
D=$(mktemp -d /tmp/tickd-bench-api.XXXXXX)
P=/dev/shm/tickd-bench-api-$$
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PA=$(port)
PN=$(port)
RUN=
NGINX=
cleanup() {
  [ -n "$NGINX" ] && kill "$NGINX" 2>/dev/null || true
  [ -n "$RUN" ] && kill "$RUN" 2>/dev/null && wait "$RUN" 2>/dev/null || true
  "$T" clean --shm-path "$P" >/dev/null 2>&1 || true
  rm -f "$P".*
  rm -rf "$D"
}
trap cleanup EXIT
A=http://127.0.0.1:$PA

"$T" run --fresh --shm-path "$P" --seed 1 --symbols 8 --rate 5 --speed 600 --start 1699920000 \
  --data-dir "$D/data" --listen "127.0.0.1:$PA" > "$D/run.log" 2>&1 &
RUN=$!
for _ in $(seq 1 600); do
  n=$( (curl -s "$A/ohlcv/1m?symbol=AAPL&from=1699920000000&to=1702512000000&limit=100" || true) | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["count"])
except Exception: print(0)')
  [ "$n" = 100 ] && break
  sleep 0.2
done
[ "$n" = 100 ] || { tail "$D/run.log" >&2; echo "bench/api: no 100 1m bars after 120 s" >&2; exit 1; }

# nginx: one worker, the same answers as files, keep-alive as tickd's.
mkdir -p "$D/www"
chmod 755 "$D" "$D/www" # nginx's worker runs as www-data
curl -s "$A/quote/AAPL" > "$D/www/quote.json"
curl -s "$A/ohlcv/1m?symbol=AAPL&from=1699920000000&to=1702512000000&limit=100" > "$D/www/ohlcv.json"
cat > "$D/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $D/nginx.pid;
error_log $D/nginx.err;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 30s;
  server { listen 127.0.0.1:$PN; root $D/www; location / { default_type application/json; } }
}
NGX
# At tickd api's niceness (--nice, 10): both servers yield to the engine alike.
taskset -c 0 nice -n 10 nginx -c "$D/nginx.conf" &
NGINX=$!
API=$(pgrep -f "tickd api --shm-path $P" | head -1)
taskset -a -p -c 0 "$API" > /dev/null

# wrk URL -> "rps p50_us p99_us"
load() {
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$1" > "$D/wrk.out" 2>&1
  python3 - "$D/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def us(s):
    v, u = re.match(r"([\d.]+)(\w+)", s).groups()
    return float(v) * {"us": 1, "ms": 1e3, "s": 1e6}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = us(re.search(r"\n\s+50%\s+(\S+)", t).group(1))
p99 = us(re.search(r"\n\s+99%\s+(\S+)", t).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
if errs:
    sys.exit(f"wrk: {errs.group(1)} answers were not 2xx: " + t[:300])
print(f"{rps:.0f} {p50:.0f} {p99:.0f}")
PY
}
engine() { "$E" "$P" "$SECS"; }

rows=()
for r in $(seq 1 "$ROUNDS"); do
  idle=$(engine)
  "$E" "$P" "$SECS" > "$D/eng.load" &
  q=$(load "$A/quote/AAPL")
  wait $!
  busy=$(cat "$D/eng.load")
  nq=$(load "http://127.0.0.1:$PN/quote.json")
  o=$(load "$A/ohlcv/1m?symbol=AAPL&from=1699920000000&to=1702512000000&limit=100")
  no=$(load "http://127.0.0.1:$PN/ohlcv.json")
  rows+=("$q|$nq|$o|$no|$idle|$busy")
  echo "round $r: quote $q  nginx $nq  ohlcv $o  nginx $no  engine idle $idle  under /quote load $busy" >&2
done
python3 - "$CONNS" "$SECS" "$(wc -c < "$D/www/quote.json")" "$(wc -c < "$D/www/ohlcv.json")" "${rows[@]}" <<'PY'
import json, statistics as st, sys
conns, secs, qsize, osize = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rows = [[list(map(float, part.split())) for part in r.split("|")] for r in sys.argv[5:]]
col = lambda i, j: st.median(r[i][j] for r in rows)
ratio = lambda i, k: st.median(r[i][0] / r[k][0] for r in rows)
print(f"bench/api: wrk -t1 -c{conns} -d{secs}s, {len(rows)} rounds (medians); server on cpu 0, wrk on cpu 1")
print(f"{'':28}{'req/s':>10}{'p50 us':>9}{'p99 us':>9}   ratio to nginx")
print(f"{'/quote/AAPL (%d B)' % qsize:28}{col(0,0):>10.0f}{col(0,1):>9.0f}{col(0,2):>9.0f}   {ratio(0,1):.2f}")
print(f"{'nginx, the same file':28}{col(1,0):>10.0f}{col(1,1):>9.0f}{col(1,2):>9.0f}")
print(f"{'/ohlcv/1m limit=100 (%d B)' % osize:28}{col(2,0):>10.0f}{col(2,1):>9.0f}{col(2,2):>9.0f}   {ratio(2,3):.2f}")
print(f"{'nginx, the same file':28}{col(3,0):>10.0f}{col(3,1):>9.0f}{col(3,2):>9.0f}")
print(f"engine apply latency (feed receive -> applied), p50/p99/p99.9 us: idle "
      f"{col(4,1):.1f}/{col(4,2):.1f}/{col(4,3):.1f}, under /quote load {col(5,1):.1f}/{col(5,2):.1f}/{col(5,3):.1f} "
      f"({col(4,0):.0f} and {col(5,0):.0f} samples)")
print(json.dumps({"quote_rps": round(col(0, 0)), "nginx_rps": round(col(1, 0)),
                  "quote_ratio": round(ratio(0, 1), 3), "quote_us_p50": col(0, 1), "quote_us_p99": col(0, 2),
                  "nginx_us_p99": col(1, 2), "ohlcv_rps": round(col(2, 0)), "nginx_ohlcv_rps": round(col(3, 0)),
                  "ohlcv_ratio": round(ratio(2, 3), 3), "ohlcv_us_p99": col(2, 2),
                  "engine_us_p99_idle": col(4, 2), "engine_us_p99_load": col(5, 2),
                  "rounds": len(rows), "quote_bytes": qsize, "ohlcv_bytes": osize}))
PY
