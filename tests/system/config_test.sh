#!/usr/bin/env bash
# The configuration file through the real binary: precedence flag > environment >
# file > default and the origin of each value in tickd config; a bad value names
# the setting as the user wrote it (one line, exit 2); unknown keys and sections
# are errors; tickd run's engine gets the file's [engine] settings; every
# command's options agree with the settings table, and deploy/tickd.conf holds
# every setting.
# usage: config_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
B=$1
S=$2
T=$B/tickd
P=/dev/shm/tickd-cfg-$$
D=$(mktemp -d /tmp/tickd-cfg-test.XXXXXX)
trap 'rm -rf "$D"; rm -f "$P" "$P".*' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$D"
# Nothing from the caller's environment may decide a value here.
unset TICKD_CONFIG TICKD_SHM_PATH TIMEFRAMES WATERMARK_SECONDS SIGNAL_PCT_CHANGE \
  FINNHUB_API_TOKEN FINNHUB_API_KEY FINNHUB_TOKEN FINNHUB_WS_URL FINNHUB_CA_FILE \
  FINNHUB_SILENCE_SECONDS SYMBOLS SYMBOL_LIST PRICE_SYMBOLS

# 1. Every command's getopt options are the table's (a new option cannot miss
#    the table, so it cannot miss deploy/tickd.conf either: test_config).
cmds=$("$T" --help | awk '/^commands:/ {on=1; next} on && NF == 0 {exit} on {print $1}')
[ "$(echo "$cmds" | wc -w)" -ge 12 ] || fail "could not list the commands: $cmds"
for c in $cmds; do
  [ "$c" = config ] && continue
  # A command that does not call tk_config_args would just run: bounded, and
  # it fails for want of the answer.
  TICKD_CONFIG_CHECK=1 timeout 10 "$T" "$c" >"$D/check" 2>&1 </dev/null ||
    fail "tickd $c: $(cat "$D/check")"
  grep -q "^$c: the settings table agrees with the options$" "$D/check" ||
    fail "tickd $c does not read its settings through common/config.c: $(head -3 "$D/check")"
done

# 2. Precedence and origins.
cat > tickd.conf <<'EOF'
# a test configuration
[global]
shm-path = /dev/shm/tickd-cfg-unused

[engine]
watermark = 5
[feed]
token = s3cr3t-token
symbol-list = AAPL,MSFT,
  AMZN
