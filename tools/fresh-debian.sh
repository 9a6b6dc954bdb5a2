#!/usr/bin/env bash
# Proves that the README's commands pass on a freshly bootstrapped Debian 12,
# so that a missing install step fails CI instead of a newcomer (issue 20).
#
#   bash tools/fresh-debian.sh [--main | --full] [--keep] [--no-cache] [--dir DIR]
#
#   --main      (default) the README's main job, `bash conformance/run.sh`,
#               then the configure and install tests of the default preset
#               (ctest -R '^(configure_|install_consumer$)'): what .ci/run runs.
#   --full      both README commands exactly as written: `bash
#               conformance/run.sh`, then `bash tests/run.sh` (long).
#   --keep      leave the root (and the build inside it) in place; the
#               mounts are removed all the same. Its path is printed.
#   --no-cache  share nothing with the host: no ccache, no .deb cache (the
#               cold, slow measurement).
#   --dir DIR   create the root under DIR (default: build/fresh-debian of
#               this repository). Never under /tmp: the root is ~2 GB.
#
# As root only (debootstrap, chroot, mount). It:
#   1. bootstraps `debootstrap --variant=minbase bookworm` from the host's
#      Debian mirror (its apt sources), into a fresh mktemp -d directory;
#   2. mounts proc, sys, dev, dev/pts, a tmpfs on dev/shm and run, and the
#      host's resolv.conf; gives the root the host's Debian sources
#      (bookworm, bookworm-updates, bookworm-security: what a Debian 12
#      install has, and the same package versions as the host);
#   3. installs only git (--no-install-recommends), and clones the committed
#      HEAD (a git bundle of it made at the start: never the work tree, nor
#      a later commit) into /root/lastbyte;
#   4. runs the README's commands there, as root, with a clean environment;
#   5. always (trap, also after a failure or Ctrl-C): kills what still runs
#      inside the root, unmounts everything (lazily as a fallback), checks
#      with findmnt that nothing is left mounted, removes the root.
#
# Accelerators (not with --no-cache), which never install or build anything
# in the root's place: the host's /var/cache/apt/archives (debootstrap's
# --cache-dir; its .debs hard-linked into the root's apt cache: apt and
# debootstrap still install every package, only the download is saved), and the host's ccache ($CCACHE_DIR, else build/.ccache) with
# compiler_check=content and CCACHE_BASEDIR, so that the root's identical
# g++ reuses the host's objects (a missing header or library still fails:
# ccache runs the preprocessor on a miss and never caches a link). The
# host's build must use the same settings to share: .ci/run does.
#
# Logs: build/fresh-debian/<mode>.logs/ (each line prefixed with the
# seconds since the start). On failure the first lines name the phase and
# the log, and the log's tail follows. Exits non-zero on any failure.
# LASTBYTE_FRESH_DEBIAN_SKIP=1 skips the whole check and says so.
# LASTBYTE_FRESH_DEBIAN_MIRROR=URL overrides the mirror.
set -euo pipefail

# A private mount namespace: nothing mounted for the root propagates to the
# host (where / is shared, as systemd makes it, a tmpfs on root/dev/shm
# would cover the host's /dev/shm), and every mount ends with the script,
# even if it is killed. Not root: the check below says what to do.
if [ "$(id -u)" -eq 0 ] && [ -z "${LASTBYTE_FRESH_DEBIAN_NAMESPACE:-}" ] && command -v unshare >/dev/null; then
  LASTBYTE_FRESH_DEBIAN_NAMESPACE=1 exec unshare --mount --propagation private -- bash "$0" "$@"
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
me="fresh-debian"
t0=$SECONDS

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "$me: ERROR: $*" >&2; exit 1; }

