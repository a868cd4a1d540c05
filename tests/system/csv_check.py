#!/usr/bin/python3
"""Check a CSV export against the JSON lines of the same records.

usage: /usr/bin/python3 csv_check.py KIND CSV JSONL      (KIND: trades | bars | signals)

Run it with Debian's /usr/bin/python3: python3-pandas is installed for that one, and a
`python3` first on PATH (pyenv, a venv) may have no pandas.

The CSV the data contract asks for: a header row whose names are the JSON field names in the
JSON's order; one row per JSON line, in the same order; null is an empty field; a trade's
`conditions` is its list joined with "|" (empty when absent); strings quoted as RFC 4180 says,
and only when they must be (a comma, a double quote, CR or LF in them); numbers written exactly
as in the JSON text.

Checks, each a precise message and exit 1 when it fails:
  - the CSV text itself: RFC 4180 syntax, the header, the row count, every field's text equal to
    what the JSON line says (numbers character for character), no needless quotes, null never
    quoted;
  - pandas: read_csv loads it with the same row count and columns; every numeric column's sum
    (math.fsum, NaN skipped) agrees with the fsum of the JSON values to a relative 1e-12 (exactly,
    for integer columns pandas holds as int64); every string column is equal row by row.
Then prints one JSON object on stdout, for the shell test to compare with PostgreSQL:
  {"kind", "rows", "columns", "numeric", "strings", "sums": {col: fsum}, "nonnull": {col: n},
   "products": {"price*size" (trades) | "vwap*volume" (bars): fsum of the row products}}
Integer columns' sums are exact integers; the others are floats (shortest round-trip text).
"""
import json
import math
import re
import sys

REL_TOL = 1e-12
REQUIRED = {
    "trades": ["symbol", "price", "size", "ts", "seq"],
    "bars": ["symbol", "tf", "window_start", "open", "high", "low", "close", "volume", "vwap",
             "trade_count", "seq"],
    "signals": ["symbol", "ts", "type", "seq"],
}
PRODUCTS = {"trades": [("price", "size")], "bars": [("vwap", "volume")], "signals": []}


def die(msg):
    print(f"csv_check: {msg}", file=sys.stderr)
    sys.exit(1)


class Num(str):
    """A JSON number, kept as its text; int(self)/float(self) give its value."""
    __slots__ = ()

    def value(self):
        if re.fullmatch(r"-?\d+", self):
            return int(self)
        return float(self)


def no_constants(name):
    raise ValueError(f"{name} is not JSON")


# ---------------------------------------------------------------- the JSON lines
def read_jsonl(path):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        die(f"{path}: not UTF-8 at byte {e.start}")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    objs = []
    for i, line in enumerate(lines, 1):
        if line.strip() == "":
            die(f"{path} line {i}: empty line")
        try:
            o = json.loads(line, parse_float=Num, parse_int=Num, parse_constant=no_constants)
        except ValueError as e:
            die(f"{path} line {i}: not JSON: {e}")
        if not isinstance(o, dict):
            die(f"{path} line {i}: not a JSON object")
        objs.append(o)
    return objs


def merge_keys(kind, objs, path):
    """The columns: every object's keys, in the JSON's order (an object may lack some)."""
    order = []
    for i, o in enumerate(objs, 1):
        keys = list(o.keys())
        # Its keys must appear in the same relative order as those already known.
        known = [k for k in keys if k in order]
        if known != [k for k in order if k in o]:
            die(f"{path} line {i}: fields in another order than the lines before: "
                f"{keys} vs {order}")
        pos = -1
        for k in keys:
            if k in order:
                pos = order.index(k)
            else:
                order.insert(pos + 1, k)
                pos += 1
    if kind == "trades" and "conditions" not in order:
        # Absent from every line: the column is still there, where the contract puts it.
        at = order.index("ts") + 1 if "ts" in order else len(order)
        order.insert(at, "conditions")
    for i, o in enumerate(objs, 1):
        for k in REQUIRED[kind]:
            if k not in o:
                die(f"{path} line {i}: a {kind[:-1]} with no \"{k}\"")
    return order


