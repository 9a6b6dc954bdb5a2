#!/usr/bin/env bash
# docs/divergences.md's measured section must be what native mode measures
# today: regenerate it into a copy and fail with the diff when they differ.
#   native_table_test.sh LASTBYTE_CONFORMANCE DOCS_DIVERGENCES_MD "LIBRARIES THE TABLE MEASURES"
# Exit 77 (skipped) when native mode was built without one of them: the
# table cannot be measured here, which is not a drift.
set -euo pipefail
runner=$1
doc=$2
expected=$3
built=$("$runner" --list-native | tr '\n' ' ')
for library in $expected; do
  case " $built " in
    *" $library "*) ;;
    *) echo "skipped: native mode was built without $library (built: $built); .ci/deps.sh installs it" >&2; exit 77 ;;
  esac
done
copy=$(mktemp --suffix=.md)
trap 'rm -f "$copy"' EXIT
cp "$doc" "$copy"
if ! "$runner" --native --write-divergences "$copy" >/dev/null; then
  echo "lastbyte-conformance --native failed (a lastbyte cell failed, or the markers are missing)" >&2
  exit 1
fi
if ! diff -q "$doc" "$copy" >/dev/null; then
  was=$(grep -m1 '^Measured with' "$doc" || true)
  now=$(grep -m1 '^Measured with' "$copy" || true)
  if [ "$was" != "$now" ]; then
    # Another library version (a Debian point release on a fresh machine):
    # what the table says was true of the versions it names. Shown, never
    # passed: skipped, with the difference.
    diff -u --label "$doc (committed)" --label "$doc (measured now)" "$doc" "$copy" >&2 || true
    echo "skipped: docs/divergences.md was measured with other library versions" >&2
    echo "  committed: ${was:-no version line}" >&2
    echo "  here:      $now" >&2
    echo "  regenerate it on these versions: $runner --native --write-divergences $doc" >&2
    exit 77
  fi
fi
if ! diff -u --label "$doc (committed)" --label "$doc (measured now)" "$doc" "$copy"; then
  echo >&2
  echo "The measured native table differs from $doc. If the libraries really behave so, regenerate it:" >&2
  echo "  $runner --native --write-divergences $doc" >&2
  echo "and fix any hand-written row it contradicts." >&2
  exit 1
fi
echo "docs/divergences.md matches what native mode measures"
