#pragma once

#include <lastbyte/backend.hpp>

namespace lastbyte::backends {

// rustls 0.20 (Debian 12's, with ring and webpki), through the shim crate in
// backends/rustls/shim (a C interface, lastbyte_rustls.h): the adapter feeds
// rustls the records the core exposes and sends what rustls seals.
//
// Threads (connection.hpp, "Threads"): a Context's rustls configuration is
// shared behind an Arc and immutable; its server session cache and ticket
// keys are rustls's, locked by rustls.
const Backend& rustls();

}  // namespace lastbyte::backends
