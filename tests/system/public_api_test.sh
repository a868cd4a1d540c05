#!/usr/bin/env bash
# The public reader API against a segment a finite tickd run filled.
set -euo pipefail
B=$1
P=/dev/shm/tickd-api-test-$$
export TICKD_SHM_PATH=$P
trap 'rm -f "$P" "$P".*' EXIT
"$B/tickd" run --fresh --source synth --seed 7 --count 200000 --exit-at-end >/dev/null 2>&1
"$B/tests/system/public_api" "$P"
