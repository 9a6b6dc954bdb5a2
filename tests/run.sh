#!/usr/bin/env bash
# The whole test suite for one configure preset (default: the configured
# backend, openssl): installs missing Debian packages, configures, builds, runs ctest.
#   bash tests/run.sh [preset | backend name]
# A backend name from backends/backends.cmake (mbedtls, wolfssl, ...) uses
# the `backend` preset with that backend configured (build/<name>).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
bash .ci/deps.sh
if grep -q "^lastbyte_known_backend($preset " backends/backends.cmake; then
  export LASTBYTE_BACKEND=$preset
  preset=backend
fi
cmake --workflow --preset "$preset"