EOF
show() { "$@" | grep -E "^$key +=" || true; }
key=watermark
line=$(show "$T" config --config tickd.conf --role engine)
[[ "$line" =~ ^watermark\ +=\ 5\ +#\ tickd.conf:6$ ]] || fail "file: '$line'"
line=$(WATERMARK_SECONDS=7 show "$T" config --config tickd.conf --role engine)
[[ "$line" =~ ^watermark\ +=\ 7\ +#\ env\ WATERMARK_SECONDS$ ]] || fail "env: '$line'"
line=$(WATERMARK_SECONDS=7 show "$T" config --config tickd.conf --role engine --watermark 9)
[[ "$line" =~ ^watermark\ +=\ 9\ +#\ flag\ --watermark$ ]] || fail "flag: '$line'"
line=$(show "$T" config --role engine)
[[ "$line" =~ ^watermark\ +=\ 2\ +#\ default$ ]] || fail "default: '$line'"
# The same file through TICKD_CONFIG and through tickd --config FILE <command>.
line=$(TICKD_CONFIG=tickd.conf show "$T" config)
[[ "$line" =~ ^watermark\ +=\ 5\ +#\ tickd.conf:6$ ]] || fail "TICKD_CONFIG: '$line'"
line=$(show "$T" --config tickd.conf config --role engine)
[[ "$line" =~ ^watermark\ +=\ 5\ +#\ tickd.conf:6$ ]] || fail "tickd --config: '$line'"
key=shm-path
line=$(TICKD_SHM_PATH=/dev/shm/other show "$T" config --config tickd.conf --role tail)
[[ "$line" =~ ^shm-path\ +=\ /dev/shm/other\ +#\ env\ TICKD_SHM_PATH$ ]] || fail "shm-path: '$line'"
key=symbol-list
line=$(show "$T" config --config tickd.conf)
[[ "$line" =~ ^symbol-list\ +=\ AAPL,MSFT,AMZN\ +#\ tickd.conf:9$ ]] || fail "continued: '$line'"
line=$(SYMBOLS= SYMBOL_LIST=IBM show "$T" config --config tickd.conf --role run)
[[ "$line" =~ ^symbol-list\ +=\ IBM\ +#\ env\ SYMBOL_LIST$ ]] || fail "alias: '$line'"
# Secrets: named, never shown.
"$T" config --config tickd.conf > all.txt
grep -q s3cr3t all.txt && fail "tickd config shows the token"
grep -Eq '^token +=.*<redacted> +# tickd.conf:8$' all.txt || fail "no redacted token: $(grep ^token all.txt)"
FINNHUB_API_KEY=k3y-s3cr3t "$T" config --role feed > feed.txt
grep -q k3y-s3cr3t feed.txt && fail "tickd config shows the token from the environment"
grep -Eq '^token +=.*<redacted> +# env FINNHUB_API_KEY$' feed.txt || fail "$(grep ^token feed.txt)"
# The token is never a flag of the feed (ps shows command lines to everyone).
rc=0; "$T" feed --source finnhub --token abc 2>err.txt || rc=$?
[ "$rc" -eq 2 ] && grep -q "^tickd: --token: not taken on the command line" err.txt ||
  fail "--token: rc $rc, $(cat err.txt)"

# 3. A bad value names the setting as the user wrote it: one line, exit 2.
bad() { # expected-prefix command...
  local want=$1; shift
  local rc=0
  "$@" > out.txt 2> err.txt || rc=$?
  [ "$rc" -eq 2 ] || fail "$*: exit $rc, want 2 ($(cat err.txt))"
  [ "$(wc -l < err.txt)" -eq 1 ] || fail "$*: not one line: $(cat err.txt)"
  [[ "$(cat err.txt)" == "$want"* ]] || fail "$*: '$(cat err.txt)', want '$want...'"
}
printf '[engine]\n# lateness\nwatermark = abc\n' > bad.conf
bad "tickd: bad.conf:3 watermark: 'abc' is not a number" "$T" engine --config bad.conf --shm-path "$P"
WATERMARK_SECONDS=abc bad "tickd: WATERMARK_SECONDS: 'abc' is not a number" "$T" engine --shm-path "$P"
bad "tickd: --watermark: 'abc' is not a number" "$T" engine --watermark abc --shm-path "$P"
# A flag beats the file: the file's bad value is still refused (getopt sees it).
bad "tickd: bad.conf:3 watermark:" "$T" engine --config bad.conf --watermark 3 --shm-path "$P"
printf '[stats]\ninterval = 0\n' > bad2.conf
bad "tickd: bad2.conf:2 interval: '0' is not an integer" "$T" stats --config bad2.conf --shm-path "$P"
printf '[init]\nslots = many\n' > bad3.conf
TICKD_CONFIG=bad3.conf bad "tickd: bad3.conf:2 slots: 'many' is not an integer" "$T" init --shm-path "$P"
printf '[run]\nfresh = sometimes\n' > bad4.conf
bad "tickd: bad4.conf:2 fresh: 'sometimes' is not true or false" "$T" run --config bad4.conf

# 4. Unknown keys and sections, keys in the wrong section: file:line, exit 2.
printf '[engine]\nwatermark = 5\nwatermrk = 3\n' > typo.conf
bad "tickd: typo.conf:3: unknown key 'watermrk' in [engine]" "$T" engine --config typo.conf
printf '[global]\n\n[engnie]\n' > typo2.conf
bad "tickd: typo2.conf:3: unknown section [engnie]" "$T" config --config typo2.conf
printf '[feed]\nwatermark = 5\n' > typo3.conf
bad "tickd: typo3.conf:2: watermark is not a setting of [feed] (it is one of [engine])" \
  "$T" tail --config typo3.conf
bad "tickd: --config: cannot read missing.conf: No such file or directory" \
  "$T" stats --config missing.conf

# 5. tickd run: the engine it starts reads the file's [engine] settings, and
#    run itself takes the feed's [feed] count (so --exit-at-end is allowed and
#    the feed runs at speed max).
printf '[engine]\nwatermark = 5\n[feed]\ncount = 20000\n' > run.conf
timeout 120 "$T" run --config run.conf --fresh --source synth --exit-at-end --shm-path "$P" \
  > run.out 2> run.err || fail "tickd run --config: $(tail -3 run.err)"
grep -q "lateness 5.0 s" run.err || fail "the engine did not get [engine] watermark: $(grep shard run.err)"
grep -q "applied 20000 ticks" run.err || fail "the feed did not get [feed] count: $(grep applied run.err)"
WATERMARK_SECONDS=3 timeout 120 "$T" run --config run.conf --fresh --source synth --count 20000 \
  --exit-at-end --shm-path "$P" > run.out 2> run.err || fail "tickd run (env): $(tail -3 run.err)"
grep -q "lateness 3.0 s" run.err || fail "the environment did not beat the file: $(grep shard run.err)"
# A bad engine setting in the file stops tickd run with the engine's message.
printf '[engine]\nwatermark = -1\n' > runbad.conf
rc=0
timeout 60 "$T" run --config runbad.conf --fresh --source synth --count 20000 --exit-at-end \
  --shm-path "$P" > run.out 2> run.err || rc=$?
[ "$rc" -ne 0 ] || fail "tickd run with a bad [engine] watermark succeeded"
grep -q "tickd: runbad.conf:2 watermark: '-1' is not a number" run.err ||
  fail "no file:line message from the engine: $(tail -3 run.err)"
"$T" clean --shm-path "$P" >/dev/null 2>&1 || true

# 6. deploy/tickd.conf loads as it is, and with every ';key = value' example
#    uncommented every role still loads it.
"$T" config --config "$S/deploy/tickd.conf" > /dev/null || fail "deploy/tickd.conf does not load"
sed 's/^;//' "$S/deploy/tickd.conf" > every.conf
for c in $cmds; do
  [ "$c" = config ] && continue
  "$T" config --config every.conf --role "$c" > role.txt 2> err.txt ||
    fail "deploy/tickd.conf uncommented, role $c: $(cat err.txt)"
  grep -q ' # default$' role.txt && fail "role $c: a setting not in deploy/tickd.conf: $(grep ' # default$' role.txt)"
done
echo "config: ok"
