#!/usr/bin/env bash
# The whole test suite for one configure preset (default: the configured
# backend, openssl): installs missing Debian packages, configures, builds, runs ctest.
#   bash tests/run.sh [preset | backend name]
# A backend name from backends/backends.cmake (mbedtls, wolfssl, ...) uses
# the `backend` preset with that backend configured (build/<name>).
# After ctest it prints the skipped tests with their reasons and the failed
# ones with their first failure line (tests/ctest_summary.py).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tools/preset.sh
source tools/preset.sh
select_preset "${1:-default}"

phase "1/4 Debian packages (.ci/deps.sh)"
bash .ci/deps.sh

phase "2/4 configure the $preset preset in $build"
configure

phase "3/4 build"
cmake --build --preset "$preset"

phase "4/4 ctest (every test's whole output: $build/Testing/Temporary/LastTest.log)"
status=0
ctest --preset "$preset" || status=$?
python3 tests/ctest_summary.py "$build" || true
phase "done, ctest exit status $status"
exit "$status"
