"""python3 -m tickd: the reader commands on libtickd.

    python3 -m tickd tail LOG [--from-start] [--no-follow] [--count N] [--heartbeats]
                              [--symbol S]
    python3 -m tickd quote SYMBOL        the live quote, one JSON object
    python3 -m tickd symbols             one symbol a line, by id
    python3 -m tickd timeframes          the segment's timeframes and history depths
    python3 -m tickd history SYMBOL TF [--count N]   closed bars from the history rings

`tail` prints exactly the lines `tickd tail` prints (the same renderer, in
libtickd).  Every command takes --shm-path PATH (default $TICKD_SHM_PATH or
/dev/shm/tickd).  Errors: one line on stderr, exit 1; bad usage exit 2.
"""

import argparse
import dataclasses
import json
import math
import signal
import sys

import tickd


def _num(v):
    # The data contract's numbers: null where not defined.
    return None if isinstance(v, float) and not math.isfinite(v) else v


def cmd_tail(seg, a):
    out = sys.stdout
    printed = 0
    if a.from_start:
        f = seg.follow(a.log, from_start=True, follow=not a.no_follow)
        start = None
    else:
        # As tickd tail: the last --count records (10 if not given).
        probe = seg.follow(a.log)
        w = probe.write_seq()
        probe.close()
        back = a.count or 10
        start = w - back + 1 if w >= back else 1
        f = seg.follow(a.log, from_seq=start, follow=not a.no_follow)
    first = True
    while a.count is None or printed < a.count:
        rec = f.next()
        if rec is None:
            if a.no_follow:
                break
            continue
        if rec.gap is not None:
            # A start older than the ring holds is where tail's start is clamped.
            if not (first and start is not None and rec.gap[0] == start):
                print("tickd tail: lapped: sequences %d to %d were overwritten before they "
                      "could be read" % (rec.gap[0], rec.gap[1] - 1), file=sys.stderr)
            first = False
            continue
        first = False
        if rec.type == tickd.REC_HEARTBEAT and not a.heartbeats:
            continue
        if a.symbol is not None and (rec.type != tickd.REC_TICK or rec.symbol != a.symbol):
            continue
        out.write(rec.json + "\n")
        printed += 1
        if (printed & 1023) == 0:
            f.commit()
    out.flush()
    f.commit()
    f.close()
    return 0


def cmd_quote(seg, a):
    q = seg.quote(a.symbol)
    print(json.dumps({k: _num(v) for k, v in dataclasses.asdict(q).items()}))
    return 0


def cmd_symbols(seg, a):
    for name in seg.symbols():
        print(name if name is not None else "")
    return 0


def cmd_timeframes(seg, a):
    for t in seg.timeframes():
        print("%s %d history_depth=%d history_symbols=%d"
              % (t.name, t.tf_ns, t.history_depth, t.history_symbols))
    return 0


def cmd_history(seg, a):
    for b in seg.history(a.symbol, a.tf, a.count):
        print(json.dumps({k: _num(v) for k, v in dataclasses.asdict(b).items()}))
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m tickd", description=__doc__.split("\n")[0])
    p.add_argument("--shm-path", default=None, help="segment file")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tail", help="print a log as JSON lines, as tickd tail does")
    t.add_argument("log", nargs="?", default="ticks.0")
    t.add_argument("--from-start", action="store_true")
    t.add_argument("--no-follow", action="store_true")
    t.add_argument("--count", type=int, default=None)
    t.add_argument("--heartbeats", action="store_true")
    t.add_argument("--symbol", default=None)
    t.add_argument("--shm-path", dest="shm_path_sub", default=None)
    q = sub.add_parser("quote", help="the live quote of a symbol")
    q.add_argument("symbol")
    q.add_argument("--shm-path", dest="shm_path_sub", default=None)
    s = sub.add_parser("symbols", help="the symbols, by id")
    s.add_argument("--shm-path", dest="shm_path_sub", default=None)
    tf = sub.add_parser("timeframes", help="timeframes and history depths")
    tf.add_argument("--shm-path", dest="shm_path_sub", default=None)
    h = sub.add_parser("history", help="a symbol's closed bars from the history rings")
    h.add_argument("symbol")
    h.add_argument("tf")
    h.add_argument("--count", type=int, default=None)
    h.add_argument("--shm-path", dest="shm_path_sub", default=None)
    a = p.parse_args(argv)
    path = a.shm_path_sub or a.shm_path
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        with tickd.Segment(path) as seg:
            return {"tail": cmd_tail, "quote": cmd_quote, "symbols": cmd_symbols,
                    "timeframes": cmd_timeframes, "history": cmd_history}[a.cmd](seg, a)
    except tickd.TickdError as e:
        print("tickd %s: %s" % (a.cmd, e.strerror), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
