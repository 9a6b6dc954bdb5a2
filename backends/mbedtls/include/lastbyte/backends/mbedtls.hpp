#pragma once

#include <lastbyte/backend.hpp>

namespace lastbyte::backends {

// Mbed TLS 2.28 (TLS 1.2 only): mbedtls_ssl_set_bio onto the core's queues.
//
// Threads (connection.hpp, "Threads"): a Context holds one
// mbedtls_ssl_config, one CTR_DRBG (every connection's randomness and the
// ticket key's) and, on a server, one ticket context. Sharing them across
// threads needs a library built with MBEDTLS_THREADING_C (Debian's 2.28 is,
// with MBEDTLS_THREADING_PTHREAD): mbedtls_ctr_drbg_random() and the ticket
// functions then lock their own mutexes, including the DRBG's automatic
// reseeds. Without it, use each Context from one thread only. EC groups are
// not thread-safe in 2.28 (ecp.h: "not thread-safe to use same group in
// multiple threads": the first generator multiplication stores a table in
// the group), so a Context computes the tables of its key's group and of
// every trust anchor's when it is created, before any connection can share
// them: one multiplication per EC group, about 1-3 ms each. With the system
// store that is every EC root as /etc/ssl/certs holds it (105 groups on
// Debian 12, the roots being there under their names and their hash links):
// 0.27 s per Context measured on a loaded 2-core machine, against 35 ms for
// parsing the store.
const Backend& mbedtls();

}  // namespace lastbyte::backends
