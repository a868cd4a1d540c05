"""The live quote of every symbol, computed independently from a tick log as
`tickd tail ticks.0 --from-start --no-follow` prints it (stdin), by the rules
tickd.h states: the last trade is the latest by event time (ties: the later
arrival), the day is the UTC day of the newest day seen, day open/high/low/
volume over that day's trades in arrival order, seq the last trade applied
(arrival order), the previous close is the
last price when a newer day began, change = last - prev_close, change_pct =
change * (100 / prev_close).  Prints one JSON object: symbol -> fields.
"""
import json
import math
import sys

DAY_MS = 86400000
q = {}
for line in sys.stdin:
    r = json.loads(line)
    if "symbol" not in r or "price" not in r:
        continue
    s, p, z, ts = r["symbol"], r["price"], r["size"], r["ts"]
    day = ts // DAY_MS
    st = q.get(s)
    if st is None:
        st = q[s] = dict(trade_count=0, day=None, prev_close=math.nan, last_ts=None)
    if st["day"] is None or day > st["day"]:
        if st["day"] is not None:
            st["prev_close"] = st["last_price"]
        st.update(day=day, day_open=p, day_high=p, day_low=p, day_volume=0.0)
    if day == st["day"]:
        st["day_high"] = max(st["day_high"], p)
        st["day_low"] = min(st["day_low"], p)
        st["day_volume"] += z
    if st["last_ts"] is None or ts >= st["last_ts"]:
        st.update(last_ts=ts, last_price=p, last_size=z)
    st["seq"] = r["seq"]  # the last trade applied, in arrival order
    st["trade_count"] += 1
out = {}
for s, st in q.items():
    change = st["last_price"] - st["prev_close"]
    out[s] = dict(last_price=st["last_price"], last_size=st["last_size"],
                  last_ts_ms=st["last_ts"], seq=st["seq"], day_ns=st["day"] * DAY_MS * 1000000,
                  day_open=st["day_open"], day_high=st["day_high"], day_low=st["day_low"],
                  day_volume=st["day_volume"], prev_close=st["prev_close"], change=change,
                  change_pct=change * (100.0 / st["prev_close"]), trade_count=st["trade_count"])
json.dump(out, sys.stdout)
