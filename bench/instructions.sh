#!/usr/bin/env bash
# Instructions per iteration of the in-memory throughput, request/response,
# AEAD and handshake benchmarks, lastbyte vs the library used directly,
# counted by callgrind (no wall-clock noise): the count for 11 iterations
# minus the count for 1, divided by 10, inside Pipe::send (throughput: setup
# excluded), Exchange::run (request_response: one request and its response),
# seal_and_open (aead: the library's cipher alone), PipeFactory::connect
# (handshake: a new pair, its handshake, its tickets) or read_to_verdict
# (drain: feeding the buffered records, EOF, reading to the end).
#   bash bench/instructions.sh [BENCH_BINARY] [FILTER]
#   e.g. bash bench/instructions.sh build/default/bench/lastbyte-bench 'throughput/openssl/.*/tls13_aes128gcm/1024'
#        bash bench/instructions.sh build/default/bench/lastbyte-bench '(request_response|aead)/'
set -euo pipefail
bin="${1:-build/default/bench/lastbyte-bench}"
filter="${2:-throughput/.*/(1024|16384)$}"
command -v valgrind >/dev/null || { echo "instructions.sh needs valgrind: apt-get install -y valgrind" >&2; exit 1; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# name iterations -> "total copying": Ir inside Pipe::send, and the part spent
# in memcpy/memmove (valgrind counts every byte of a `rep movsb` copy as an
# instruction, which the CPU does 32+ bytes at a time: shown apart).
count() {
  LASTBYTE_BENCH_ITERATIONS="$2" valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
    --toggle-collect="$3" "$bin" --benchmark_filter="^$1(/iterations:[0-9]+)?\$" >/dev/null 2>&1
  callgrind_annotate --auto=no --threshold=100 "$out/cg" 2>/dev/null | awk '
    /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
    /__mem(cpy|move)/ { gsub(",", "", $1); copy += $1 }
    END { printf "%.0f %.0f\n", total, copy }'
}
printf '| benchmark | instructions per iteration | of which memcpy/memmove | without them |\n|---|---|---|---|\n'
"$bin" --benchmark_list_tests=true --benchmark_filter="$filter" | while read -r name; do
  toggle='*Pipe::send*'
  [[ "$name" == request_response/* ]] && toggle='*Exchange::run*'
  [[ "$name" == aead/* ]] && toggle='*seal_and_open*'
  [[ "$name" == handshake/* ]] && toggle='*Factory::connect*'
  [[ "$name" == drain/* ]] && toggle='*read_to_verdict*'
  read -r one one_copy < <(count "$name" 1 "$toggle")
  read -r eleven eleven_copy < <(count "$name" 11 "$toggle")
  total=$(( (eleven - one) / 10 )) copy=$(( (eleven_copy - one_copy) / 10 ))
  printf '| %s | %s | %s | %s |\n' "$name" "$total" "$copy" "$((total - copy))"
done
