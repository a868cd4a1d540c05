# shellcheck shell=bash
# A throwaway PostgreSQL 15 server for the system tests, sourced by bash scripts that run
# with `set -euo pipefail`:
#
#   . "$(dirname "$0")/pg_lib.sh"
#   tmp=$(mktemp -d)
#   trap 'pg_stop; rm -rf "$tmp"' EXIT
#   pg_start "$tmp/pg"                       # exports PGHOST PGPORT PGUSER PGDATABASE
#   pg_sql "$(/usr/bin/python3 csv_ddl.py t.csv trades)"
#   pg_copy_csv trades t.csv
#   pg_sql "SELECT count(*), sum(price*size) FROM trades"     # -> 5|123.45
#
#   pg_start DIR          a new cluster in DIR/data (initdb from PG_BINDIR, default
#                         /usr/lib/postgresql/15/bin), no TCP at all: a unix socket in DIR
#                         only, so no port can clash and several tests can run at once; fsync,
#                         full-page writes and synchronous commit off. Waits for pg_isready
#                         (at most 30 s; on failure the end of DIR/server.log and exit 1).
#                         Never touches the Debian cluster "main" nor its service.
#                         As root, the server runs as the system user postgres (or, when
#                         there is none, tickd-pg, created unprivileged); otherwise as the
#                         caller. DIR is made and given to that user; it must not hold a
#                         cluster already.
#   pg_sql SQL...         psql -X -q -v ON_ERROR_STOP=1 -At, each argument one -c (none: the
#                         SQL on stdin); prints the rows (fields split by |), no command tags;
#                         non-zero exit on any SQL error.
#   pg_copy_csv TABLE F   \copy TABLE FROM 'F' CSV HEADER (psql reads F, so its permissions
#                         do not matter to the server).
#   pg_stop               stops the server (immediate); harmless when it is not running, when
#                         it already stopped, or twice. Register it in your EXIT trap.
#   pg_check_table TABLE CHECK_JSON
#                         holds TABLE to what csv_check.py printed for the CSV loaded into it:
#                         count(*) = rows; count(col) = the non-null count of every column;
#                         sum(col) of every numeric column and sum(a*b) of its products equal
#                         (integers exactly; doubles within (n-1) roundings of sum(abs), and
#                         at least 1e-12 of it: PostgreSQL adds doubles in row order, csv_check
#                         with math.fsum). One line on stdout when all agree; else every
#                         difference on stderr and status 1.
#   pg_close GOT WANT [REL]  succeeds when two numbers agree to a relative REL (default 1e-12),
#                         else prints both on stderr and fails: PostgreSQL sums doubles in row
#                         order, the checkers with math.fsum.

PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
_PG_DIR='' _PG_USER='' _PG_RUNNING=''

_pg_die() { echo "pg_lib: $*" >&2; exit 1; }

# Run a command as the server's user, from DIR (a cwd it may not be allowed to see otherwise),
# with a clean environment (no PGDATA, PGPORT, LANG... of the caller's).
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd "$_PG_DIR" && setpriv --reuid="$_PG_USER" --regid="$_PG_USER" --init-groups \
      --reset-env -- "$@")
  else
    (cd "$_PG_DIR" && env -i PATH=/usr/bin:/bin HOME="${HOME:-/}" "$@")
  fi
}

_pg_tail() {
  echo "--- the end of $_PG_DIR/server.log:" >&2
  tail -n 30 "$_PG_DIR/server.log" >&2 2>/dev/null || echo "(no server.log)" >&2
}

# As root: the user that runs the server. postgres when it exists (Debian's postgresql package
# makes it), else an unprivileged system user of our own.
_pg_pick_user() {
  if [ "$(id -u)" -ne 0 ]; then _PG_USER=$(id -un); return; fi
  if getent passwd postgres >/dev/null; then _PG_USER=postgres; return; fi
  _PG_USER=tickd-pg
  getent passwd "$_PG_USER" >/dev/null && return
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$_PG_USER" 2>/dev/null ||
    getent passwd "$_PG_USER" >/dev/null ||   # another test made it at the same time
    _pg_die "there is no postgres user and useradd $_PG_USER failed"
}

