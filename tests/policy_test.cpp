// The policies the core decides once for every adapter (policy.hpp), and
// the wire helpers adapters use instead of parsing by hand (record.hpp).
#include <lastbyte/engine/policy.hpp>
#include <lastbyte/engine/record.hpp>

#include <gtest/gtest.h>

namespace lastbyte::policy {
namespace {

std::vector<std::uint8_t> ip(std::initializer_list<int> bytes) {
  std::vector<std::uint8_t> out;
  for (int b : bytes) out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

TEST(Policy, ServerNamesAreClassifiedByInetPton) {
  EXPECT_EQ(classify_server_name("").kind, ServerName::Kind::none);
  EXPECT_EQ(classify_server_name("server.test").kind, ServerName::Kind::dns);
  // Digits and dots are not enough: one adapter once took "123" for an address.
  EXPECT_EQ(classify_server_name("123").kind, ServerName::Kind::dns);
  EXPECT_EQ(classify_server_name("1.2.3").kind, ServerName::Kind::dns);
  auto v4 = classify_server_name("127.0.0.1");
  EXPECT_EQ(v4.kind, ServerName::Kind::ipv4);
  EXPECT_TRUE(std::ranges::equal(v4.ip_bytes(), ip({127, 0, 0, 1})));
  EXPECT_FALSE(v4.sends_sni());
  auto v6 = classify_server_name("::1");
  EXPECT_EQ(v6.kind, ServerName::Kind::ipv6);
  EXPECT_EQ(v6.ip_bytes().size(), 16u);
  EXPECT_EQ(v6.ip_bytes()[15], 1);
  EXPECT_TRUE(classify_server_name("a.example").sends_sni());
}

TEST(Policy, NamesComeFromSubjectAltNameOnly) {
  SubjectAltNames names{.dns = {"server.test", "*.example.com"}, .ip = {ip({10, 0, 0, 1})}};
  EXPECT_TRUE(names_match(classify_server_name("server.test"), names));
  EXPECT_TRUE(names_match(classify_server_name("SERVER.Test."), names)) << "case and a trailing dot";
  EXPECT_TRUE(names_match(classify_server_name("b.example.com"), names));
  EXPECT_FALSE(names_match(classify_server_name("a.b.example.com"), names)) << "V04: * is one label";
  EXPECT_FALSE(names_match(classify_server_name("example.com"), names));
  EXPECT_FALSE(names_match(classify_server_name("other.test"), names)) << "V02";
  EXPECT_TRUE(names_match(classify_server_name("10.0.0.1"), names));
  EXPECT_FALSE(names_match(classify_server_name("10.0.0.2"), names));
  EXPECT_FALSE(names_match(classify_server_name("10.0.0.1"), {.dns = {"10.0.0.1"}})) << "an IP matches iPAddress SANs only";
  EXPECT_FALSE(names_match(classify_server_name("server.test"), {})) << "V03: a CN-only certificate names nothing";
  EXPECT_FALSE(names_match(classify_server_name("a.com"), {.dns = {"*.com"}})) << "no wildcard over a public suffix";
  EXPECT_FALSE(names_match(classify_server_name("ab.example"), {.dns = {"a*.example"}})) << "no partial wildcards";
}

TEST(Policy, OneCertificateFaultIsReportedInOneOrder) {
  using F = CertificateFault;
  EXPECT_EQ(reason_for(0), std::nullopt);
  EXPECT_EQ(reason_for(F::expired | F::hostname), RejectReason::hostname);
  EXPECT_EQ(reason_for(F::expired | F::untrusted), RejectReason::untrusted);
  EXPECT_EQ(reason_for(F::usage | F::hostname), RejectReason::usage);
  EXPECT_EQ(reason_for(F::bad_certificate | F::expired), RejectReason::expired);
  EXPECT_EQ(reason_for(static_cast<unsigned>(F::bad_certificate)), RejectReason::bad_certificate);
  EXPECT_EQ(reason_for(F::missing | F::untrusted), RejectReason::certificate_required);
}

TEST(Policy, ServerAlpnChoiceIsTheServersPreference) {
  std::vector<std::string> ours{"http/1.1", "h2"};
  auto offered = alpn_wire(std::vector<std::string>{"h2", "http/1.1"});
  auto chosen = select_alpn(ours, offered);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(std::string(chosen->begin(), chosen->end()), "http/1.1");
  EXPECT_EQ(select_alpn(ours, alpn_wire(std::vector<std::string>{"spdy/3"})), std::nullopt);
  // Malformed: the length runs past the end; only the well-formed prefix counts.
  std::vector<unsigned char> broken{2, 'h', '2', 50, 'h', 't'};
  chosen = select_alpn(ours, broken);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(std::string(chosen->begin(), chosen->end()), "h2");
  EXPECT_EQ(select_alpn(ours, std::vector<unsigned char>{9, 'h', 't'}), std::nullopt);
}

TEST(Policy, VerifyModeFollowsRoleAndConfig) {
  Config client;
  EXPECT_EQ(verify_mode(client), Verify::required);
  client.dangerously_disable_certificate_verification = true;
  EXPECT_EQ(verify_mode(client), Verify::none);
  Config server;
  server.role = Role::server;
  EXPECT_EQ(verify_mode(server), Verify::none);
  server.client_auth = ClientAuth::optional;
  EXPECT_EQ(verify_mode(server), Verify::optional);
  server.client_auth = ClientAuth::required;
  EXPECT_EQ(verify_mode(server), Verify::required);
}

TEST(Policy, SessionCacheKeepsTheLatestSessions) {
  SessionCache cache(2);
  auto blob = [](int i) { return SessionBlob(4, static_cast<std::byte>(i)); };
  auto session = [](int i) { return SessionCache::Session(std::make_shared<int>(i)); };
  cache.remember(blob(1), session(1));
  cache.remember(blob(2), session(2));
  cache.remember(blob(3), session(3));
  EXPECT_EQ(cache.find(blob(1)), nullptr) << "the oldest was evicted";
  ASSERT_NE(cache.find(blob(3)), nullptr);
  EXPECT_EQ(*std::static_pointer_cast<int>(cache.find(blob(3))), 3);
  EXPECT_EQ(cache.find(SessionBlob{}), nullptr);
}

}  // namespace
}  // namespace lastbyte::policy

// ---- wire helpers adapters use instead of parsing by hand (record.hpp) ----

namespace wire {

using lastbyte::record::for_each_key_share_group;
using lastbyte::record::plaintext_fatal_alert;
using lastbyte::record::server_hello_cipher_suite;
using Bytes = std::vector<unsigned char>;

TEST(RecordWire, APlaintextFatalAlertIsRecognisedAndNothingElse) {
  EXPECT_EQ(plaintext_fatal_alert(Bytes{21, 3, 3, 0, 2, 2, 40}), 40);
  EXPECT_EQ(plaintext_fatal_alert(Bytes{21, 3, 3, 0, 2, 1, 0}), std::nullopt);         // a warning
  EXPECT_EQ(plaintext_fatal_alert(Bytes{22, 3, 3, 0, 2, 2, 40}), std::nullopt);        // a handshake record
  EXPECT_EQ(plaintext_fatal_alert(Bytes{21, 3, 3, 0, 3, 2, 40, 0}), std::nullopt);     // not one alert
  EXPECT_EQ(plaintext_fatal_alert(Bytes{21, 3, 3, 0, 2, 2}), std::nullopt);            // cut
}

TEST(RecordWire, TheServerHellosSuiteFollowsItsSessionId) {
  Bytes hello(2 + 32, 0xaa);
  hello.push_back(3);  // a 3-byte session id
  hello.insert(hello.end(), {1, 2, 3, 0x13, 0x02, 0});
  auto suite = server_hello_cipher_suite(hello);
  ASSERT_TRUE(suite);
  EXPECT_EQ((*suite)[0], 0x13);
  EXPECT_EQ((*suite)[1], 0x02);
  hello.resize(2 + 32 + 1 + 3 + 1);  // the suite cut in half
  EXPECT_EQ(server_hello_cipher_suite(hello), std::nullopt);
  EXPECT_EQ(server_hello_cipher_suite(Bytes(34, 0)), std::nullopt);  // no session id length
}

TEST(RecordWire, KeyShareGroupsAreVisitedInOrderUntilOneDoesNotFit) {
  // x25519 with a 2-byte key, secp256r1 with none, then an entry claiming 9 bytes it lacks.
  Bytes shares{0x00, 0x1d, 0, 2, 7, 7, 0x00, 0x17, 0, 0, 0x00, 0x18, 0, 9, 1};
  std::vector<int> seen;
  for_each_key_share_group(shares, [&](std::array<unsigned char, 2> g) { seen.push_back(g[0] << 8 | g[1]); });
  EXPECT_EQ(seen, (std::vector<int>{0x1d, 0x17}));
  seen.clear();
  for_each_key_share_group(Bytes{0x00, 0x1d, 0}, [&](std::array<unsigned char, 2> g) { seen.push_back(g[1]); });
  EXPECT_TRUE(seen.empty());
}

}  // namespace wire
