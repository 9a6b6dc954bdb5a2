# Sourced by tests/run.sh and conformance/run.sh: the preset a name selects,
# phase headings, and a quiet configure.
#   select_preset NAME   sets preset and build (a backend name from
#                        backends/backends.cmake: the backend preset, build/<name>)
#   phase TEXT           "== TEXT (N s)"
#   configure            cmake --preset, its output in $build/configure.log
#                        (its "-- lastbyte:" lines shown; its end on failure)
start=$SECONDS

select_preset() {
  preset=$1
  build="build/$preset"
  if grep -q "^lastbyte_known_backend($preset " backends/backends.cmake; then
    export LASTBYTE_BACKEND=$preset
    # .ci/deps.sh installs an opt-in backend's packages only when named.
    export LASTBYTE_OPT_IN_BACKENDS="${LASTBYTE_OPT_IN_BACKENDS:-} $preset"
    preset=backend
  fi
}

phase() { echo "== $* ($((SECONDS - start)) s)"; }

configure() {
  mkdir -p "$build"
  if ! cmake --preset "$preset" >"$build/configure.log" 2>&1; then
    echo "$0: configure failed; the end of $build/configure.log:" >&2
    tail -n 40 "$build/configure.log" >&2
    exit 1
  fi
  grep -E '^-- lastbyte' "$build/configure.log" || true
}
