#!/bin/sh
# Runs stunnel in the foreground as a TLS-terminating proxy on
# 127.0.0.1:PORT in front of UPSTREAM (host:port, the harness's plaintext
# server), from a configuration written to DIR (the build tree). For
# lastbyte-conformance --server-cmd:
#   run-stunnel.sh DIR {port} {certfile} {keyfile} {upstream}
set -eu
dir=$1 port=$2 cert=$3 key=$4 upstream=$5
stunnel=$(command -v stunnel4 || command -v stunnel || echo /usr/bin/stunnel4)
[ -x "$stunnel" ] || { echo "run-stunnel.sh: stunnel not found: apt-get install -y stunnel4" >&2; exit 1; }
mkdir -p "$dir"
cat > "$dir/stunnel.conf" <<CONF
foreground = yes
pid =
debug = warning
output = /dev/stderr
[https]
accept = 127.0.0.1:$port
connect = $upstream
cert = $cert
key = $key
sslVersionMin = TLSv1.2
CONF
exec "$stunnel" "$dir/stunnel.conf"
