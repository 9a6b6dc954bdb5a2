#!/usr/bin/env bash
# The main job: build lastbyte for a configure preset (default: the configured
# backend) and run the conformance matrix: the configured backend as client
# and as server against every installed backend as peer, in memory under the
# delivery schedules and over loopback TCP, plus R36.
#   bash conformance/run.sh            the quick matrix (a few minutes)
#   bash conformance/run.sh --full     every schedule and read size, R36 with 2,000 connections
#   bash conformance/run.sh [runner options]   e.g. --backend all --scenario 'R0*' --junit report.xml
# LASTBYTE_PRESET=asan|clang selects another preset; LASTBYTE_PRESET=<backend>
# (a name from backends/backends.cmake) configures that backend instead.
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${LASTBYTE_PRESET:-default}"
build="build/$preset"
if grep -q "^lastbyte_known_backend($preset " backends/backends.cmake; then
  export LASTBYTE_BACKEND=$preset
  preset=backend
fi
bash .ci/deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target lastbyte-conformance
args=("$@")
if [ ${#args[@]} -eq 0 ]; then args=(--quick); fi
if [ "${args[0]}" = "--full" ]; then args=("${args[@]:1}"); fi
exec "$build/conformance/lastbyte-conformance" "${args[@]}"
