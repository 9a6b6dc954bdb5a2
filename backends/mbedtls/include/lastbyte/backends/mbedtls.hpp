#pragma once

#include <lastbyte/engine.hpp>

namespace lastbyte::backends {

// Mbed TLS 2.28 (TLS 1.2 only): mbedtls_ssl_set_bio onto the core's queues.
const Backend& mbedtls();

}  // namespace lastbyte::backends
