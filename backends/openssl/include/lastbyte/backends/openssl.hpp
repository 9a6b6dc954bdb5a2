#pragma once

#include <lastbyte/engine.hpp>

namespace lastbyte::backends {

// OpenSSL 3: a custom BIO onto the core's queues.
const Backend& openssl();

}  // namespace lastbyte::backends
