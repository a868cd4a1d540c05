"""tickd: read a running tickd from Python, through libtickd (ctypes, no other package).

    import tickd
    seg = tickd.Segment()                 # $TICKD_SHM_PATH or /dev/shm/tickd, read-only
    print(seg.quote("AAPL"))              # the live quote: a Quote dataclass
    for rec in seg.follow("bars.1m", from_start=True, follow=False):
        print(rec.json)                   # the line `tickd tail bars.1m` prints

The records' JSON comes from the library's own renderer (tickd_record_json),
so it is byte for byte what `tickd tail` prints.  Errors raise TickdError, an
OSError carrying the errno and the library's one-line message.

Finding libtickd: $TICKD_LIB (a path to libtickd.so), else the library
installed beside this package by `cmake --install` (the relative path is
written into _install.py at install time), else ctypes.util.find_library.

Threads: a Segment may be shared by threads; a Follower belongs to one
thread at a time (as in tickd.h).
"""

import ctypes
import ctypes.util
import dataclasses
import errno as _errno
import os

__all__ = [
    "TickdError", "Segment", "Follower", "Record", "Quote", "Timeframe", "HistoryBar",
    "library_version", "REC_TICK", "REC_HEARTBEAT", "REC_GAP", "REC_BAR", "REC_SIGNAL",
]

REC_TICK, REC_HEARTBEAT, REC_GAP, REC_BAR, REC_SIGNAL = 1, 2, 3, 4, 5
_NEXT_NONE, _NEXT_RECORD, _NEXT_GAP = 0, 1, 2
_QUOTE_VERSION = 1


class TickdError(OSError):
    """A libtickd call failed: errno and the library's message."""


# ------------------------------------------------------------- the library

def _load():
    tried = []
    explicit = os.environ.get("TICKD_LIB")
    if explicit:
        return ctypes.CDLL(explicit)
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        from . import _install  # written by cmake --install
        cand = os.path.normpath(os.path.join(here, _install.LIBDIR_FROM_PACKAGE, "libtickd.so.0"))
        tried.append(cand)
        if os.path.exists(cand):
            return ctypes.CDLL(cand)
    except ImportError:
        pass
    name = ctypes.util.find_library("tickd")
    if name:
        return ctypes.CDLL(name)
    raise ImportError("libtickd not found (tried %s, and the system's library path); "
                      "set TICKD_LIB to the path of libtickd.so" % (", ".join(tried) or "nothing"))


_lib = _load()


class _Record(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("type", ctypes.c_uint32), ("aux", ctypes.c_uint32),
                ("data", ctypes.c_void_p), ("len", ctypes.c_uint32),
                ("gap_from", ctypes.c_uint64), ("gap_to", ctypes.c_uint64)]


class _FollowOpts(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("gating", ctypes.c_int), ("from_start", ctypes.c_int),
                ("from_seq", ctypes.c_uint64), ("release_after_ms", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32)]


class _Tick(ctypes.Structure):
    _fields_ = [("ts_ns", ctypes.c_int64), ("price", ctypes.c_double), ("size", ctypes.c_double),
                ("recv_ns", ctypes.c_int64), ("conditions", ctypes.c_uint32),
                ("feed", ctypes.c_uint32), ("src", ctypes.c_uint64)]


class _Heartbeat(ctypes.Structure):
    _fields_ = [("clock_ns", ctypes.c_int64), ("flags", ctypes.c_uint32), ("feed", ctypes.c_uint32),
                ("src", ctypes.c_uint64), ("stream", ctypes.c_uint64)]


class _FeedGap(ctypes.Structure):
    _fields_ = [("from_ns", ctypes.c_int64), ("to_ns", ctypes.c_int64),
                ("nsymbols", ctypes.c_uint32), ("feed", ctypes.c_uint32)]


class _Indicators(ctypes.Structure):
    _fields_ = [(n, ctypes.c_double) for n in
                ("session_vwap", "sma_fast", "sma_slow", "ema_fast", "ema_slow", "rsi",
                 "volatility")]


class _BarRecord(ctypes.Structure):
    _fields_ = [("window_start", ctypes.c_int64), ("tf_ns", ctypes.c_int64)] + \
               [(n, ctypes.c_double) for n in ("open", "high", "low", "close", "volume", "vwap")] + \
               [("trade_count", ctypes.c_uint64), ("ind", _Indicators)] + \
               [(n, ctypes.c_uint16) for n in ("sma_fast_n", "sma_slow_n", "ema_fast_n",
                                                "ema_slow_n", "rsi_n", "volatility_n")] + \
               [("signals", ctypes.c_uint32)]


