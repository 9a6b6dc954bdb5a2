// What a GnuTLS error code tells by itself, as the facts of a failure
// (EngineFailure): the adapter adds what its session knows (the alert
// received or sent, the certificate check, a correction). Apart from the
// adapter so that tests can check each code's facts and the verdict the core
// draws from them (backends/gnutls/tests/gnutls_failure_test.cpp) without a
// failure GnuTLS cannot be made to have (an allocation failure).
#pragma once

#include <lastbyte/engine/engine.hpp>

#include <gnutls/gnutls.h>

#include <optional>
#include <string>

namespace lastbyte::backends::gnutls_errors {

inline std::string describe_error(int code) {
  return std::string(gnutls_strerror(code)) + " (GnuTLS error " + std::to_string(code) + ")";
}

// GnuTLS error codes to one alert class: GnuTLS's own table
// (gnutls_error_to_alert) gives the classes the others report; it answers
// internal_error for every code it does not list.
inline Alert alert_class(int error) {
  int level = 0;
  return static_cast<Alert>(gnutls_error_to_alert(error, &level));
}

// A failed handshake's reason where GnuTLS's error says more than its alert.
inline std::optional<RejectReason> reject_reason_from_error(int error) {
  switch (error) {
    case GNUTLS_E_NO_CERTIFICATE_FOUND:
    case GNUTLS_E_CERTIFICATE_REQUIRED: return RejectReason::certificate_required;
    case GNUTLS_E_NO_CIPHER_SUITES:
    case GNUTLS_E_UNKNOWN_CIPHER_SUITE:
    case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
    case GNUTLS_E_NO_COMMON_KEY_SHARE: return RejectReason::no_shared_cipher;
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET: return RejectReason::protocol_version;
    case GNUTLS_E_NO_APPLICATION_PROTOCOL: return RejectReason::no_application_protocol;
    default: return std::nullopt;
  }
}

// What the code alone tells.
inline EngineFailure facts_from_error(int error) {
  return {
      .out_of_memory = error == GNUTLS_E_MEMORY_ERROR,
      .library_internal = error == GNUTLS_E_INTERNAL_ERROR,
      .handshake_reason = reject_reason_from_error(error),
      .protocol_alert = alert_class(error),
      .detail = describe_error(error),
  };
}

}  // namespace lastbyte::backends::gnutls_errors
