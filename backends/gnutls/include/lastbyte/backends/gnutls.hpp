#pragma once

#include <lastbyte/backend.hpp>

namespace lastbyte::backends {

// GnuTLS 3.7: gnutls_transport_set_push/pull_function onto the core's queues.
const Backend& gnutls();

}  // namespace lastbyte::backends