# The server's user must be able to walk down to DIR. A mktemp -d directory (mode 0700, ours)
# on the way is opened for search only (o+x, never read); anything else is an error to fix.
_pg_reach() {
  local d=$1 a tmproot
  _pg_as test -w "$d" -a -x "$d" 2>/dev/null && return 0
  tmproot=$(cd "${TMPDIR:-/tmp}" && pwd -P)
  a=$(dirname "$d")
  while [ "$a" != / ]; do
    if ! _pg_as test -x "$a" 2>/dev/null; then
      case $a in
        "$tmproot"/*) [ -O "$a" ] && chmod o+x "$a" ||
                        _pg_die "user $_PG_USER cannot enter $a (on the way to $d)";;
        *) _pg_die "user $_PG_USER cannot enter $a (on the way to $d): use a DIR under $tmproot";;
      esac
    fi
    a=$(dirname "$a")
  done
  _pg_as test -w "$d" -a -x "$d" || _pg_die "user $_PG_USER cannot write $d"
}

pg_start() {
  [ $# -eq 1 ] || _pg_die "usage: pg_start DIR"
  [ -z "$_PG_RUNNING" ] || _pg_die "pg_start: a server is already running in $_PG_DIR"
  local b=$PG_BINDIR q deadline rc
  [ -x "$b/initdb" ] && [ -x "$b/postgres" ] ||
    _pg_die "no PostgreSQL 15 in $b: install Debian's postgresql (scripts/deps.sh)"
  [ ! -e "$1/data" ] || _pg_die "pg_start: $1/data exists already"
  mkdir -p "$1"
  _PG_DIR=$(cd "$1" && pwd -P)
  # The socket is DIR/.s.PGSQL.5432, and a unix socket path has at most 107 bytes.
  [ $((${#_PG_DIR} + 14)) -le 107 ] ||
    _pg_die "pg_start: $_PG_DIR is too long for a unix socket path (at most 93 bytes)"
  _pg_pick_user
  if [ "$(id -u)" -eq 0 ]; then chown "$_PG_USER:" "$_PG_DIR"; fi
  chmod 0700 "$_PG_DIR"
  _pg_reach "$_PG_DIR"

  _pg_as "$b/initdb" -D "$_PG_DIR/data" -U postgres --auth=trust --no-locale -E UTF8 \
    --no-sync --no-instructions >"$_PG_DIR/initdb.log" 2>&1 || {
    echo "--- $_PG_DIR/initdb.log:" >&2; tail -n 30 "$_PG_DIR/initdb.log" >&2
    _pg_die "pg_start: initdb failed"
  }
  q=${_PG_DIR//\'/\'\'}
  cat >>"$_PG_DIR/data/postgresql.conf" <<EOF

# tickd tests (pg_lib.sh): a unix socket in $q only; speed over durability.
listen_addresses = ''
unix_socket_directories = '$q'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_connections = 20
shared_buffers = 32MB
autovacuum = off
EOF

  # pg_ctl forks the postmaster away from us (not our child: a caller's bare `wait` will not
  # wait for it), and with -w returns when it is up, or as soon as it has exited. Then
  # pg_isready, within the same 30 s, says it takes connections on the socket.
  deadline=$((SECONDS + 30))
  _PG_RUNNING=1
  _pg_as "$b/pg_ctl" start -w -t 30 -D "$_PG_DIR/data" -l "$_PG_DIR/server.log" \
    >"$_PG_DIR/pg_ctl.log" 2>&1 || {
    cat "$_PG_DIR/pg_ctl.log" >&2; _pg_tail; pg_stop; _pg_die "pg_start: the server did not start"
  }
  export PGHOST=$_PG_DIR PGPORT=5432 PGUSER=postgres PGDATABASE=postgres PGCLIENTENCODING=UTF8
  unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGOPTIONS PGPASSWORD PGSSLMODE PGTARGETSESSIONATTRS
  while :; do
    rc=0; "$b/pg_isready" -q -t 1 || rc=$?
    [ $rc -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      _pg_tail; pg_stop; _pg_die "pg_start: not ready after 30 s (pg_isready: $rc)"
    fi
    sleep 0.1
  done
}

pg_sql() {
  [ -n "$_PG_RUNNING" ] || _pg_die "pg_sql: no server (pg_start first)"
  local a=() s
  for s in "$@"; do a+=(-c "$s"); done
  [ $# -gt 0 ] || a=(-f -)   # no argument: the SQL on stdin
  "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At "${a[@]}"
}

pg_copy_csv() {
  [ $# -eq 2 ] || _pg_die "usage: pg_copy_csv TABLE CSVFILE"
  [ -n "$_PG_RUNNING" ] || _pg_die "pg_copy_csv: no server (pg_start first)"
  [ -r "$2" ] || _pg_die "pg_copy_csv: cannot read $2"
  case $2 in *"'"* | *$'\n'* | *\\*) _pg_die "pg_copy_csv: no quote, backslash or newline in the file name, please: $2";; esac
  "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -At -c "\\copy $1 FROM '$2' CSV HEADER"
}

pg_stop() {
  [ -n "$_PG_RUNNING" ] || return 0
  _PG_RUNNING=
  local pid cmd
  _pg_as "$PG_BINDIR/pg_ctl" stop -D "$_PG_DIR/data" -m immediate -w -t 30 >/dev/null 2>&1 ||
    true
  # Still there (pg_ctl could not stop it)? Kill the postmaster we started, by its pid.
  # (The pid file's pid only if that process is still our postmaster, not a reused pid.)
  if pid=$(head -n 1 "$_PG_DIR/data/postmaster.pid" 2>/dev/null) && [ -n "$pid" ] &&
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) && [[ $cmd == *" $_PG_DIR/data"* ]]
  then
    echo "pg_lib: pg_ctl stop left postmaster $pid running; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  return 0
}

pg_close() {
  /usr/bin/python3 - "$@" <<'EOF'
import sys
got, want = float(sys.argv[1]), float(sys.argv[2])
rel = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-12
if got == want or abs(got - want) <= rel * max(abs(got), abs(want)):
    sys.exit(0)
print(f"pg_close: {sys.argv[1]} vs {sys.argv[2]}: relative difference "
      f"{abs(got - want) / max(abs(got), abs(want)):.3g} > {rel}", file=sys.stderr)
sys.exit(1)
EOF
}

# pg_check_table's two halves, in Python (/usr/bin/python3, no pandas needed): "sql" prints the
# one query; "cmp" compares its one row with the JSON.
_PG_CHECK_PY=$(cat <<'EOF'
import json, re, sys
mode, table, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
q = lambda c: '"' + c.replace('"', '""') + '"'
checks = [("rows", "count(*)", d["rows"], None)]
checks += [(f"count({c})", f"count({q(c)})", d["nonnull"][c], None) for c in d["columns"]]
for c in d["numeric"]:
    checks.append((f"sum({c})", f"sum({q(c)})", d["sums"][c], f"sum(abs({q(c)}))"))
for name, want in d["products"].items():
    a, b = name.split("*")
    e = f"{q(a)}*{q(b)}"
    checks.append((f"sum({name})", f"sum({e})", want, f"sum(abs({e}))"))
exprs = [c[1] for c in checks] + [c[3] for c in checks if c[3]]
if mode == "sql":
    print("SELECT " + ", ".join(exprs) + f" FROM {table}")
    sys.exit(0)
got = sys.argv[4].rstrip("\n").split("|")
if len(got) != len(exprs):
    sys.exit(f"pg_check_table {table}: {len(got)} values back for {len(exprs)} aggregates: {got}")
absums = iter(got[len(checks):])
n, bad = d["rows"], []
for (label, _, want, absexpr), g in zip(checks, got):
    if absexpr is None:                                   # a count
        ok = g == str(want)
    else:
        ab = float(next(absums) or 0)
        if g == "":                                       # the sum of no non-null value
            ok = want == 0 and ab == 0
        elif isinstance(want, int) and re.fullmatch(r"-?\d+", g) and ab < 2.0 ** 53:
            ok = int(g) == want
        else:
            tol = max(1e-12, 2 * max(n - 1, 1) * 2.0 ** -53) * ab
            ok = abs(float(g) - want) <= tol
    if not ok:
        bad.append(f"  {label}: PostgreSQL {g or 'NULL'}, csv_check {want!r}")
if bad:
    sys.exit(f"pg_check_table {table}: PostgreSQL disagrees with csv_check:\n" + "\n".join(bad))
print(f"pg_check_table {table}: {n} rows, {len(d['columns'])} column counts and "
      f"{len(checks) - 1 - len(d['columns'])} sums agree")
EOF
)

pg_check_table() {
  [ $# -eq 2 ] || _pg_die "usage: pg_check_table TABLE CHECK_JSON"
  local sql row
  sql=$(/usr/bin/python3 -c "$_PG_CHECK_PY" sql "$1" "$2") || return 1
  row=$(pg_sql "$sql") || return 1
  /usr/bin/python3 -c "$_PG_CHECK_PY" cmp "$1" "$2" "$row"
}
