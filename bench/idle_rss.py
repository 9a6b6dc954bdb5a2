#!/usr/bin/env python3
"""Idle connections at scale (issue 13): RSS per established, idle
connection of an HTTPS server on loopback.

For each server command, starts it, opens N TLS connections one after the
other (each: handshake, one keep-alive request, its whole response read,
then left open and silent), and reads the server's VmRSS from /proc. The
figure is (RSS with N connections - RSS with the first `--warm`
connections) / (N - warm), so start-up, the context and the allocator's
first arenas are left out. Then every connection is closed and the server
stopped. Loopback only; nothing is left running.

  idle_rss.py --pki DIR [-n 10000] [--warm 200] NAME=COMMAND ...

COMMAND gets {port} {cert} {key}; it must print "listening on 127.0.0.1:P"
(with --port 0). DIR holds ca.pem, server.pem, server.key
(lastbyte-write-test-pki DIR). Exit status 1 if a connection fails.
"""
import argparse
import os
import re
import resource
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start(command, pki):
    argv = [a.format(port=0, cert=f"{pki}/server.pem", key=f"{pki}/server.key") for a in shlex.split(command)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    line = proc.stdout.readline()
    m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{argv[0]} did not listen: {line!r} {proc.stdout.read()[:500]!r}")
    return proc, int(m.group(1))


def fetch(context, port, timeout):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    tls = context.wrap_socket(raw, server_hostname="server.test")
    tls.sendall(b"GET /idle HTTP/1.1\r\nHost: server.test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed before its answer")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = tls.recv(65536)
        if not chunk:
            raise RuntimeError("the server cut its answer")
        body += chunk
    if len(body) != length:
        raise RuntimeError("more than Content-Length")
    return tls


def measure(name, command, args, context):
    proc, port = start(command, args.pki)
    connections = []
    try:
        started = time.monotonic()
        for i in range(args.connections):
            connections.append(fetch(context, port, args.timeout))
            if i + 1 == args.warm:
                time.sleep(0.5)  # let the server finish what it does after the last answer
                warm_rss = rss_kib(proc.pid)
        time.sleep(1.0)
        rss = rss_kib(proc.pid)
        seconds = time.monotonic() - started
        per = (rss - warm_rss) * 1024 / (args.connections - args.warm)
        version = connections[-1].version()
        print(f"| {name} | {version} | {args.connections:,} | {warm_rss:,} | {rss:,} | {per:,.0f} | {seconds:.1f} s |",
              flush=True)
        return per
    finally:
        for c in connections:
            c.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pki", required=True)
    parser.add_argument("-n", "--connections", type=int, default=10000)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--tls", choices=["1.2", "1.3", "any"], default="any")
    parser.add_argument("servers", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    if not 0 < args.warm < args.connections:
        parser.error("--warm must be between 0 and --connections")
    # Each connection is a descriptor here and one in the server.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < args.connections + 100:
        sys.exit(f"the descriptor limit ({hard}) is below {args.connections + 100}: lower -n")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    context = ssl.create_default_context(cafile=f"{args.pki}/ca.pem")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if args.tls != "any":
        version = ssl.TLSVersion.TLSv1_3 if args.tls == "1.3" else ssl.TLSVersion.TLSv1_2
        context.minimum_version = context.maximum_version = version
    print(f"Server RSS (KiB) after {args.warm} and {args.connections} idle connections")
    print("| server | TLS | connections | RSS warm | RSS | bytes per idle connection | time |")
    print("|---|---|---|---|---|---|---|")
    status = 0
    for spec in args.servers:
        name, _, command = spec.partition("=")
        try:
            measure(name, command, args, context)
        except Exception as e:  # one server's failure is reported, the others still run
            print(f"| {name} | FAILED: {e} | | | | | |", flush=True)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
