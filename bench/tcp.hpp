// Loopback TCP benchmarks (bench_tcp.cpp): one OpenSSL blocking server, and
// three clients a C++ programmer could pick: lastbyte's reference socket
// driver, OpenSSL's blocking SSL_read/SSL_write on the socket, and
// standalone Asio's asio::ssl::stream.
#pragma once

namespace lastbyte::bench {
void register_tcp_benchmarks();
}
