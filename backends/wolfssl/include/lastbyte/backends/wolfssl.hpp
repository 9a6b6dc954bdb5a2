#pragma once

#include <lastbyte/engine.hpp>

namespace lastbyte::backends {

// wolfSSL 5.5: wolfSSL I/O callbacks onto the core's queues.
const Backend& wolfssl();

}  // namespace lastbyte::backends
