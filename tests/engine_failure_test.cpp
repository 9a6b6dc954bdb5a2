// Adapters report facts, the core decides (engine.hpp, EngineFailure;
// policy::verdict_for_failure). Two halves:
//   * FailureVerdict: the core's one order, fact by fact, without a library:
//     each fact alone gives its verdict, and each fact wins over every
//     later one, so every backend reports the same verdict for the same
//     facts by construction.
//   * EngineFacts: every installed backend, both versions, reports each fact
//     a peer or the application can cause, and the verdict that follows is
//     the contract's. (A library's own internal failure cannot be caused
//     from outside a correct library: the first half covers its rank; the
//     allocation-failure loop, alloc_failure_*, covers out-of-memory inside
//     the libraries that let it be injected.)
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/engine/engine.hpp>

#include "backend_params.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <new>
#include <stdexcept>

namespace lastbyte::conformance {
namespace {

// ---- the core's order -------------------------------------------------------

struct Fact {
  const char* name;
  std::function<void(EngineFailure&)> set;
  std::function<bool(const Verdict&)> verdict_is;
};

bool local_error(const Verdict& v, std::string_view detail) {
  const auto* local = std::get_if<LocalError>(&v);
  return local && local->detail.find(detail) != std::string::npos;
}

bool rejected_for(const Verdict& v, RejectReason reason) {
  const auto* r = std::get_if<HandshakeRejected>(&v);
  return r && r->reason == reason;
}

// In the contract's order, the handshake's facts.
std::vector<Fact> handshake_facts() {
  using F = policy::CertificateFault;
  return {
      {"callback_failed", [](EngineFailure& f) { f.callback_failed = "the keylog callback threw"; },
       [](const Verdict& v) { return local_error(v, "the keylog callback threw"); }},
      {"out_of_memory", [](EngineFailure& f) { f.out_of_memory = true; }, [](const Verdict& v) { return is_out_of_memory(v); }},
      {"alert_received", [](EngineFailure& f) { f.alert_received = Alert::handshake_failure; },
       [](const Verdict& v) {
         const auto* alert = std::get_if<PeerAlert>(&v);
         return alert && alert->alert == Alert::handshake_failure;
       }},
      {"library_internal", [](EngineFailure& f) { f.library_internal = true; },
       [](const Verdict& v) { return local_error(v, "library's words"); }},
      {"certificate_faults",
       [](EngineFailure& f) { f.certificate_faults = F::expired | F::hostname, f.certificate_detail = "expired"; },
       [](const Verdict& v) {
         const auto* r = std::get_if<HandshakeRejected>(&v);
         return r && r->reason == RejectReason::hostname && r->detail.find("certificate: expired") != std::string::npos;
       }},
      {"handshake_reason", [](EngineFailure& f) { f.handshake_reason = RejectReason::no_shared_cipher; },
       [](const Verdict& v) { return rejected_for(v, RejectReason::no_shared_cipher); }},
      {"alert_sent", [](EngineFailure& f) { f.alert_sent = Alert::protocol_version; },
       [](const Verdict& v) { return rejected_for(v, RejectReason::protocol_version); }},
      {"nothing", [](EngineFailure&) {}, [](const Verdict& v) { return rejected_for(v, RejectReason::protocol); }},
  };
}

// After the handshake: certificate faults and handshake reasons no longer
// apply; the class of the failure names the protocol error.
std::vector<Fact> established_facts() {
  auto facts = handshake_facts();
  facts.resize(4);  // callback, memory, alert received, library
  facts.push_back({"protocol_alert", [](EngineFailure& f) { f.protocol_alert = Alert::bad_record_mac; },
                   [](const Verdict& v) {
                     const auto* e = std::get_if<ProtocolError>(&v);
                     return e && e->alert == Alert::bad_record_mac;
                   }});
  facts.push_back({"alert_sent", [](EngineFailure& f) { f.alert_sent = Alert::decode_error; },
                   [](const Verdict& v) {
                     const auto* e = std::get_if<ProtocolError>(&v);
                     return e && e->alert == Alert::decode_error;
                   }});
  facts.push_back({"nothing", [](EngineFailure&) {}, [](const Verdict& v) { return local_error(v, "library's words"); }});
  return facts;
}

void expect_order(const std::vector<Fact>& facts, bool during_handshake) {
  for (std::size_t first = 0; first < facts.size(); ++first) {
    EngineFailure alone{.detail = "the library's words"};
    facts[first].set(alone);
    Verdict v = policy::verdict_for_failure(alone, during_handshake);
    EXPECT_TRUE(facts[first].verdict_is(v)) << facts[first].name << " alone: " << describe(v);
    // With every later fact present too, the earlier one still decides.
    EngineFailure all{.detail = "the library's words"};
    for (std::size_t i = first; i < facts.size(); ++i) facts[i].set(all);
    v = policy::verdict_for_failure(all, during_handshake);
    EXPECT_TRUE(facts[first].verdict_is(v)) << facts[first].name << " before the later facts: " << describe(v);
  }
}

TEST(FailureVerdict, DuringTheHandshakeOneOrderDecides) { expect_order(handshake_facts(), true); }

TEST(FailureVerdict, AfterTheHandshakeOneOrderDecides) { expect_order(established_facts(), false); }

TEST(FailureVerdict, SendingInternalErrorIsALocalFailure) {
  // RFC 8446 §6.2: internal_error is "unrelated to the peer".
  for (bool during_handshake : {true, false}) {
    Verdict v = policy::verdict_for_failure(
        {.alert_sent = Alert::internal_error, .protocol_alert = Alert::decode_error, .detail = "x"}, during_handshake);
    EXPECT_TRUE(std::holds_alternative<LocalError>(v)) << describe(v);
  }
}

TEST(FailureVerdict, AnOutOfMemoryKeepsTheLibrarysWords) {
  Verdict v = policy::verdict_for_failure({.out_of_memory = true, .detail = "MEMORY_E"}, false);
  EXPECT_TRUE(is_out_of_memory(v)) << describe(v);
  EXPECT_TRUE(local_error(v, "MEMORY_E")) << describe(v);
}

// ---- every backend reports the facts ---------------------------------------

class EngineFacts : public BackendTest {
 protected:
  // A client whose key log throws `failure` at its first line.
  Verdict client_verdict_with_throwing_keylog(std::function<void()> failure) {
    Config client = client_config(version());
    client.keylog = [failure](std::string_view) { failure(); };
    auto client_context = Context::create(client, backend());
    auto server_context = Context::create(server_config(version()), backend());
    if (!client_context || !server_context) throw std::runtime_error("contexts");
    auto c = Connection::create(*client_context);
    auto s = Connection::create(*server_context);
    for (int i = 0; i < 8 && !c->verdict(); ++i) {
      s->feed(c->output()), c->consume_output(c->output().size()), s->handshake();
      c->feed(s->output()), s->consume_output(s->output().size()), c->handshake();
    }
    if (!c->verdict()) throw std::runtime_error("the client's handshake did not fail");
    return *c->verdict();
  }
};

TEST_P(EngineFacts, ACallbackThatThrowsIsALocalError) {
  if (!backend().exports_secrets(version())) GTEST_SKIP() << "unsupported by this library: no key log for this version";
  Verdict v = client_verdict_with_throwing_keylog([] { throw std::runtime_error("the application's bug"); });
  EXPECT_TRUE(local_error(v, "the keylog callback threw")) << describe(v);
}

TEST_P(EngineFacts, AnAllocationFailureInACallbackIsOutOfMemory) {
  if (!backend().exports_secrets(version())) GTEST_SKIP() << "unsupported by this library: no key log for this version";
  Verdict v = client_verdict_with_throwing_keylog([] { throw std::bad_alloc(); });
  EXPECT_TRUE(is_out_of_memory(v)) << describe(v);
}

// The server finds no ALPN protocol in common: it sends
// no_application_protocol (its reason: alert_sent / handshake_reason), and
// the client receives it (alert_received).
TEST_P(EngineFacts, AnAlertSentAndTheSameAlertReceived) {
  Config client = client_config(version());
  client.alpn = {"h2"};
  Config server = server_config(version());
  server.alpn = {"http/1.1"};
  auto p = pair(client, server);
  EXPECT_TRUE(p.handshake().has_value());
  ASSERT_TRUE(p.server().verdict() && p.client().verdict());
  EXPECT_TRUE(rejected_for(*p.server().verdict(), RejectReason::no_application_protocol))
      << describe(*p.server().verdict());
  const auto* alert = std::get_if<PeerAlert>(&*p.client().verdict());
  ASSERT_NE(alert, nullptr) << describe(*p.client().verdict());
  EXPECT_EQ(alert->alert, Alert::no_application_protocol);
}

// The client asks for a name the server's certificate does not carry.
TEST_P(EngineFacts, CertificateFaultsRejectTheHandshake) {
  auto client = Context::create(client_config(version()), backend());
  auto server = Context::create(server_config(version()), backend());
  ASSERT_TRUE(client && server);
  auto p = MemoryPair::create(*client, *server, {.server_name = "elsewhere.test"});
  ASSERT_TRUE(p) << p.error().message();
  EXPECT_TRUE(p->handshake().has_value());
  ASSERT_TRUE(p->client().verdict());
  const auto* r = std::get_if<HandshakeRejected>(&*p->client().verdict());
  ASSERT_NE(r, nullptr) << describe(*p->client().verdict());
  EXPECT_EQ(r->reason, RejectReason::hostname) << r->detail;
}

// After the handshake a record whose tag does not verify: the library's
// error names the class (protocol_alert), bad_record_mac on every backend.
TEST_P(EngineFacts, ARecordThatFailsItsTagIsBadRecordMac) {
  auto p = pair(client_config(version()), server_config(version()));
  ASSERT_FALSE(p.handshake().has_value());
  ASSERT_EQ(p.client().write("sixteen bytes...").status, IoStatus::ok);
  Bytes record = p.take_output(Role::client);
  ASSERT_GT(record.size(), 21u);
  record.back() ^= std::byte{1};  // the last byte of the tag
  p.server().feed(record);
  std::byte buf[64];
  auto r = p.server().read(buf);
  EXPECT_EQ(r.status, IoStatus::end);
  ASSERT_TRUE(p.server().verdict());
  const auto* e = std::get_if<ProtocolError>(&*p.server().verdict());
  ASSERT_NE(e, nullptr) << describe(*p.server().verdict());
  EXPECT_EQ(e->alert, Alert::bad_record_mac) << e->detail;
}

INSTANTIATE_TEST_SUITE_P(AllBackends, EngineFacts, ::testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace lastbyte::conformance
