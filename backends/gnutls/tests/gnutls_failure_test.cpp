// What each GnuTLS error code reports (gnutls_errors.hpp) and the verdict
// the core draws from it: the codes a test cannot make GnuTLS 3.7 return
// (an allocation failure: injecting one crashes libtasn1) and the codes its
// alert table does not list, whose internal_error is "no class", never
// "our own failure" (docs/decisions.md, "Adapters report facts").
#include "gnutls_errors.hpp"

#include <gtest/gtest.h>

namespace lastbyte::backends::gnutls_errors {
namespace {

Verdict verdict_for(int error, bool during_handshake) {
  return policy::verdict_for_failure(facts_from_error(error), during_handshake);
}

TEST(GnuTlsFailure, AMemoryErrorIsOutOfMemory) {
  for (bool during_handshake : {true, false}) {
    Verdict v = verdict_for(GNUTLS_E_MEMORY_ERROR, during_handshake);
    EXPECT_TRUE(is_out_of_memory(v)) << describe(v);
  }
}

TEST(GnuTlsFailure, GnuTlsOwnInternalErrorIsLocal) {
  Verdict v = verdict_for(GNUTLS_E_INTERNAL_ERROR, false);
  EXPECT_TRUE(std::holds_alternative<LocalError>(v)) << describe(v);
  EXPECT_FALSE(is_out_of_memory(v)) << describe(v);
}

// Peer-caused codes GnuTLS's table does not list: a protocol error of
// class internal_error after the handshake, a protocol rejection during it.
TEST(GnuTlsFailure, UnlistedPeerCausedCodesAreTheProtocols) {
  for (int code : {GNUTLS_E_TOO_MANY_HANDSHAKE_PACKETS, GNUTLS_E_TOO_MANY_EMPTY_PACKETS}) {
    Verdict after = verdict_for(code, false);
    const auto* error = std::get_if<ProtocolError>(&after);
    ASSERT_NE(error, nullptr) << code << ": " << describe(after);
    EXPECT_EQ(error->alert, Alert::internal_error);
    Verdict during = verdict_for(code, true);
    const auto* rejected = std::get_if<HandshakeRejected>(&during);
    ASSERT_NE(rejected, nullptr) << code << ": " << describe(during);
    EXPECT_EQ(rejected->reason, RejectReason::protocol);
  }
}

TEST(GnuTlsFailure, ListedCodesKeepTheirClass) {
  Verdict v = verdict_for(GNUTLS_E_DECRYPTION_FAILED, false);
  const auto* error = std::get_if<ProtocolError>(&v);
  ASSERT_NE(error, nullptr) << describe(v);
  EXPECT_EQ(error->alert, Alert::bad_record_mac);
  v = verdict_for(GNUTLS_E_NO_APPLICATION_PROTOCOL, true);
  const auto* rejected = std::get_if<HandshakeRejected>(&v);
  ASSERT_NE(rejected, nullptr) << describe(v);
  EXPECT_EQ(rejected->reason, RejectReason::no_application_protocol);
}

}  // namespace
}  // namespace lastbyte::backends::gnutls_errors
