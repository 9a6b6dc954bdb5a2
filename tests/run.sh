#!/usr/bin/env bash
# The whole test suite for one configure preset (default: the configured
# backend, openssl): installs missing Debian packages, configures, builds, runs ctest.
#   bash tests/run.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
bash .ci/deps.sh
cmake --workflow --preset "$preset"
