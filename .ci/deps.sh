#!/usr/bin/env bash
# Installs the Debian 12 packages lastbyte needs to build and test: the
# toolchain, GoogleTest, Google Benchmark and every TLS library lastbyte has
# an adapter for (all of them, so the conformance matrix covers every pair).
# Nothing but Debian packages is ever fetched.
set -euo pipefail

cd "$(dirname "$0")/.."
# Every backend's library (PACKAGE in backends/backends.cmake: one package,
# or several in quotes), and the tools.
# An OPT_IN entry only when LASTBYTE_OPT_IN_BACKENDS names it.
opt_in=" ${LASTBYTE_OPT_IN_BACKENDS:-} "
opt_in=${opt_in//;/ }
backend_packages=()
while read -r name packages; do
  [ -n "$name" ] || continue
  backend_packages+=($packages)
done < <(sed -n -e 's/^lastbyte_known_backend(\([a-z0-9]*\) PACKAGE "\([^"]*\)".*/\1 \2/p' \
                -e 's/^lastbyte_known_backend(\([a-z0-9]*\) PACKAGE \([^ "][^ ]*\).*/\1 \2/p' \
                backends/backends.cmake
         sed -n -e 's/^lastbyte_known_backend(\([a-z0-9]*\) OPT_IN PACKAGE "\([^"]*\)".*/\1 \2/p' \
                -e 's/^lastbyte_known_backend(\([a-z0-9]*\) OPT_IN PACKAGE \([^ "][^ ]*\).*/\1 \2/p' \
                backends/backends.cmake | while read -r name packages; do
           case "$opt_in" in *" $name "*) echo "$name $packages" ;; esac
         done)
# libgnutls28-dev: native mode measures GnuTLS too (docs/divergences.md),
# adapter or not (it is also a backend package: listed once).
# ccache: .ci/run compiles the same sources for every configured backend.
# curl, python3, gnutls-bin, nginx, wget, stunnel4, haproxy: the real programs black-box mode judges
# (tests/CMakeLists.txt, docs/blackbox.md), on loopback only.
packages=(cmake ninja-build g++ clang libclang-rt-14-dev pkg-config openssl "${backend_packages[@]}" libgnutls28-dev libgtest-dev
          libbenchmark-dev libasio-dev libuv1-dev ccache curl python3 gnutls-bin nginx wget stunnel4 haproxy chromium)
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | awk '!seen[$0]++')
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
# apt's and dpkg's own output (hundreds of lines on a fresh machine) goes to
# a log; the terminal gets one line, and the log's end if the install fails.
mkdir -p build
log=$PWD/build/deps-apt.log
echo "deps.sh: installing ${#missing[@]} Debian packages (log: build/deps-apt.log): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
fail() {
  echo "deps.sh: $1 failed; the end of build/deps-apt.log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}
apt-get update -qq >"$log" 2>&1 || fail "apt-get update"
# nginx's package starts the service on port 80 where it can: nothing of
# ours may listen beyond what a test starts, so service starts are denied
# for the install (the tests run nginx themselves, on 127.0.0.1).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || fail "apt-get install"
echo "deps.sh: installed in $SECONDS s"
