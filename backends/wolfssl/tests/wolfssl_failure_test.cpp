// What each wolfSSL error code reports (wolfssl_errors.hpp) and the verdict
// the core draws from it, also for codes no peer can cause: its own
// failures (BAD_FUNC_ARG, BAD_STATE_E) and its names for an allocation
// failure (docs/decisions.md, "Adapters report facts").
#include "wolfssl_errors.hpp"

#include <gtest/gtest.h>

namespace lastbyte::backends::wolfssl_errors {
namespace {

Verdict verdict_for(int error, bool during_handshake, int verify_error = 0) {
  return policy::verdict_for_failure(facts_from_error(error, verify_error), during_handshake);
}

TEST(WolfSslFailure, ItsNamesForAnAllocationFailureAreOutOfMemory) {
  for (int code : {int{MEMORY_E}, int{MEMORY_ERROR}, int{MP_MEM}})
    for (bool during_handshake : {true, false}) {
      Verdict v = verdict_for(code, during_handshake);
      EXPECT_TRUE(is_out_of_memory(v)) << code << ": " << describe(v);
    }
}

TEST(WolfSslFailure, ItsOwnFailuresAreLocal) {
  for (int code : {int{BAD_FUNC_ARG}, int{BAD_STATE_E}})
    for (bool during_handshake : {true, false}) {
      Verdict v = verdict_for(code, during_handshake);
      EXPECT_TRUE(std::holds_alternative<LocalError>(v) && !is_out_of_memory(v)) << code << ": " << describe(v);
    }
}

TEST(WolfSslFailure, PeerCausedCodesKeepTheirClass) {
  Verdict v = verdict_for(VERIFY_MAC_ERROR, false);
  const auto* error = std::get_if<ProtocolError>(&v);
  ASSERT_NE(error, nullptr) << describe(v);
  EXPECT_EQ(error->alert, Alert::bad_record_mac);
  v = verdict_for(MATCH_SUITE_ERROR, true);
  const auto* rejected = std::get_if<HandshakeRejected>(&v);
  ASSERT_NE(rejected, nullptr) << describe(v);
  EXPECT_EQ(rejected->reason, RejectReason::no_shared_cipher);
}

// The first verification error names the fault even when the handshake's
// error is a generic one; the core orders faults (untrusted before expired).
TEST(WolfSslFailure, VerificationErrorsNameTheCertificateFault) {
  Verdict v = verdict_for(ASN_AFTER_DATE_E, true, ASN_NO_SIGNER_E);
  const auto* rejected = std::get_if<HandshakeRejected>(&v);
  ASSERT_NE(rejected, nullptr) << describe(v);
  EXPECT_EQ(rejected->reason, RejectReason::untrusted) << rejected->detail;
}

}  // namespace
}  // namespace lastbyte::backends::wolfssl_errors