class _Signal(ctypes.Structure):
    _fields_ = [("ts_ns", ctypes.c_int64), ("tf_ns", ctypes.c_int64), ("kind", ctypes.c_uint32),
                ("direction", ctypes.c_int32)] + \
               [(n, ctypes.c_double) for n in ("pct_change", "close", "vwap", "volume", "value")]


class _Quote(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("version", ctypes.c_uint32),
                ("symbol_id", ctypes.c_int32), ("reserved", ctypes.c_uint32),
                ("symbol", ctypes.c_char * 32), ("seq", ctypes.c_uint64),
                ("last_ts_ns", ctypes.c_int64), ("last_price", ctypes.c_double),
                ("last_size", ctypes.c_double), ("day_ns", ctypes.c_int64)] + \
               [(n, ctypes.c_double) for n in ("day_open", "day_high", "day_low", "day_volume",
                                                "prev_close", "change", "change_pct")] + \
               [("trade_count", ctypes.c_uint64), ("late", ctypes.c_uint64)]


class _Timeframe(ctypes.Structure):
    _fields_ = [("tf_ns", ctypes.c_int64), ("name", ctypes.c_char * 16),
                ("history_depth", ctypes.c_uint32), ("history_symbols", ctypes.c_uint32)]


class _Bar(ctypes.Structure):
    _fields_ = [("window_start", ctypes.c_int64)] + \
               [(n, ctypes.c_double) for n in ("open", "high", "low", "close", "volume", "vwap")] + \
               [("trade_count", ctypes.c_uint64)]


# The C structs' sizes, for the test that holds these mirrors to tickd.h.
STRUCT_SIZES = {
    "tickd_record": ctypes.sizeof(_Record), "tickd_follow_opts": ctypes.sizeof(_FollowOpts),
    "tickd_tick": ctypes.sizeof(_Tick), "tickd_heartbeat": ctypes.sizeof(_Heartbeat),
    "tickd_feed_gap": ctypes.sizeof(_FeedGap), "tickd_indicators": ctypes.sizeof(_Indicators),
    "tickd_bar_record": ctypes.sizeof(_BarRecord), "tickd_signal": ctypes.sizeof(_Signal),
    "tickd_quote": ctypes.sizeof(_Quote), "tickd_timeframe": ctypes.sizeof(_Timeframe),
    "tickd_bar": ctypes.sizeof(_Bar),
}

_vp, _i, _u32, _i32, _u64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_int32, ctypes.c_uint64
for _name, _res, _args in [
    ("tickd_version", ctypes.c_char_p, []),
    ("tickd_attach", _i, [ctypes.c_char_p, ctypes.POINTER(_vp)]),
    ("tickd_detach", None, [_vp]),
    ("tickd_last_error", ctypes.c_char_p, []),
    ("tickd_log_count", _i, [_vp]),
    ("tickd_log_name", ctypes.c_char_p, [_vp, _i]),
    ("tickd_symbol_find", _i32, [_vp, ctypes.c_char_p]),
    ("tickd_symbol_name", ctypes.c_char_p, [_vp, _i32]),
    ("tickd_symbol_count", _u32, [_vp]),
    ("tickd_timeframes", _i, [_vp, ctypes.POINTER(_Timeframe), ctypes.c_uint]),
    ("tickd_follow", _i, [_vp, ctypes.c_char_p, ctypes.POINTER(_FollowOpts), ctypes.POINTER(_vp)]),
    ("tickd_next", _i, [_vp, ctypes.POINTER(_Record), _i]),
    ("tickd_commit", None, [_vp]),
    ("tickd_unfollow", None, [_vp]),
    ("tickd_write_seq", _u64, [_vp]),
    ("tickd_record_json", _i, [_vp, ctypes.POINTER(_Record), ctypes.c_char_p, ctypes.c_size_t]),
    ("tickd_quote_id", _i, [_vp, _i32, ctypes.POINTER(_Quote)]),
    ("tickd_history_read", _i, [_vp, _i32, ctypes.c_int64, ctypes.POINTER(_Bar), ctypes.c_uint]),
]:
    _f = getattr(_lib, _name)
    _f.restype = _res
    _f.argtypes = _args


def _check(rc):
    if rc < 0:
        msg = _lib.tickd_last_error().decode("utf-8", "replace")
        raise TickdError(-rc, msg)
    return rc


