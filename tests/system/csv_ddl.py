#!/usr/bin/python3
"""Print a CREATE TABLE statement for a CSV export, from its header row.

usage: csv_ddl.py CSV TABLE

Column types by name: text for symbol, tf, type, direction and conditions; bigint for ts,
window_start, seq and trade_count; double precision for every other column (prices, sizes,
indicators, whatever their names carry). TABLE is used as written (it may be schema-qualified);
the columns are double-quoted identifiers, so any header name works.
"""
import csv
import re
import sys

TEXT = {"symbol", "tf", "type", "direction", "conditions"}
BIGINT = {"ts", "window_start", "seq", "trade_count"}


def die(msg):
    print(f"csv_ddl: {msg}", file=sys.stderr)
    sys.exit(1)


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    path, table = argv[1], argv[2]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?", table):
        die(f"table name {table!r} is not a plain (optionally schema-qualified) identifier")
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), None)
    except (OSError, UnicodeDecodeError) as e:
        die(f"cannot read {path}: {e}")
    if not header or header == [""]:
        die(f"{path}: no header row")
    seen = set()
    for name in header:
        if name == "" or "\0" in name:
            die(f"{path}: an empty or invalid column name in the header {header}")
        if name in seen:
            die(f"{path}: column {name!r} twice in the header")
        seen.add(name)

    def col(name):
        ty = "text" if name in TEXT else "bigint" if name in BIGINT else "double precision"
        return '  "%s" %s' % (name.replace('"', '""'), ty)

    print(f"CREATE TABLE {table} (\n" + ",\n".join(col(n) for n in header) + "\n);")


if __name__ == "__main__":
    main(sys.argv)
