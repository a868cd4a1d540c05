# Shared by the shell system tests: sourced after T (the tickd binary) is set.
fail() { echo "FAIL: $*" >&2; exit 1; }

# Every bar and signal log of the default engine layout, from the start, as JSON lines.
dump() {
  for l in bars.1s bars.1m bars.5m bars.1h signals; do
    "$T" tail "$l" --from-start --no-follow
  done
}
