#!/usr/bin/env bash
# The main job: build lastbyte for a configure preset (default: the configured
# backend) and run the conformance matrix: the configured backend as client
# and as server against every installed backend as peer.
#   bash conformance/run.sh [runner options, e.g. --quick, --scenario 'R0*']
# LASTBYTE_PRESET=mbedtls|wolfssl|asan selects another preset.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${LASTBYTE_PRESET:-default}"
bash .ci/deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target lastbyte-conformance
exec "build/$preset/conformance/lastbyte-conformance" "$@"
