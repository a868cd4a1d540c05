#!/usr/bin/env bash
# Install the Debian 12 packages tickd needs to build, test and run.
# As root it installs what is missing; otherwise it prints the exact line.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config python3   # python3: the tools test checks JSON with it
  libck-dev libjemalloc-dev liburing-dev libwebsockets-dev librdkafka-dev
  libcriterion-dev libsimdjson-dev libinih-dev
  clang libclang-rt-14-dev   # the parser's libFuzzer target
  libjansson-dev             # bench/feed compares the parser with jansson
  openssl ca-certificates    # the system trust store for wss://; test certificates
  libssl-dev                 # tickd api checks its TLS certificate and key with OpenSSL
  strace procps util-linux   # the system tests count syscalls, find processes, unshare /proc
  iproute2                   # ss: the stream test sees the server's side of a connection
  postgresql python3-pandas  # the journal test loads exported CSV into a real PostgreSQL server and pandas
  fio                        # bench/persist: fio's sequential O_DIRECT write beside the journal's
  kcat                       # the Kafka tests: an independent producer and consumer (issue 10)
  python3-websockets         # the stream's test clients (issue 12)
  chromium                   # the live page in a real browser (playwright-core drives it)
  curl wrk nginx prometheus  # the API: make run's example, bench/api's load and baseline, promtool
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "tickd needs these Debian packages; as root, run:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