mode=main keep=0 accel=1 parent="$repo/build/fresh-debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --main) mode=main ;;
    --full) mode=full ;;
    --keep) keep=1 ;;
    --no-cache) accel=0 ;;
    --dir) [ $# -ge 2 ] || die "--dir needs a directory"; parent=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

if [ "${LASTBYTE_FRESH_DEBIAN_SKIP:-0}" = 1 ]; then
  echo "$me: SKIPPED (LASTBYTE_FRESH_DEBIAN_SKIP=1): the README's commands were NOT checked on a fresh Debian 12 root"
  exit 0
fi

# ---------------------------------------------------------------- helpers

phase_name='' phase_log='' phase_start=0
declare -A phase_time=()
phase_order=()
# phase NAME [LOG]: a heading with the elapsed time; LOG is where its output goes.
phase() {
  phase_end
  phase_name=$1 phase_log=${2:-} phase_start=$SECONDS
  echo "== $me: $phase_name ($((SECONDS - t0)) s)${phase_log:+, log: $phase_log}"
}
phase_end() {
  if [ -n "$phase_name" ]; then
    phase_time[$phase_name]=$((SECONDS - phase_start))
    phase_order+=("$phase_name")
    phase_name=
  fi
}
# stamp: prefixes each line with the seconds since the start of the script.
stamp() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    printf '[%5d s] %s\n' "$((SECONDS - t0))" "$line"
  done
}
# logged CMD...: runs CMD with its output (both streams) into the phase's
# log. In the background, so that a signal to this script is handled at once
# (bash runs traps only between foreground commands) and the job is ended.
job=
logged() {
  { "$@" < /dev/null 2>&1 | stamp >> "$phase_log"; } &
  job=$!
  local rc=0
  wait "$job" || rc=$?
  job=
  return $rc
}
# descendants PID: the ids of PID's children, their children, ...
descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; descendants "$c"; done
}

# --------------------------------------------------------- preconditions

[ "$(uname -s)" = Linux ] || die "needs Linux (debootstrap, chroot, mount)"
if [ "$(id -u)" -ne 0 ]; then
  die "needs root (debootstrap, chroot and mount); run it as root, or set LASTBYTE_FRESH_DEBIAN_SKIP=1 to skip this check explicitly"
fi
git -C "$repo" rev-parse --verify -q HEAD >/dev/null || die "$repo: not a git repository with a commit"

