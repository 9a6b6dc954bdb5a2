#!/usr/bin/env python3
"""A deliberately wrong HTTPS client for the judge's own tests (X16): it treats
close_notify as nothing and finishes only when the transport ends, like an
embedded TLS stack that drops level-1 alerts and reads on. Otherwise correct:
it verifies the certificate, prints the body, exits 0 on a clean end.

  waits_for_fin.py URL CAFILE [--half-close]

--half-close: shut its sending side down right after the request (a FIN
the server sees before the response).
"""
import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

url, cafile = urlsplit(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=cafile)
raw = socket.create_connection((url.hostname, url.port), timeout=30)
tls = context.wrap_socket(raw, server_hostname=url.hostname)
tls.sendall(f"GET {url.path} HTTP/1.1\r\nHost: {url.hostname}\r\nConnection: close\r\n\r\n".encode())
if "--half-close" in sys.argv[3:]:
    socket.socket.shutdown(tls, socket.SHUT_WR)
response = b""
while True:
    chunk = tls.recv(65536)
    if not chunk:  # close_notify: the bug is to read on until the FIN
        with socket.socket(fileno=os.dup(tls.fileno())) as transport:
            transport.settimeout(30)
            while transport.recv(4096):
                pass
        break
    response += chunk
head, _, body = response.partition(b"\r\n\r\n")
sys.stdout.buffer.write(body)
sys.exit(0 if head.startswith(b"HTTP/1.") else 1)
