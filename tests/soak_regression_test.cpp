// Regressions the soak found (docs/adversarial.md, "Soak"), each as the
// smallest script that shows it.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/scenarios.hpp>
#include <lastbyte/engine/record.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

// Every installed backend as the victim, TLS 1.3, against a peer whose
// secrets the forge can use (openssl).
class NothingAfterOurCloseNotify : public ::testing::TestWithParam<const Backend*> {};

// We closed; the peer then asks for a KeyUpdate (update_requested), sends
// data and its own close_notify. RFC 8446 §6.1: after our close_notify we
// send nothing more, yet wolfSSL answers the KeyUpdate while reading (and
// OpenSSL did too in the soak, from a later SSL_read(): openssl->openssl
// TLS 1.3 seeds 163, 248, 358, 433, 505 and 575 of the ctest soak's 600): 27 bytes after our
// close_notify, which the peer counts as ignored (CloseNotify{27}) and a
// stricter peer may refuse. The core now drops what a library sends after
// our close_notify.
TEST_P(NothingAfterOurCloseNotify, NoKeyUpdateAnswerFollowsOurCloseNotify) {
  const Backend& victim_backend = *GetParam();
  auto peer_backend = find_backend("openssl", installed_backends());
  ASSERT_TRUE(peer_backend);
  if (!victim_backend.supports(TlsVersion::tls1_3))
    GTEST_SKIP() << "TLS 1.3 unsupported by this library (" << victim_backend.library_version() << ")";
  for (Role victim_role : {Role::client, Role::server}) {
    SCOPED_TRACE(victim_role == Role::client ? "victim: client" : "victim: server");
    Config client = client_config(TlsVersion::tls1_3), server = server_config(TlsVersion::tls1_3);
    client.session_tickets = server.session_tickets = false;  // the forge counts the peer's records
    bool victim_client = victim_role == Role::client;
    auto pair = MemoryPair::create(victim_client ? victim_backend : **peer_backend, client,
                                   victim_client ? **peer_backend : victim_backend, server);
    ASSERT_TRUE(pair) << pair.error().message();
    ASSERT_FALSE(pair->handshake());
    Connection& victim = pair->side(victim_role);
    ASSERT_FALSE(victim.close());
    Bytes our_close = pair->take_output(victim_role);
    ASSERT_EQ(our_close.size(), std::size_t{5 + 2 + 1 + 16});  // one alert: 2 bytes, the type byte, the tag

    ScriptWriter w(*pair, victim_role, TlsVersion::tls1_3);
    w.raw(w.forge().key_update(1));
    for (int i = 0; i < 3; ++i) w.data(100);
    w.close_notify();
    Outcome outcome = deliver(victim, w.wire(), TransportEnd::fin, Schedule{}, 512);
    ASSERT_TRUE(outcome.verdict);
    EXPECT_TRUE(same_verdict(CloseNotify{}, *outcome.verdict)) << describe(*outcome.verdict);
    EXPECT_EQ(outcome.plaintext, pattern(0, 300));
    EXPECT_EQ(victim.output().size(), 0u) << "bytes after our close_notify (a KeyUpdate record is 27)";
  }
}

// A warning alert (level 1) between two data records, then close_notify:
// the victim's bytes and verdict. The forge protects the records with the
// openssl peer's secrets.
Outcome warning_between_records(const Backend& victim_backend, Role victim_role, TlsVersion version, Alert alert) {
  auto peer_backend = find_backend("openssl", installed_backends());
  if (!peer_backend) return {};
  Config client = client_config(version), server = server_config(version);
  client.session_tickets = server.session_tickets = false;
  bool victim_client = victim_role == Role::client;
  auto pair = MemoryPair::create(victim_client ? victim_backend : **peer_backend, client,
                                 victim_client ? **peer_backend : victim_backend, server);
  if (!pair || pair->handshake()) return {};
  ScriptWriter w(*pair, victim_role, version);
  w.data(100);
  const Bytes warning{std::byte{1}, static_cast<std::byte>(alert)};
  w.raw(w.forge().record(record::ContentType::alert, warning));
  w.data(100);
  w.close_notify();
  return deliver(pair->side(victim_role), w.wire(), TransportEnd::fin, Schedule{}, 512);
}

