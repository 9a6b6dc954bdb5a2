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
# shellcheck source=tools/preset.sh
source tools/preset.sh
select_preset "${LASTBYTE_PRESET:-default}"

phase "1/3 Debian packages (.ci/deps.sh)"
bash .ci/deps.sh

phase "2/3 configure and build lastbyte-conformance in $build"
configure
cmake --build --preset "$preset" --target lastbyte-conformance

args=("$@")
if [ ${#args[@]} -eq 0 ]; then args=(--quick); fi
if [ "${args[0]}" = "--full" ]; then args=("${args[@]:1}"); fi
phase "3/3 the conformance matrix: lastbyte-conformance ${args[*]}"
exec "$build/conformance/lastbyte-conformance" "${args[@]}"
