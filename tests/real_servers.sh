#!/bin/bash
# lastbyte-client against real HTTPS servers (Debian packages), on
# 127.0.0.1 only, for every TLS version the configured backend speaks:
# openssl s_server -WWW, gnutls-serv --http and nginx. Each server runs in
# its own process group and is killed with it; nothing is left running.
#   real_servers.sh LASTBYTE_CLIENT WRITE_TEST_PKI RUN_NGINX WORKDIR
set -u
client=$1 write_pki=$2 run_nginx=$3 work=$4
rm -rf "$work" && mkdir -p "$work/docroot" || exit 1
"$write_pki" "$work" || exit 1
head -c 200000 /dev/urandom | base64 > "$work/docroot/body"  # 270,272 bytes, lines of 76
pass=0 fail=0 unsupported=0
pgid=""
stop() {
  [ -n "$pgid" ] && { kill -KILL -- "-$pgid"; wait "$pgid"; } 2>/dev/null
  pgid=""
}
trap stop EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start() {  # start NAME COMMAND...: in a new process group, until it accepts
  local name=$1; shift
  setsid "$@" > "$work/$name.log" 2>&1 &
  pgid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "FAIL $name: never listened on 127.0.0.1:$port"; sed 's/^/  /' "$work/$name.log"
  return 1
}
check() {  # check LABEL EXPECTED_BODY_FILE|-|none CLIENT_ARGS... (-: any non-empty body)
  local label=$1 expected=$2; shift 2
  "$client" --cafile "$work/ca.pem" "$@" > "$work/out" 2> "$work/err"
  local status=$?
  if grep -q "unsupported_by_backend\|unsupported by" "$work/err" && [ $status -ne 0 ]; then
    echo "unsupported by this library: $label: $(tail -1 "$work/err")"; unsupported=$((unsupported + 1)); return
  fi
  if [ $status -ne 0 ]; then
    echo "FAIL $label: exit $status"; sed 's/^/  /' "$work/err" | tail -5; fail=$((fail + 1)); return
  fi
  if [ "$expected" != - ] && [ "$expected" != none ] && ! cmp -s "$expected" "$work/out"; then
    echo "FAIL $label: the body differs from $expected ($(wc -c < "$work/out") bytes)"; fail=$((fail + 1)); return
  fi
  if [ "$expected" = - ] && [ ! -s "$work/out" ]; then
    echo "FAIL $label: an empty body"; fail=$((fail + 1)); return
  fi
  echo "ok   $label: $(grep -v '^\[' "$work/err" | tail -1)"; pass=$((pass + 1))
}

for version in 1.3 1.2; do
  flag=tls${version/./_}
  port=$(free_port)
  if start s_server sh -c "cd '$work/docroot' && exec openssl s_server -quiet -WWW -accept 127.0.0.1:$port \
        -cert '$work/server.pem' -key '$work/server.key' -$flag"; then
    check "openssl s_server -WWW, TLS $version" "$work/docroot/body" --tls "$version" "https://127.0.0.1:$port/body"
  else fail=$((fail + 1)); fi
  stop

  port=$(free_port)
  if start gnutls-serv gnutls-serv --http --port "$port" --x509certfile "$work/server.pem" \
        --x509keyfile "$work/server.key" --priority "NORMAL:-VERS-ALL:+VERS-TLS$version"; then
    check "gnutls-serv --http, TLS $version" - --tls "$version" "https://127.0.0.1:$port/"
  else fail=$((fail + 1)); fi
  stop

  port=$(free_port)
  if start nginx "$run_nginx" "$work/nginx" "$port" "$work/server.pem" "$work/server.key" "$work/docroot"; then
    check "nginx, TLS $version" "$work/docroot/body" --tls "$version" "https://127.0.0.1:$port/body"
    before=$unsupported
    check "nginx, TLS $version, 5 requests kept alive" none --tls "$version" --keep-alive -n 5 --quiet \
      "https://127.0.0.1:$port/body"
    if [ $unsupported -eq $before ] && ! grep -q "requests: 5; connections: 1; complete responses: 5" "$work/err"; then
      echo "FAIL nginx keep-alive: $(tail -1 "$work/err")"; fail=$((fail + 1))
    fi
  else fail=$((fail + 1)); fi
  stop
done
echo "$pass passed, $fail failed, $unsupported unsupported by this library"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
