#!/bin/sh
# Runs haproxy in the foreground as a TLS-terminating HTTP proxy on
# 127.0.0.1:PORT in front of UPSTREAM (host:port, the harness's plaintext
# server), from a configuration written to DIR (the build tree). haproxy
# wants the certificate and its key in one file. For
# lastbyte-conformance --server-cmd:
#   run-haproxy.sh DIR {port} {certfile} {keyfile} {upstream}
set -eu
dir=$1 port=$2 cert=$3 key=$4 upstream=$5
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$haproxy" ] || { echo "run-haproxy.sh: haproxy not found: apt-get install -y haproxy" >&2; exit 1; }
mkdir -p "$dir"
cat "$cert" "$key" > "$dir/server.pem"
cat > "$dir/haproxy.cfg" <<CONF
global
  log stderr format raw local0 warning
defaults
  mode http
  log global
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend https
  bind 127.0.0.1:$port ssl crt $dir/server.pem ssl-min-ver TLSv1.2
  default_backend upstream
backend upstream
  server harness $upstream
CONF
exec "$haproxy" -db -f "$dir/haproxy.cfg"
