#!/usr/bin/env bash
# The TLS libraries linked into one process (the test binary) must not define
# the same global symbol: every backend lives in one process in tests and in
# the conformance runner.
#   symbol_clash_test.sh BINARY SONAME_REGEX   (SONAMES of backends/backends.cmake, joined by |)
set -euo pipefail
binary=$1 sonames=$2
libs=$(ldd "$binary" | awk -v re="$sonames" '$1 ~ re {print $3}')
[ -n "$libs" ] || { echo "symbol_clash_test: no TLS library linked into $binary" >&2; exit 1; }
declare -A owner
clashes=0
for lib in $libs; do
  for sym in $(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' | sort -u); do
    if [ -n "${owner[$sym]:-}" ] && [ "${owner[$sym]}" != "$lib" ]; then
      echo "clash: $sym defined by ${owner[$sym]} and $lib"
      clashes=$((clashes + 1))
    fi
    owner[$sym]=$lib
  done
done
echo "symbol_clash_test: $(echo "$libs" | wc -l) libraries, ${#owner[@]} symbols, $clashes clashes"
[ "$clashes" -eq 0 ]
