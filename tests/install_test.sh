#!/usr/bin/env bash
# cmake --install produces a usable package: the README's example, extracted
# verbatim, builds against the install tree with find_package(lastbyte CONFIG)
# and with pkg-config, and both binaries fetch a body from lastbyte-server.
#   install_test.sh BUILD_DIR SOURCE_DIR SERVER_BIN [EXTRA_CXXFLAGS]
set -euo pipefail
build=$1 source=$2 server=$3 flags=${4:-}
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# Each step's output goes to a log that a failure prints before the trap
# removes it: under set -e a failing step would otherwise end the script
# silently (issue 20).
step() {
  local what=$1
  shift
  if ! "$@" >"$work/step.log" 2>&1; then
    echo "install_test: $what failed: $*" >&2
    tail -n 40 "$work/step.log" >&2
    exit 1
  fi
}

step "cmake --install" cmake --install "$build" --prefix "$work/prefix"
mkdir "$work/consumer"
cp "$source/tests/consumer/CMakeLists.txt" "$work/consumer/"
sed -n '/<!-- example:begin -->/,/<!-- example:end -->/p' "$source/README.md" | grep -v -e '^<!--' -e '^```' \
  > "$work/consumer/main.cpp"
diff -u "$source/examples/fetch.cpp" "$work/consumer/main.cpp" \
  || { echo "install_test: README example differs from examples/fetch.cpp" >&2; exit 1; }

step "configuring the find_package consumer" cmake -S "$work/consumer" -B "$work/consumer/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="$flags"
step "building the find_package consumer" cmake --build "$work/consumer/build"
pc=$(find "$work/prefix" -name lastbyte.pc)
[ -n "$pc" ] || { echo "install_test: the install tree has no lastbyte.pc" >&2; exit 1; }
pc_dir=$(dirname "$pc")
step "pkg-config --cflags --libs lastbyte" env PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs lastbyte
pc_flags=$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs lastbyte)
# shellcheck disable=SC2086
step "building the pkg-config consumer" g++ -std=c++20 $flags "$work/consumer/main.cpp" -o "$work/fetch-pkgconfig" $pc_flags
# A C program: C99, no C++ flags, only what pkg-config says.
# shellcheck disable=SC2086
step "building the C consumer" cc -std=c99 -Wall -Wextra -Wpedantic -Werror $flags "$source/tests/consumer/main.c" \
  -o "$work/c-consumer" $pc_flags
"$work/c-consumer" | grep -q '^lastbyte from C: backend ' || { echo "install_test: the C consumer failed" >&2; exit 1; }

"$server" --port 0 --body-size 1000 --max-connections 2 --write-ca "$work/ca.pem" >"$work/server.out" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q listening "$work/server.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
[ -n "$port" ] || { echo "install_test: lastbyte-server did not start listening within 5 s:" >&2; cat "$work/server.out" >&2; exit 1; }
for binary in "$work/consumer/build/fetch" "$work/fetch-pkgconfig"; do
  status=0
  "$binary" localhost "$port" "$work/ca.pem" >"$work/body" 2>"$work/verdict" || status=$?
  [ "$status" -eq 0 ] || { echo "install_test: $binary exited $status: $(cat "$work/verdict")" >&2; exit 1; }
  head -1 "$work/body" | grep -q '^HTTP/1.1 200' || { echo "install_test: $binary: no HTTP response" >&2; exit 1; }
  body=$(sed '1,/^\r$/d' "$work/body" | wc -c)
  [ "$body" -eq 1000 ] || { echo "install_test: $binary: body of $body bytes, expected 1000" >&2; exit 1; }
  grep -qx close_notify "$work/verdict" || { echo "install_test: $binary: $(cat "$work/verdict")" >&2; exit 1; }
done
echo "install_test: find_package and pkg-config consumers both fetched 1000 bytes, verdict close_notify; the C consumer linked and ran"
