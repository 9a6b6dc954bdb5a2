// C01–C08: every backend takes the same certificate decision, with
// certificates generated at test time.
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/testing/pki.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

using testing::CertSpec;
using testing::Identity;
using testing::Usage;

struct Params {
  const Backend* backend;
  TlsVersion version;
};

std::string param_name(const ::testing::TestParamInfo<Params>& p) {
  return std::string(p.param.backend->name) + (p.param.version == TlsVersion::tls1_3 ? "_tls13" : "_tls12");
}

std::vector<Params> all_params() {
  std::vector<Params> out;
  for (const Backend* b : installed_backends())
    for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2}) out.push_back({b, v});
  return out;
}

class Certificates : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override {
    if (!GetParam().backend->supports(GetParam().version))
      GTEST_SKIP() << "unsupported by this library: " << GetParam().backend->library_version();
  }

  // Handshakes a client verifying `name` against a server presenting `leaf`
  // (issued by `issuer`, or self-signed when issuer is null), trusting the
  // test CA. Returns the client's verdict, or nullopt if it was accepted.
  std::optional<Verdict> connect(const Identity& leaf, const std::string& name, const Identity* issuer,
                                 Config client = {}) {
    if (client.server_name.empty()) client = client_config(GetParam().version);
    client.server_name = name;
    Config server = server_config(GetParam().version);
    server.alpn = server_alpn;
    server.cert_chain_pem = leaf.cert_pem + (issuer ? issuer->cert_pem : "");
    server.private_key_pem = leaf.key_pem;
    // The decision under test is the client's; the server is a backend that
    // presents whatever it is given (Mbed TLS refuses to serve a clientAuth-only
    // leaf at all, which would hide the client's decision).
    auto pair = MemoryPair::create(*GetParam().backend, client, *installed_backends()[0], server);
    EXPECT_TRUE(pair) << pair.error().message();
    if (!pair) return LocalError{"setup"};
    auto error = pair->handshake();
    last_client_info = pair->client().info().has_value() ? std::optional(*pair->client().info()) : std::nullopt;
    last_server_info = pair->server().info().has_value() ? std::optional(*pair->server().info()) : std::nullopt;
    if (!error) return std::nullopt;
    EXPECT_TRUE(pair->client().verdict().has_value()) << *error;
    return pair->client().verdict();
  }

  static void expect_rejected(const std::optional<Verdict>& verdict, RejectReason reason) {
    ASSERT_TRUE(verdict.has_value()) << "the client accepted the certificate";
    auto* rejected = std::get_if<HandshakeRejected>(&*verdict);
    ASSERT_NE(rejected, nullptr) << describe(*verdict);
    EXPECT_EQ(rejected->reason, reason) << describe(*verdict);
  }

  const Identity& ca() { return testing::test_pki().ca; }
  std::optional<SessionInfo> last_client_info, last_server_info;
  std::vector<std::string> server_alpn;
};

TEST_P(Certificates, C01_ExpiredLeafIsRejected) {
  auto leaf = testing::issue(ca(), {.common_name = "server.test", .dns_names = {"server.test"}, .valid_from_days = -30, .valid_until_days = -1});
  expect_rejected(connect(leaf, "server.test", &ca()), RejectReason::expired);
}

TEST_P(Certificates, C02_NameNotInSubjectAltNameIsRejected) {
  auto leaf = testing::issue(ca(), {.common_name = "other.test", .dns_names = {"other.test"}});
  expect_rejected(connect(leaf, "server.test", &ca()), RejectReason::hostname);
}

// Policy (docs/divergences.md): names come from subjectAltName only (RFC 6125
// §6.4.4, CA/B Forum); a CN-only certificate is rejected on every backend.
TEST_P(Certificates, C03_CommonNameOnlyCertificateIsRejected) {
  auto leaf = testing::issue(ca(), {.common_name = "server.test"});
  expect_rejected(connect(leaf, "server.test", &ca()), RejectReason::hostname);
}