// Mbed TLS 2.28 passes an unsolicited TLS 1.2 no_renegotiation warning up to
// mbedtls_ssl_read(), which ignores it and returns WANT_READ. The adapter took
// that for "every record consumed", and the core reported Truncated{160}
// with the next data record and the peer's close_notify still queued.
TEST(WarningAlerts, MbedTlsReadsOnAfterAnUnsolicitedNoRenegotiationWarning) {
  auto mbedtls = find_backend("mbedtls", installed_backends());
  if (!mbedtls) GTEST_SKIP() << "mbedtls is not installed: " << mbedtls.error().message();
  for (Role role : {Role::client, Role::server}) {
    SCOPED_TRACE(role == Role::client ? "victim: client" : "victim: server");
    Outcome o = warning_between_records(**mbedtls, role, TlsVersion::tls1_2, Alert::no_renegotiation);
    ASSERT_TRUE(o.verdict);
    EXPECT_TRUE(same_verdict(CloseNotify{}, *o.verdict)) << describe(*o.verdict);
    EXPECT_EQ(o.plaintext.size(), 200u);
    EXPECT_TRUE(o.violations.empty()) << o.violations.front();
  }
}

// RFC 8446 §6: in TLS 1.3 every alert but close_notify and user_canceled is
// an error whatever its level; no_renegotiation is reserved there. OpenSSL
// fails on it, and the adapter reported LocalError (nothing failed locally).
TEST(WarningAlerts, OpenSslReportsATls13NoRenegotiationAlertAsThePeers) {
  auto openssl = find_backend("openssl", installed_backends());
  ASSERT_TRUE(openssl);
  for (Role role : {Role::client, Role::server}) {
    SCOPED_TRACE(role == Role::client ? "victim: client" : "victim: server");
    Outcome o = warning_between_records(**openssl, role, TlsVersion::tls1_3, Alert::no_renegotiation);
    ASSERT_TRUE(o.verdict);
    EXPECT_TRUE(same_verdict(PeerAlert{Alert::no_renegotiation}, *o.verdict)) << describe(*o.verdict);
    EXPECT_EQ(o.plaintext.size(), 100u);
  }
}

// RFC 8446 §6.1: user_canceled is a closure alert, not an error. OpenSSL,
// wolfSSL (and Mbed TLS, TLS 1.2 only) read on; GnuTLS 3.7 invalidates a
// TLS 1.3 session on every alert but close_notify (lib/record.c: tls13_sem)
// and the adapter cannot undo that. The soak sends no user_canceled to a
// GnuTLS victim on TLS 1.3 for that reason; if GnuTLS changes, this fails.
TEST(WarningAlerts, GnuTlsEndsATls13StreamOnUserCanceled) {
  for (const Backend* victim : installed_backends()) {
    if (!victim->supports(TlsVersion::tls1_3)) continue;
    bool gnutls = victim->name == "gnutls";
    for (Role role : {Role::client, Role::server}) {
      SCOPED_TRACE(std::string(victim->name) + (role == Role::client ? ", victim: client" : ", victim: server"));
      Outcome o = warning_between_records(*victim, role, TlsVersion::tls1_3, Alert::user_canceled);
      ASSERT_TRUE(o.verdict);
      if (gnutls) {
        EXPECT_TRUE(same_verdict(PeerAlert{Alert::user_canceled}, *o.verdict)) << describe(*o.verdict);
        EXPECT_EQ(o.plaintext.size(), 100u);
      } else {
        EXPECT_TRUE(same_verdict(CloseNotify{}, *o.verdict)) << describe(*o.verdict);
        EXPECT_EQ(o.plaintext.size(), 200u);
      }
    }
  }
}

std::string backend_name(const ::testing::TestParamInfo<const Backend*>& p) { return std::string(p.param->name); }

