#pragma once

#include <lastbyte/backend.hpp>

namespace lastbyte::backends {

// OpenSSL 3: a custom BIO onto the core's queues.
//
// Threads (connection.hpp, "Threads"): a Context's SSL_CTX (session cache,
// ticket keys) is locked by OpenSSL; the adapter's cache of the sessions it
// handed out as blobs (resumption without re-parsing them) by a mutex.
// OpenSSL's error queue is per thread, and each call of the adapter clears
// what earlier calls on that thread left in it.
const Backend& openssl();

}  // namespace lastbyte::backends