TEST_P(Certificates, C04_WildcardMatchesOneLabelOnly) {
  auto leaf = testing::issue(ca(), {.common_name = "*.example.com", .dns_names = {"*.example.com"}});
  expect_rejected(connect(leaf, "a.b.example.com", &ca()), RejectReason::hostname);
  EXPECT_FALSE(connect(leaf, "b.example.com", &ca()).has_value()) << "a one-label wildcard match must be accepted";
}

TEST_P(Certificates, C05_ChainToUntrustedRootIsRejected) {
  auto other_root = testing::make_root("untrusted root");
  auto leaf = testing::issue(other_root, {.common_name = "server.test", .dns_names = {"server.test"}});
  expect_rejected(connect(leaf, "server.test", &other_root), RejectReason::untrusted);
}

TEST_P(Certificates, C06_SelfSignedLeafIsRejected) {
  auto leaf = testing::self_signed({.common_name = "server.test", .dns_names = {"server.test"}});
  expect_rejected(connect(leaf, "server.test", nullptr), RejectReason::untrusted);
}

TEST_P(Certificates, C07_ClientAuthOnlyLeafIsRejected) {
  auto leaf = testing::issue(ca(), {.common_name = "server.test", .dns_names = {"server.test"}, .usage = Usage::client});
  expect_rejected(connect(leaf, "server.test", &ca()), RejectReason::usage);
}

TEST_P(Certificates, C08_ValidChainIsAcceptedAndBothSidesAgree) {
  Config client = client_config(GetParam().version);
  client.alpn = {"h2", "http/1.1"};
  server_alpn = {"http/1.1", "h2"};  // the server's preference wins
  auto verdict = connect(testing::test_pki().server, "server.test", nullptr, client);
  EXPECT_FALSE(verdict.has_value()) << describe(*verdict);
  ASSERT_TRUE(last_client_info && last_server_info);
  EXPECT_EQ(last_client_info->version, GetParam().version);
  EXPECT_EQ(last_client_info->version, last_server_info->version);
  EXPECT_EQ(last_client_info->cipher, last_server_info->cipher);
  EXPECT_FALSE(last_client_info->cipher.empty());
  EXPECT_EQ(last_client_info->alpn, "http/1.1");
  EXPECT_EQ(last_server_info->alpn, "http/1.1");
  EXPECT_FALSE(last_client_info->resumed);
}

TEST_P(Certificates, VerificationIsOnByDefaultAgainstTheSystemStore) {
  Config client;  // defaults: system trust store, verification on
  client.server_name = "server.test";
  client.min_version = client.max_version = GetParam().version;
  client.honour_sslkeylogfile = false;
  expect_rejected(connect(testing::test_pki().server, "server.test", nullptr, client), RejectReason::untrusted);
}

TEST_P(Certificates, DisablingVerificationNeedsTheLoudOption) {
  Config client;
  client.server_name = "anything.invalid";
  client.min_version = client.max_version = GetParam().version;
  client.dangerously_disable_certificate_verification = true;
  client.honour_sslkeylogfile = false;
  auto verdict = connect(testing::self_signed({.common_name = "x", .dns_names = {"x"}}), "anything.invalid", nullptr, client);
  EXPECT_FALSE(verdict.has_value()) << describe(*verdict);
}

TEST_P(Certificates, IpAddressNamesAreCheckedAgainstIpSubjectAltNames) {
  Config client = client_config(GetParam().version);
  client.server_name = "127.0.0.1";
  auto probe = MemoryPair::create(*GetParam().backend, client, *GetParam().backend, server_config(GetParam().version));
  if (!probe && probe.error().code == errc::unsupported_by_backend)
    GTEST_SKIP() << "unsupported by this library: " << probe.error().message();
  EXPECT_FALSE(connect(testing::test_pki().server, "127.0.0.1", nullptr).has_value());
  expect_rejected(connect(testing::test_pki().server, "127.0.0.2", nullptr), RejectReason::hostname);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Certificates, ::testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace lastbyte::conformance
