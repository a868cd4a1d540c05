#!/usr/bin/env python3
"""Bars computed from a feed recording, independently of the engine.

usage: bars_ref.py RECORDING TF_SECONDS ENGINE_BARS_JSONL [--closed-before-ms T]

Reads the recording ({"recv_ts":ns,"msg":...} lines) the way DESIGN.md
defines bars: windows by event time, open = earliest trade (ties: first to
arrive), close = latest (ties: last to arrive), late trades (their window
closed by stream time, which counts trade times and the feed's heartbeats:
100 ms grid points up to each message's receive time, from the first
message on) dropped.  Then checks every bar the engine wrote against it,
field for field, and that every reference bar whose window closed before
the last message is among them.  Exit 0, or 1 with what differs.
"""
import base64, json, sys

LATENESS_MS = 2000
HB_NS = 100_000_000

def trades_of(line):
    env = json.loads(line)
    if "msg_base64" in env:
        raw = base64.b64decode(env["msg_base64"])
        try:
            msg = json.loads(raw)
        except ValueError:
            return env["recv_ts"], []
    else:
        msg = env["msg"]
    if not isinstance(msg, dict) or msg.get("type") != "trade":
        return env["recv_ts"], []
    out = []
    for t in msg.get("data", []):
        if (isinstance(t, dict) and isinstance(t.get("s"), str) and isinstance(t.get("p"), (int, float))
                and t["p"] > 0 and isinstance(t.get("v"), (int, float)) and t["v"] >= 0
                and isinstance(t.get("t"), int)):
            out.append((t["s"], t["p"], t["v"], t["t"]))
    return env["recv_ts"], out

def main():
    rec, tf_s, engine_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    tf = tf_s * 1000
    stream = None          # ms
    next_hb = None         # ns
    bars = {}              # (sym, ws) -> dict
    closed = set()
    late = 0
    last_recv = 0
    def advance(t):
        nonlocal stream
        if stream is None or t > stream:
            stream = t
    for line in open(rec):
        if not line.strip():
            continue
        recv, trades = trades_of(line)
        last_recv = recv
        if next_hb is None:
            next_hb = (recv // HB_NS + 1) * HB_NS
        while next_hb <= recv:
            advance(next_hb // 1_000_000)
            next_hb += HB_NS
        for sym, p, v, t in trades:
            ws = t // tf * tf
            if stream is not None and ws + tf + LATENESS_MS <= stream:
                late += 1
                advance(t)
                continue
            b = bars.get((sym, ws))
            if b is None:
                bars[(sym, ws)] = b = {"open": p, "high": p, "low": p, "close": p, "volume": 0.0,
                                       "pv": 0.0, "count": 0, "ots": t, "cts": t}
            if t < b["ots"]:
                b["open"], b["ots"] = p, t
            if t >= b["cts"]:
                b["close"], b["cts"] = p, t
            b["high"] = max(b["high"], p)
            b["low"] = min(b["low"], p)
            b["volume"] += v
            b["pv"] += p * v
            b["count"] += 1
            advance(t)
    engine = [json.loads(l) for l in open(engine_file) if l.strip()]
    bad = 0
    seen = set()
    for e in engine:
        key = (e["symbol"], e["window_start"])
        seen.add(key)
        r = bars.get(key)
        if r is None:
            print("engine bar with no reference:", e); bad += 1; continue
        vwap = r["pv"] / r["volume"] if r["volume"] > 0 else r["close"]
        want = {"open": r["open"], "high": r["high"], "low": r["low"], "close": r["close"],
                "volume": r["volume"], "trade_count": r["count"]}
        for k, v in want.items():
            if e[k] != v:
                print(f"{key} {k}: engine {e[k]} reference {v}"); bad += 1
        if abs(e["vwap"] - vwap) > 1e-9 * abs(vwap):
            print(f"{key} vwap: engine {e['vwap']} reference {vwap}"); bad += 1
    missing = [k for k in bars if k[1] + tf + LATENESS_MS + 1000 <= last_recv // 1_000_000
               and k not in seen]
    for k in missing[:10]:
        print("reference bar the engine did not write:", k, bars[k]); bad += 1
    print(f"bars_ref: {len(engine)} engine bars checked against {len(bars)} reference bars, "
          f"{late} late trades, {bad} differences")
    return 1 if bad else 0

sys.exit(main())
