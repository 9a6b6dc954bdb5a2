// What a wolfSSL error code tells by itself, as the facts of a failure
// (EngineFailure): the adapter adds what its session knows (the alert
// history, allocation watching, the first verification error). Apart from
// the adapter so that tests can check each code's facts and the verdict the
// core draws from them (backends/wolfssl/tests/wolfssl_failure_test.cpp),
// also for codes no peer can cause.
#pragma once

#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>

// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
// clang-format on

#include <optional>
#include <string>

namespace lastbyte::backends::wolfssl_errors {

inline std::string describe_error(int code) {
  char buf[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), buf, sizeof buf);
  return std::string(buf) + " (wolfSSL error " + std::to_string(code) + ")";
}

// Verification errors (wolfSSL codes or their X509_V_ERR translations) as
// certificate faults; a code that is none of them names no fault.
using Fault = policy::CertificateFault;
inline policy::CertificateFaults faults_from_verify(int code) {
  auto only = [](Fault f) { return static_cast<policy::CertificateFaults>(f); };
  switch (code) {
    case ASN_AFTER_DATE_E:
    case ASN_BEFORE_DATE_E:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return only(Fault::expired);
    case DOMAIN_NAME_MISMATCH:
    case IPADDR_MISMATCH: return only(Fault::hostname);
    case EXTKEYUSE_AUTH_E:
    case KEYUSE_SIGNATURE_E:
    case X509_V_ERR_INVALID_PURPOSE: return only(Fault::usage);
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED: return only(Fault::untrusted);
    default: return 0;
  }
}

// A failed handshake's reason where wolfSSL's error says more than its alert.
inline std::optional<RejectReason> reject_reason_from_error(int error) {
  switch (error) {
    case NO_PEER_CERT: return RejectReason::certificate_required;
    case MATCH_SUITE_ERROR: return RejectReason::no_shared_cipher;
    case VERSION_ERROR: return RejectReason::protocol_version;
    case UNKNOWN_ALPN_PROTOCOL_NAME_E: return RejectReason::no_application_protocol;
    default: return std::nullopt;
  }
}

// wolfSSL's own failures, unrelated to the peer: a call it refuses in the
// state it is in, an argument it cannot take.
inline bool is_library_failure(int error) {
  return error == BAD_FUNC_ARG || error == BAD_STATE_E;
}

// After the handshake: wolfSSL error codes to one alert class.
inline Alert alert_class(int error) {
  switch (error) {
    case VERIFY_MAC_ERROR:
    case DECRYPT_ERROR:
    case AES_GCM_AUTH_E:
    case MAC_CMP_FAILED_E: return Alert::bad_record_mac;
    case RECV_OVERFLOW_E: return Alert::record_overflow;
    case UNKNOWN_RECORD_TYPE:
    case SIDE_ERROR:  // a handshake message only the other role may send
    case OUT_OF_ORDER_E:
    case SANITY_MSG_E:
    case DUPLICATE_MSG_E: return Alert::unexpected_message;
    case BAD_KEY_SHARE_DATA:
    case INVALID_PARAMETER: return Alert::illegal_parameter;
    default: return Alert::decode_error;
  }
}

// wolfSSL's names for an allocation failure (it has more under other names:
// the adapter watches its allocators for those).
inline bool is_allocation_error(int error) { return error == MEMORY_E || error == MEMORY_ERROR || error == MP_MEM; }

// What the code alone tells; `verify_error`, the first verification error,
// may name a certificate fault too.
inline EngineFailure facts_from_error(int error, int verify_error) {
  return {
      .out_of_memory = is_allocation_error(error),
      .library_internal = is_library_failure(error),
      // The handshake's error and the first verification error may each
      // name a fault: policy::reason_for orders them as on every backend.
      .certificate_faults = faults_from_verify(error) | faults_from_verify(verify_error),
      .handshake_reason = reject_reason_from_error(error),
      .protocol_alert = alert_class(error),
      .detail = error ? describe_error(error) : std::string(),
      .certificate_detail = verify_error ? describe_error(verify_error) : std::string(),
  };
}

}  // namespace lastbyte::backends::wolfssl_errors