mkdir -p "$parent"
parent=$(cd "$parent" && pwd)
case "$parent" in /tmp|/tmp/*|/var/tmp|/var/tmp/*) die "--dir $parent: not under /tmp (the root is ~2 GB)";; esac
logs="$parent/$mode.logs"
# One run per mode and directory at a time (they share the logs directory).
exec 9>"$parent/$mode.lock"
flock -n 9 || die "another $me --$mode run holds $parent/$mode.lock"
rm -rf "$logs" && mkdir -p "$logs"
# The commit under test: HEAD now, in a bundle (what is committed later, or
# left uncommitted in the work tree, is not tested).
bundle="$logs/lastbyte.bundle"
git -C "$repo" bundle create "$bundle" HEAD >"$logs/bundle.log" 2>&1 ||
  { cat "$logs/bundle.log" >&2; die "git bundle create of HEAD failed"; }
commit=$(git -C "$repo" bundle list-heads "$bundle" HEAD | awk '{ print $1 }')

# The host's Debian sources: "URI SUITE" for bookworm, -updates and
# -security, from one-line (.list) and deb822 (.sources) files.
host_debian_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         { types = ""; uris = ""; suites = ""; enabled = "yes"
           for (j = 1; j <= NF; j++) {
             if ($j ~ /^[ \t]*#/ || index($j, ":") == 0) continue
             key = tolower(substr($j, 1, index($j, ":") - 1)); val = substr($j, index($j, ":") + 1)
             gsub(/^[ \t]+|[ \t]+$/, "", val)
             if (key == "types") types = val; else if (key == "uris") uris = val
             else if (key == "suites") suites = val; else if (key == "enabled") enabled = tolower(val)
           }
           if (enabled == "no" || (" " types " ") !~ / deb /) next
           nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
           for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) print u[a], s[b] }' "$f"
  done
}
mapfile -t sources < <(host_debian_sources | awk '$2 ~ /^bookworm(-updates|-security)?$/' | sort -u)
mirror=${LASTBYTE_FRESH_DEBIAN_MIRROR:-$(printf '%s\n' "${sources[@]}" | awk '$2 == "bookworm" { print $1; exit }')}
[ -n "$mirror" ] || die "no Debian bookworm source in /etc/apt/sources.list{,.d/*}: set LASTBYTE_FRESH_DEBIAN_MIRROR=URL"
[ ${#sources[@]} -gt 0 ] || sources=("$mirror bookworm")

if ! command -v debootstrap >/dev/null; then
  echo "$me: installing debootstrap on the host (apt-get)"
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; } >"$logs/host-apt.log" 2>&1 ||
    { tail -n 20 "$logs/host-apt.log" >&2; die "could not install debootstrap on the host (log: $logs/host-apt.log)"; }
fi

# ccache shared with the host (accelerator).
if [ $accel = 1 ]; then
  host_ccache=${CCACHE_DIR:-$repo/build/.ccache}
  mkdir -p "$host_ccache"
  ccache_max=${CCACHE_MAXSIZE:-$(CCACHE_DIR=$host_ccache ccache --get-config max_size 2>/dev/null || echo 8G)}
fi

# ------------------------------------------------------------ the root

root=$(mktemp -d "$parent/root.XXXXXX")
mounts=()   # mounted targets, in order
failed=1
phase_failed=

# Processes whose root directory is inside $root (the tests' servers, ...).
root_pids() {
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    case "$r" in "$root"|"$root"/*) echo "${p#/proc/}" ;; esac
  done
}
# Mount points at or under $root still in this mount namespace.
root_mounts() { findmnt -rn -o TARGET | awk -v r="$root" '$0 == r || index($0, r "/") == 1'; }

print_times() {
  local p
  [ ${#phase_order[@]} -gt 0 ] || return 0
  echo "$me: times:"
  for p in "${phase_order[@]}"; do printf '  %5d s  %s\n' "${phase_time[$p]}" "$p"; done
}

# The .debs the root downloaded, into the host's cache (accelerator).
cache_debs_back() {
  [ "$accel" = 1 ] && [ -d "$root/var/cache/apt/archives" ] || return 0
  find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -links 1 \
    -exec cp -n -l -t /var/cache/apt/archives/ {} + 2>/dev/null
  return 0
}

cleanup() {
  local rc=$? pids i left
  set +e
  trap - EXIT INT TERM
  [ "$failed" = 1 ] && [ $rc -eq 0 ] && rc=1
  [ $rc -ne 0 ] && [ -z "$phase_failed" ] && phase_failed=$phase_name
  if [ -n "$job" ]; then
    # An interrupted command (debootstrap, a chroot): end it, by its ids.
    pids=$(descendants "$job")
    # shellcheck disable=SC2086
    kill -TERM "$job" $pids 2>/dev/null
    sleep 1
  fi
  phase_end
  print_times
  pids=$(root_pids)
  if [ -n "$pids" ]; then
    echo "$me: stopping what still runs in the root: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null
    for _ in $(seq 50); do [ -z "$(root_pids)" ] && break; sleep 0.1; done
    pids=$(root_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.5
  fi
  cache_debs_back
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    umount "${mounts[i]}" 2>/dev/null || umount -l "${mounts[i]}" 2>/dev/null ||
      echo "$me: could not unmount ${mounts[i]}" >&2
  done
  # Anything else mounted below the root (by a package's scripts, say): lazily.
  root_mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  left=$(root_mounts)
  if [ -n "$left" ]; then
    echo "$me: ERROR: still mounted, the root $root is NOT removed:" >&2
    echo "$left" >&2
    rc=1
  elif [ $keep = 1 ]; then
    echo "$me: kept (--keep): $root (nothing is mounted in it any more)"
  else
    # --one-file-system: never follows into a mount (none is left, checked above).
    rm -rf --one-file-system "$root" || { echo "$me: could not remove $root" >&2; rc=1; }
  fi
  if [ $rc -ne 0 ]; then
    echo "$me: FAILED${phase_failed:+ in phase \"$phase_failed\"} after $((SECONDS - t0)) s (exit $rc)" >&2
  fi
  exit $rc
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 130' INT
trap 'echo "$me: terminated" >&2; exit 143' TERM

# fail_in_phase: on a failed command, where to look first, then the log's tail.
fail_in_phase() {
  local rc=$?
  phase_failed=$phase_name
  {
    echo "$me: FAILED: $phase_name (exit $rc) on a fresh Debian 12 root, commit $commit"
    echo "$me: look at: $phase_log ${1:+($1)}"
    echo "---- last 40 lines of $phase_log ----"
    tail -n 40 "$phase_log" 2>/dev/null
    echo "---- end of $phase_log ----"
  } >&2
  exit $rc
}

echo "$me: --$mode, commit $commit ($(git -C "$repo" log -1 --format=%s "$commit" | cut -c1-60))"
echo "$me: root $root, mirror $mirror, accelerators: $([ $accel = 1 ] && echo "ccache $host_ccache, /var/cache/apt/archives" || echo none)"
echo "$me: logs $logs"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "$me: note: the work tree has uncommitted changes; only the commit is tested"
fi

# 1. debootstrap
phase "debootstrap --variant=minbase bookworm" "$logs/debootstrap.log"
cache_opt=()
[ $accel = 1 ] && cache_opt=(--cache-dir=/var/cache/apt/archives)
logged debootstrap --variant=minbase "${cache_opt[@]}" bookworm "$root" "$mirror" || {
  grep -q -e "Failed getting release file" -e "Couldn't download" -e "Could not resolve" "$phase_log" &&
    fail_in_phase "the Debian archive at $mirror is unreachable: set LASTBYTE_FRESH_DEBIAN_MIRROR, or LASTBYTE_FRESH_DEBIAN_SKIP=1 to skip this check explicitly"
  fail_in_phase "debootstrap failed; its own log is $root/debootstrap/debootstrap.log (with --keep)"
}

# 2. what a machine has and debootstrap does not write, mounts, apt sources
phase "mounts"
# /etc/hosts: the Debian installer, cloud images and containers all write
# one; without it "localhost" does not resolve (glibc asks DNS for it).
if [ ! -e "$root/etc/hosts" ]; then
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' \
    > "$root/etc/hosts"
fi
bind() {  # bind SOURCE TARGET [ro]
  if [ -d "$1" ]; then mkdir -p "$2"; else [ -e "$2" ] || touch "$2"; fi
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
# A mount that fails ends the run (set -e; the trap unmounts the others).
mount -t proc proc "$root/proc"
mounts+=("$root/proc")
mount -t sysfs -o ro sysfs "$root/sys"
mounts+=("$root/sys")
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mounts+=("$root/dev/shm")
mount -t tmpfs -o mode=755,nosuid,nodev run "$root/run"
mounts+=("$root/run")
rm -f "$root/etc/resolv.conf"
bind "$(readlink -f /etc/resolv.conf)" "$root/etc/resolv.conf" ro
if [ $accel = 1 ]; then
  # The host's .debs, as hard links (copies across file systems), not a bind
  # mount: a shared directory would share apt's lock with the host's apt
  # and with other roots ("Could not get lock /var/cache/apt/archives/lock").
  # What the root downloads is linked back at the end (cache_debs_back).
  find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -exec cp -l -t "$root/var/cache/apt/archives/" {} + 2>/dev/null ||
    find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -exec cp -n -t "$root/var/cache/apt/archives/" {} +
  bind "$host_ccache" "$root/var/cache/lastbyte-ccache"
fi
for s in "${sources[@]}"; do echo "deb $s main"; done > "$root/etc/apt/sources.list"
echo "$me: apt sources of the root:"; sed 's/^/  /' "$root/etc/apt/sources.list"

# in_root CMD...: CMD as root in the chroot, with a clean environment (the
# host's locale: ccache hashes it).
env_root=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb)
for v in LANG LC_ALL LC_CTYPE LC_MESSAGES; do [ -n "${!v:-}" ] && env_root+=("$v=${!v}"); done
if [ $accel = 1 ]; then
  env_root+=(CCACHE_DIR=/var/cache/lastbyte-ccache CCACHE_BASEDIR=/root/lastbyte CCACHE_NOHASHDIR=1
             CCACHE_COMPILERCHECK=content "CCACHE_MAXSIZE=$ccache_max"
             CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache)
fi
in_root() { chroot "$root" /usr/bin/env -i "${env_root[@]}" "$@"; }

# 3. git only, then the committed HEAD
phase "apt-get install git" "$logs/apt-git.log"
logged in_root apt-get update || fail_in_phase "apt-get update in the root"
logged in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git ||
  fail_in_phase "apt-get install git in the root"

phase "git clone (commit ${commit:0:12})" "$logs/clone.log"
mv "$bundle" "$root/root/lastbyte.bundle"
logged in_root git clone /root/lastbyte.bundle /root/lastbyte || fail_in_phase "git clone in the root"
rm -f "$root/root/lastbyte.bundle"
cloned=$(in_root git -C /root/lastbyte rev-parse HEAD)
[ "$cloned" = "$commit" ] || { echo "cloned $cloned, expected $commit" >> "$phase_log"; fail_in_phase "the clone is not HEAD"; }

# in_repo COMMAND: a shell command line in /root/lastbyte, in the root.
in_repo() { in_root bash -c "cd /root/lastbyte && $1"; }

# Times of apt, build and run inside one README command's log, from the
# line stamps: apt = "deps.sh: installing" to "deps.sh: installed" (apt's
# own output is in build/deps-apt.log), build = to the last ninja "[n/N]"
# line, run = the rest.
split_times() {
  awk -v s="$1" '
    function t(line) { return substr(line, 2, index(line, "s]") - 2) + 0 }
    NR == 1 { first = t($0) }
    /deps\.sh: installing/ { a0 = t($0) }
    a0 != "" && /deps\.sh: installed in / { a1 = t($0) }
    /^\[ *[0-9]+ s\] \[[0-9]+\/[0-9]+\] / { if (b0 == "") b0 = t($0); b1 = t($0) }
    { last = t($0) }
    END {
      start = s; if (a0 != "") { printf "apt %d s, ", a1 - start; start = a1 }
      if (b0 != "") { printf "configure+build %d s, ", b1 - start; start = b1 }
      printf "run %d s\n", last - start }' "$2"
}

# 4. the README's commands
step_start=$((SECONDS - t0))
phase "README: bash conformance/run.sh (apt, build, quick matrix)" "$logs/conformance-run.log"
logged in_repo "bash conformance/run.sh" || fail_in_phase "the README's main job on a fresh root"
echo "$me:   $(split_times "$step_start" "$phase_log")"

if [ $mode = main ]; then
  phase "configure and install tests (ctest --preset default -R '^(configure_|install_consumer\$)')" "$logs/ctest-configure-install.log"
  # install_consumer installs lastbyte and the tools: the only targets needed
  # beyond conformance/run.sh's build.
  logged in_repo "cmake --build --preset default --target lastbyte lastbyte-client lastbyte-server" ||
    fail_in_phase "building the install test's targets"
  logged in_repo "ctest --preset default -R '^(configure_|install_consumer\$)'" ||
    fail_in_phase "the configure and install tests on a fresh root"
  grep -q "tests passed" "$phase_log" || fail_in_phase "ctest ran no test"
else
  step_start=$((SECONDS - t0))
  phase "README: bash tests/run.sh (configure, build, ctest)" "$logs/tests-run.log"
  logged in_repo "bash tests/run.sh" || fail_in_phase "the README's test command on a fresh root"
  echo "$me:   $(split_times "$step_start" "$phase_log")"
fi
grep -h "tests passed\|tests failed" "$phase_log" | tail -n 1 | sed "s/^\[ *[0-9]* s\] /$me:   /"
phase_end

failed=0
echo "$me: PASSED --$mode on a fresh Debian 12 root (commit ${commit:0:12}) in $((SECONDS - t0)) s"