def library_version():
    """The version of the libtickd in use ("0.1.0")."""
    return _lib.tickd_version().decode()


# ------------------------------------------------------------- the values

@dataclasses.dataclass(frozen=True)
class Quote:
    """The live state of a symbol (struct tickd_quote). Times in epoch ns."""
    symbol: str
    symbol_id: int
    seq: int
    last_ts_ns: int
    last_price: float
    last_size: float
    day_ns: int
    day_open: float
    day_high: float
    day_low: float
    day_volume: float
    prev_close: float  # NaN if the symbol traded on no earlier day
    change: float
    change_pct: float
    trade_count: int
    late: int


@dataclasses.dataclass(frozen=True)
class Timeframe:
    tf_ns: int
    name: str            # "1m": the bar log is bars.1m
    history_depth: int   # closed bars history() can return at most
    history_symbols: int


@dataclasses.dataclass(frozen=True)
class HistoryBar:
    window_start: int  # epoch ns
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float
    trade_count: int


class Record:
    """One record of a log.  .json is its line as `tickd tail` prints it; .fields
    the payload decoded as a dict (ticks, heartbeats, gaps, bars, signals).
    A gap (lapped, or released as a stalled gating follower) has .gap = (from, to):
    sequences [from, to) were missed."""

    __slots__ = ("seq", "type", "aux", "symbol", "json", "fields", "gap")

    def __init__(self, seq, type_, aux, symbol, json, fields, gap=None):
        self.seq, self.type, self.aux, self.symbol = seq, type_, aux, symbol
        self.json, self.fields, self.gap = json, fields, gap

    def __repr__(self):
        if self.gap is not None:
            return "Record(gap=[%d, %d))" % self.gap
        return "Record(%s)" % self.json


def _fields(c):
    out = {}
    for name, _t in c._fields_:
        v = getattr(c, name)
        out[name] = _fields(v) if isinstance(v, ctypes.Structure) else v
    return out


_PAYLOADS = {REC_TICK: _Tick, REC_HEARTBEAT: _Heartbeat, REC_GAP: _FeedGap, REC_BAR: _BarRecord,
             REC_SIGNAL: _Signal}


# ------------------------------------------------------------- the objects

class Segment:
    """A read-only attach to a tickd segment (tickd_attach).  path None:
    $TICKD_SHM_PATH or /dev/shm/tickd.  Use as a context manager or call close()."""

    def __init__(self, path=None):
        self._h = _vp()
        _check(_lib.tickd_attach(path.encode() if path is not None else None,
                                 ctypes.byref(self._h)))
        self._followers = []

    def close(self):
        if self._h:
            for f in list(self._followers):
                f.close()
            _lib.tickd_detach(self._h)
            self._h = _vp()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if not self._h:
            raise TickdError(_errno.EBADF, "the segment is closed")
        return self._h

    def logs(self):
        """The names of the segment's logs."""
        h = self._handle()
        return [_lib.tickd_log_name(h, i).decode() for i in range(_lib.tickd_log_count(h))]

    def symbols(self):
        """The symbols the segment knows, by id: [name of id 0, name of id 1, ...]."""
        h = self._handle()
        out = []
        for i in range(_lib.tickd_symbol_count(h)):
            name = _lib.tickd_symbol_name(h, i)
            out.append(name.decode() if name is not None else None)
        return out

    def symbol_id(self, name):
        """The id of a symbol; TickdError ENOENT if unknown."""
        return _check(_lib.tickd_symbol_find(self._handle(), name.encode()))

    def timeframes(self):
        """The segment's timeframes, shortest first."""
        h = self._handle()
        n = _check(_lib.tickd_timeframes(h, None, 0))
        arr = (_Timeframe * max(n, 1))()
        n = _check(_lib.tickd_timeframes(h, arr, n))
        return [Timeframe(t.tf_ns, t.name.decode(), t.history_depth, t.history_symbols)
                for t in arr[:n]]

    def _tf_ns(self, tf):
        if isinstance(tf, int):
            return tf
        for t in self.timeframes():
            if t.name == tf:
                return t.tf_ns
        raise TickdError(_errno.ENOENT, "no timeframe '%s' in this segment (it has %s)"
                         % (tf, ", ".join(t.name for t in self.timeframes())))

    def quote(self, symbol):
        """The live quote of symbol (a name or an id), one consistent snapshot."""
        h = self._handle()
        sid = symbol if isinstance(symbol, int) else self.symbol_id(symbol)
        q = _Quote()
        q.size = ctypes.sizeof(_Quote)
        for _attempt in range(3):
            rc = _lib.tickd_quote_id(h, sid, ctypes.byref(q))
            if rc != -_errno.EAGAIN:
                break
        _check(rc)
        return Quote(q.symbol.decode(), q.symbol_id, q.seq, q.last_ts_ns, q.last_price,
                     q.last_size, q.day_ns, q.day_open, q.day_high, q.day_low, q.day_volume,
                     q.prev_close, q.change, q.change_pct, q.trade_count, q.late)

    def history(self, symbol, tf, max_bars=None):
        """The newest closed bars of symbol for timeframe tf ("1m" or ns), oldest first."""
        h = self._handle()
        sid = symbol if isinstance(symbol, int) else self.symbol_id(symbol)
        tf_ns = self._tf_ns(tf)
        depth = max([t.history_depth for t in self.timeframes() if t.tf_ns == tf_ns] or [0])
        want = depth if max_bars is None else min(max_bars, depth)
        if want <= 0:
            return []
        arr = (_Bar * want)()
        n = _check(_lib.tickd_history_read(h, sid, tf_ns, arr, want))
        return [HistoryBar(b.window_start, b.open, b.high, b.low, b.close, b.volume, b.vwap,
                           b.trade_count) for b in arr[:n]]

    def follow(self, log, name=None, gating=False, from_start=False, from_seq=0,
               release_after_ms=0, follow=True, timeout_ms=-1):
        """Follow a log: an iterator of Records (see Follower)."""
        f = Follower(self, log, name, gating, from_start, from_seq, release_after_ms, follow,
                     timeout_ms)
        self._followers.append(f)
        return f


