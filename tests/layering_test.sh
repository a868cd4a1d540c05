#!/bin/sh
# The include graph keeps its layers (issue 8, item 11): tools/ (the command
# line) on top, then the roles (engine/, feed/, persist/, kafka/, api/), then shm/,
# then common/.  Fails if a file under shm/, common/ or a role includes tools/, or
# if shm/ or common/ include a role folder.  A role declares its commands in
# its own header (engine/cmd.h, feed/cmd.h) for tools/main.c to include.
# usage: layering_test.sh SOURCE_DIR
set -u
cd "$1" || exit 1
bad=0
# No exception: the live state libtickd reads is declared in shm/live.h.
allowed='^$'

inc() { # dirs...
  for d in "$@"; do
    find "$d" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print
  done | sort | while read -r f; do
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\("[^"]*"\).*/\1/p' "$f" |
      sed "s|^|$f:#include |"
  done
}

up=$(inc shm common engine feed persist kafka api | grep ':#include "tools/')
if [ -n "$up" ]; then
  echo "FAIL: shm/, common/ and the roles must not include tools/:" >&2
  echo "$up" >&2
  bad=1
fi
down=$(inc shm common | grep -E ':#include "(engine|feed|persist|kafka|api|tools)/' | grep -Ev "$allowed")
if [ -n "$down" ]; then
  echo "FAIL: shm/ and common/ must not include a role folder (engine/, feed/):" >&2
  echo "$down" >&2
  bad=1
fi
low=$(inc common | grep ':#include "shm/')
if [ -n "$low" ]; then
  echo "FAIL: common/ must not include shm/:" >&2
  echo "$low" >&2
  bad=1
fi
[ $bad -eq 0 ] && echo "ok: $(inc shm common engine feed persist kafka tools | wc -l) includes, layers kept"
exit $bad