def cell(kind, col, v, path, line):
    """The CSV text a JSON value must become, and its type: 'num', 'str' or None (null)."""
    if v is None:
        return "", None
    if isinstance(v, Num):
        return str(v), "num"
    if isinstance(v, str):
        return v, "str"
    if kind == "trades" and col == "conditions" and isinstance(v, list):
        parts = []
        for c in v:
            if not isinstance(c, str):  # a number is a Num, a str holding its text
                die(f"{path} line {line}: conditions holds {json.dumps(c)}")
            if "|" in c:
                die(f"{path} line {line}: a condition with '|' in it cannot be joined: {c!r}")
            parts.append(str(c))
        return "|".join(parts), "str"
    die(f"{path} line {line}: \"{col}\" is {json.dumps(v)}, not a number, a string or null")


# ---------------------------------------------------------------- the CSV text
QUOTED = re.compile(r'"((?:[^"]|"")*)"')
PLAIN = re.compile(r'[^,"\r\n]*')


def read_csv_text(path):
    """RFC 4180 records: a list of lists of (text, was_quoted). Strict about the syntax."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        die(f"cannot read {path}: {e.strerror}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        die(f"{path}: not UTF-8 at byte {e.start}")
    if text == "":
        die(f"{path}: empty (no header row)")
    if text.startswith("\ufeff"):
        die(f"{path}: starts with a byte-order mark")

    def where(pos):
        return f"{path} line {text.count(chr(10), 0, pos) + 1} (record {len(records) + 1})"

    records, rec, pos, n = [], [], 0, len(text)
    while True:
        if text.startswith('"', pos):
            m = QUOTED.match(text, pos)
            if not m:
                die(f"{where(pos)}: a quoted field is never closed")
            rec.append((m.group(1).replace('""', '"'), True))
        else:
            m = PLAIN.match(text, pos)
            if text.startswith('"', m.end()):
                die(f"{where(m.end())}: a double quote inside an unquoted field")
            rec.append((m.group(0), False))
        pos = m.end()
        if pos == n:
            records.append(rec)
            break
        c = text[pos]
        if c == ",":
            pos += 1
            continue
        if c == "\n" or text.startswith("\r\n", pos):
            pos += 1 if c == "\n" else 2
            records.append(rec)
            rec = []
            if pos == n:
                break
            continue
        die(f"{where(pos)}: {c!r} after a closing quote or a lone CR")
    return records


# ---------------------------------------------------------------- the checks
def fsum_close(a, b):
    if a == b:
        return True
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def main(argv):
    if len(argv) != 4 or argv[1] not in REQUIRED:
        print("\n\n".join(__doc__.split("\n\n")[:2]), file=sys.stderr)
        sys.exit(2)
    kind, csv_path, jsonl_path = argv[1], argv[2], argv[3]

    objs = read_jsonl(jsonl_path)
    cols = merge_keys(kind, objs, jsonl_path)

    # The expected text of every field, and each column's type.
    want, types = [], {c: set() for c in cols}
    for i, o in enumerate(objs, 1):
        row = []
        for c in cols:
            t, ty = cell(kind, c, o.get(c), jsonl_path, i)
            if ty:
                types[c].add(ty)
            row.append((t, ty))
        want.append(row)
    for c in cols:
        if len(types[c]) > 1:
            die(f"{jsonl_path}: \"{c}\" holds both numbers and strings")
    strings = [c for c in cols if types[c] == {"str"}]
    numeric = [c for c in cols if c not in strings]          # all-null columns count as numeric
    if kind == "trades" and "conditions" in numeric:
        strings.append("conditions")                          # never a number, even when empty
        numeric.remove("conditions")

    # The CSV text.
    recs = read_csv_text(csv_path)
    header = [t for t, _ in recs[0]]
    if any(q for _, q in recs[0]):
        die(f"{csv_path}: a header name is quoted though none needs it: {header}")
    if header != cols:
        die(f"{csv_path}: header {','.join(header)}\n  but the JSON fields are {','.join(cols)}")
    data = recs[1:]
    for r, rec in enumerate(data, 1):
        if len(rec) != len(cols):
            blank = " (a blank line)" if rec == [("", False)] else ""
            die(f"{csv_path} data row {r}{blank}: {len(rec)} fields, the header has {len(cols)}")
    if len(data) != len(objs):
        die(f"{csv_path}: {len(data)} data rows, {jsonl_path}: {len(objs)} lines")
    for r, (rec, wrow) in enumerate(zip(data, want), 1):
        for c, (got, quoted), (exp, ty) in zip(cols, rec, wrow):
            if got != exp:
                what = "null" if ty is None else repr(exp)
                die(f"{csv_path} data row {r} column {c}: {got!r}, the JSON line says {what}")
            needs = any(ch in got for ch in ',"\r\n')
            if ty is None and quoted:
                die(f"{csv_path} data row {r} column {c}: null written as a quoted empty "
                    f"string (\"\"); null is an empty field")
            if quoted and not needs and not (ty == "str" and got == ""):
                die(f"{csv_path} data row {r} column {c}: {got!r} is quoted though it need not be")

    # pandas, as a consumer would read it: first plainly, then with the column types fixed (so
    # that a symbol such as "NA" or "NULL" stays a string).
    try:
        import pandas as pd
    except ImportError:
        die(f"no pandas for {sys.executable}: install Debian's python3-pandas "
            "(scripts/deps.sh) and run this with /usr/bin/python3")
    try:
        plain = pd.read_csv(csv_path)
        df = pd.read_csv(csv_path, dtype={c: str for c in strings}, keep_default_na=False,
                         na_values={c: [""] for c in numeric})
    except Exception as e:  # pandas raises many kinds; any of them is a failure to load
        die(f"pandas read_csv {csv_path}: {type(e).__name__}: {e}")
    for name, frame in (("read_csv", plain), ("read_csv with types", df)):
        if list(frame.columns) != cols:
            die(f"pandas {name}: columns {list(frame.columns)}, want {cols}")
        if len(frame) != len(objs):
            die(f"pandas {name}: {len(frame)} rows, {jsonl_path}: {len(objs)} lines")

    sums, nonnull = {}, {}
    for j, c in enumerate(cols):
        vals = [w[j][0] for w in want]
        if c in numeric:
            s = df[c]
            if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                die(f"pandas: column {c} is {s.dtype}, not numeric")
            jv = [Num(v).value() for v in vals if v != ""]
            pv = s.dropna().tolist()
            nonnull[c] = len(jv)
            if len(pv) != len(jv):
                die(f"pandas: column {c} has {len(pv)} values, the JSON {len(jv)} non-null")
            if all(isinstance(v, int) for v in jv):
                js = sum(jv)
                if pd.api.types.is_integer_dtype(s):
                    ps = sum(int(v) for v in pv)
                    if ps != js:
                        die(f"pandas: column {c} sums to {ps}, the JSON to {js}")
                elif not fsum_close(math.fsum(pv), float(js)):
                    die(f"pandas: column {c} sums to {math.fsum(pv)!r}, the JSON to {js}")
                sums[c] = js
            else:
                js, ps = math.fsum(jv), math.fsum(pv)
                if not fsum_close(js, ps):
                    die(f"pandas: column {c} sums to {ps!r}, the JSON to {js!r} "
                        f"(relative {abs(js - ps) / max(abs(js), abs(ps)):.3g} > {REL_TOL})")
                sums[c] = js
        else:
            got = df[c].tolist()
            nonnull[c] = sum(1 for v in vals if v != "")
            for r, (g, e) in enumerate(zip(got, vals), 1):
                if g != e:
                    die(f"pandas: data row {r} column {c}: {g!r}, the JSON line says {e!r}")

    products = {}
    for a, b in PRODUCTS[kind]:
        if a in cols and b in cols:
            ia, ib = cols.index(a), cols.index(b)
            products[f"{a}*{b}"] = math.fsum(
                float(w[ia][0]) * float(w[ib][0]) for w in want if w[ia][0] and w[ib][0])

    print(json.dumps({"kind": kind, "rows": len(objs), "columns": cols, "numeric": numeric,
                      "strings": strings, "sums": sums, "nonnull": nonnull,
                      "products": products}))


if __name__ == "__main__":
    main(sys.argv)
