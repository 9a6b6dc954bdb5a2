#!/usr/bin/env python3
"""A small TLS-terminating HTTP proxy for the judge's own tests (Y03, Y05),
in three behaviours:

  forward-fin    forwards the decrypted bytes as they come and turns a TLS
                 stream that ended without close_notify into a clean FIN
                 upstream: the bug Y05 exists for (stunnel and socat do it)
  forward-late-fin  the same, the FIN 6 s later (past a short observation)
  forward-reset  forwards as they come, and resets the upstream connection
                 when the TLS stream was truncated: correct
  buffer-400     holds the request until its head is whole and answers
                 400 to one that never is, forwarding nothing: correct
                 (haproxy does it)

  tls_proxy.py MODE PORT CERTFILE KEYFILE UPSTREAM_HOST:PORT [NOT_READY_SECONDS]

NOT_READY_SECONDS: for that long after it starts listening it closes every
connection it accepts at once, like a proxy whose upstream is not up yet.
"""
import socket
import ssl
import struct
import sys
import threading
import time

mode, port, certfile, keyfile, upstream = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
up_host, up_port = upstream.rsplit(":", 1)
ready_at = time.monotonic() + (float(sys.argv[6]) if len(sys.argv) > 6 else 0)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(certfile, keyfile)
if mode == "buffer-400":
    context.options |= ssl.OP_IGNORE_UNEXPECTED_EOF  # a truncated request reads as an early end


def reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def handle(raw: socket.socket) -> None:
    up = None
    try:
        tls = context.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    try:
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                data = tls.recv(65536)
                if not data:
                    break
                head += data
                if mode != "buffer-400":
                    if up is None:
                        up = socket.create_connection((up_host, int(up_port)))
                    up.sendall(data)
        except (ssl.SSLEOFError, ConnectionResetError):  # the TLS stream was truncated
            if up is not None:
                if mode in ("forward-fin", "forward-late-fin"):
                    if mode == "forward-late-fin":
                        time.sleep(6)
                    up.shutdown(socket.SHUT_WR)  # the bug: a clean end upstream
                    up.close()
                else:
                    reset(up)
                up = None
            return
        if b"\r\n\r\n" not in head:
            if mode == "buffer-400":
                tls.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            elif up is not None:
                up.shutdown(socket.SHUT_WR)  # close_notify: the client really ended there
            return
        if up is None:
            up = socket.create_connection((up_host, int(up_port)))
            up.sendall(head)
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            tls.sendall(chunk)
        try:
            tls.unwrap()
        except (OSError, ssl.SSLError):
            pass
    except (OSError, ssl.SSLError):
        pass
    finally:
        if up is not None:
            up.close()
        tls.close()


server = socket.create_server(("127.0.0.1", port))
while True:
    connection, _ = server.accept()
    if time.monotonic() < ready_at:
        connection.close()
        continue
    threading.Thread(target=handle, args=(connection,), daemon=True).start()