// The same KeyUpdate(update_requested), read before we close: whatever the
// library answers goes out before our close_notify (dropping the bytes after
// it must not drop those), and nothing follows it.
TEST_P(NothingAfterOurCloseNotify, NoPendingKeyUpdateAnswerFollowsOurCloseNotify) {
  const Backend& victim_backend = *GetParam();
  auto peer_backend = find_backend("openssl", installed_backends());
  ASSERT_TRUE(peer_backend);
  if (!victim_backend.supports(TlsVersion::tls1_3))
    GTEST_SKIP() << "TLS 1.3 unsupported by this library (" << victim_backend.library_version() << ")";
  for (Role victim_role : {Role::client, Role::server}) {
    SCOPED_TRACE(victim_role == Role::client ? "victim: client" : "victim: server");
    Config client = client_config(TlsVersion::tls1_3), server = server_config(TlsVersion::tls1_3);
    (victim_role == Role::client ? server : client).session_tickets = false;
    bool victim_client = victim_role == Role::client;
    auto pair = MemoryPair::create(victim_client ? victim_backend : **peer_backend, client,
                                   victim_client ? **peer_backend : victim_backend, server);
    ASSERT_TRUE(pair) << pair.error().message();
    ASSERT_FALSE(pair->handshake());
    Connection& victim = pair->side(victim_role);
    ScriptWriter w(*pair, victim_role, TlsVersion::tls1_3);
    w.raw(w.forge().key_update(1));
    w.data(100);
    Outcome first = deliver(victim, w.wire(), TransportEnd::none, Schedule{}, 16384);
    EXPECT_EQ(first.plaintext, pattern(0, 100));
    Bytes before_close = pair->take_output(victim_role);  // the answer, if the library sent it at once
    ASSERT_FALSE(victim.close());
    Bytes our_close = pair->take_output(victim_role);
    // Then the peer's data and close_notify, read after ours.
    std::size_t from = w.wire().size();
    w.data(100);
    w.close_notify();
    Outcome rest = deliver(victim, std::span(w.wire()).subspan(from), TransportEnd::fin, Schedule{}, 7);
    ASSERT_TRUE(rest.verdict);
    EXPECT_TRUE(same_verdict(CloseNotify{}, *rest.verdict)) << describe(*rest.verdict);
    EXPECT_EQ(rest.plaintext, pattern(100, 100));
    // One alert record: 2 bytes, TLS 1.3's content type byte and its tag.
    EXPECT_EQ(our_close.size(), std::size_t{5 + 2 + 1 + 16});
    EXPECT_EQ(victim.output().size(), 0u) << "bytes after our close_notify (a KeyUpdate record is 27; "
                                          << before_close.size() << " bytes left before close())";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, NothingAfterOurCloseNotify,
                         ::testing::ValuesIn(installed_backends().begin(), installed_backends().end()), backend_name);

// The soak resumes any of the last sessions a client context surfaced
// (wolfssl->gnutls TLS 1.2 seeds 3, 20, 45, ... of the ctest soak): wolfSSL
// surfaced two per TLS 1.2 handshake, the first without the server's ticket,
// and a GnuTLS server (no session-ID cache) could not resume it. Every blob
// on_new_session hands out must resume, on every pair and version.
TEST(Sessions, EverySurfacedSessionResumes) {
  for (const Backend* client_backend : installed_backends()) {
    for (const Backend* server_backend : installed_backends()) {
      for (TlsVersion version : {TlsVersion::tls1_2, TlsVersion::tls1_3}) {
        if (!client_backend->supports(version) || !server_backend->supports(version)) continue;
        if (const PairLimit* limit = pair_limit(*client_backend, *server_backend, version)) {
          std::cout << describe(*limit) << "\n";
          continue;
        }
        SCOPED_TRACE(std::string(client_backend->name) + "->" + std::string(server_backend->name) + " " +
                     std::string(to_string(version)));
        auto sessions = std::make_shared<std::vector<SessionBlob>>();
        Config client = client_config(version);
        client.on_new_session = [sessions](std::span<const std::byte> blob) { sessions->emplace_back(blob.begin(), blob.end()); };
        auto client_context = Context::create(client, *client_backend);
        auto server_context = Context::create(server_config(version), *server_backend);
        ASSERT_TRUE(client_context && server_context);
        auto first = MemoryPair::create(*client_context, *server_context);
        ASSERT_TRUE(first);
        ASSERT_FALSE(first->handshake());
        const std::vector<SessionBlob> surfaced = *sessions;
        ASSERT_FALSE(surfaced.empty());
        if (version == TlsVersion::tls1_2) {
          EXPECT_EQ(surfaced.size(), 1u) << "one session per TLS 1.2 handshake";
        }
        for (std::size_t i = 0; i < surfaced.size(); ++i) {
          SCOPED_TRACE("session " + std::to_string(i + 1) + " of " + std::to_string(surfaced.size()));
          auto again = MemoryPair::create(*client_context, *server_context, ConnectionOptions{.resume_session = surfaced[i]});
          ASSERT_TRUE(again);
          ASSERT_FALSE(again->handshake());
          auto info = again->client().info();
          ASSERT_TRUE(info);
          EXPECT_TRUE(info->resumed);
        }
      }
    }
  }
}

}  // namespace
}  // namespace lastbyte::conformance