class Follower:
    """An iterator over a log's records (tickd_follow / tickd_next).

    follow=False stops at the record that was last when it opened; otherwise it
    waits for more (timeout_ms per wait, -1 forever; on a timeout the iteration
    ends).  A gap yields a Record with .gap set.  Named followers resume at
    their committed cursor; call commit() once records are safely handled."""

    def __init__(self, seg, log, name=None, gating=False, from_start=False, from_seq=0,
                 release_after_ms=0, follow=True, timeout_ms=-1):
        self._seg = seg
        self._h = _vp()
        self._rec = _Record()
        self._buf = ctypes.create_string_buffer(1024)
        opts = _FollowOpts(name.encode() if name is not None else None, 1 if gating else 0,
                           1 if from_start else 0, from_seq, release_after_ms, 0)
        _check(_lib.tickd_follow(seg._handle(), log.encode(), ctypes.byref(opts),
                                 ctypes.byref(self._h)))
        self.end = _lib.tickd_write_seq(self._h) if not follow else None
        self._timeout = 0 if not follow else timeout_ms
        self._done = False

    def __iter__(self):
        return self

    def __next__(self):
        rec = self.next()
        if rec is None:
            raise StopIteration
        return rec

    def next(self, timeout_ms=None):
        """The next Record, or None when there is none (in time, or past the end)."""
        if self._done or not self._h:
            return None
        t = self._timeout if timeout_ms is None else timeout_ms
        r = self._rec
        rc = _lib.tickd_next(self._h, ctypes.byref(r), t)
        if rc == _NEXT_NONE:
            return None
        if rc == _NEXT_GAP:
            return Record(None, None, None, None, None, None, (r.gap_from, r.gap_to))
        if self.end is not None and r.seq > self.end:
            self._done = True
            return None
        if self.end is not None and r.seq == self.end:
            self._done = True
        n = _check(_lib.tickd_record_json(self._seg._h, ctypes.byref(r), self._buf,
                                          len(self._buf)))
        payload = _PAYLOADS.get(r.type)
        fields = _fields(payload.from_address(r.data)) if payload is not None else {}
        sym = None
        if r.type in (REC_TICK, REC_BAR, REC_SIGNAL):
            s = _lib.tickd_symbol_name(self._seg._h, r.aux)
            sym = s.decode() if s is not None else None
        return Record(r.seq, r.type, r.aux, sym, self._buf.raw[:n].decode("utf-8"), fields)

    def commit(self):
        """Everything returned so far is done (a named follower's cursor moves)."""
        if self._h:
            _lib.tickd_commit(self._h)

    def write_seq(self):
        return _lib.tickd_write_seq(self._h)

    def close(self):
        if self._h:
            _lib.tickd_unfollow(self._h)
            self._h = _vp()
            if self in self._seg._followers:
                self._seg._followers.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
