#pragma once

#include <lastbyte/backend.hpp>

namespace lastbyte::backends {

// wolfSSL 5.5: wolfSSL I/O callbacks onto the core's queues.
//
// Threads (connection.hpp, "Threads"): a Context's WOLFSSL_CTX, its ticket
// key and wolfSSL's process-wide session cache are locked by the library
// (Debian's build is multi-threaded: no SINGLE_THREADED). Debian builds it
// with FP_ECC and HAVE_THREAD_LS: every thread that does ECC keeps its own
// fixed-point cache (up to about 1.6 MB), which the adapter frees when that
// thread ends, for every thread that created a Context or drove a handshake.
// A thread pool therefore holds one cache per worker for its lifetime; a
// thread that never ends never frees its cache.
const Backend& wolfssl();

}  // namespace lastbyte::backends
