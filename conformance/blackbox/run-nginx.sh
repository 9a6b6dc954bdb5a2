#!/bin/sh
# Runs nginx in the foreground as an HTTPS server on 127.0.0.1:PORT only,
# serving DOCROOT with CERT and KEY, from a configuration written to DIR
# (the build tree). For lastbyte-conformance --server-cmd:
#   run-nginx.sh DIR {port} {certfile} {keyfile} {docroot}
set -eu
dir=$1 port=$2 cert=$3 key=$4 docroot=$5
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "run-nginx.sh: nginx not found: apt-get install -y nginx" >&2; exit 1; }
mkdir -p "$dir/logs" "$dir/tmp"
# The workspace is private to the user running the harness: when that is
# root, the workers must be root too to read it.
user=""
[ "$(id -u)" -eq 0 ] && user="user root;"
cat > "$dir/nginx.conf" <<CONF
$user
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port ssl;
    ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $docroot;
  }
}
CONF
exec "$nginx" -p "$dir" -c "$dir/nginx.conf"
