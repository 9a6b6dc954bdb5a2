// Certificate policy beyond the catalogue's V01–V08 rows (which run as
// Catalogue/C0x_* cells on every backend pair, see scenario_test.cpp):
// verification defaults, the loud opt-out, IP-address names.
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
    server.cert_chain_pem = leaf.cert_pem + (issuer ? issuer->cert_pem : "");
    server.private_key_pem = leaf.key_pem;
    // The decision under test is the client's; the server is a backend that
    // presents whatever it is given (Mbed TLS refuses to serve a clientAuth-only
    // leaf at all, which would hide the client's decision).
    auto pair = MemoryPair::create(*GetParam().backend, client, *installed_backends()[0], server);
    EXPECT_TRUE(pair) << pair.error().message();
    if (!pair) return LocalError{"setup"};
    auto error = pair->handshake();
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

};

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

// The kind of a server name is decided once (policy::classify_server_name,
// inet_pton): "123" is a DNS name on every backend. Mbed TLS's adapter once
// took any digits-and-dots name for an IP address and refused it.
TEST_P(Certificates, DigitsOnlyNamesAreDnsNames) {
  const auto& pki = testing::test_pki();
  auto leaf = testing::issue(pki.ca, {.common_name = "123", .dns_names = {"123"}});
  EXPECT_FALSE(connect(leaf, "123", &pki.ca).has_value());
  expect_rejected(connect(leaf, "124", &pki.ca), RejectReason::hostname);
}

// policy::names_match on every backend: a wildcard never stands for a whole
// name below a top-level domain ("*.test" names nothing). wolfSSL's and
// Mbed TLS's adapters once matched it with "server.test".
TEST_P(Certificates, WildcardNeverCoversATopLevelDomain) {
  const auto& pki = testing::test_pki();
  auto leaf = testing::issue(pki.ca, {.common_name = "wild", .dns_names = {"*.test"}});
  expect_rejected(connect(leaf, "server.test", &pki.ca), RejectReason::hostname);
  auto proper = testing::issue(pki.ca, {.common_name = "wild", .dns_names = {"*.example.test"}});
  EXPECT_FALSE(connect(proper, "server.example.test", &pki.ca).has_value());
}

// One rule for names on every backend (found by review: OpenSSL's
// X509_check_host and policy::names_match disagreed on these). The server
// name's trailing dot is the root: the same host. A dNSName with one names
// nothing. A wildcard covers a label of letters, digits and hyphens only.
TEST_P(Certificates, TrailingDotsAndWildcardLabelsFollowOneRule) {
  const auto& pki = testing::test_pki();
  EXPECT_FALSE(connect(pki.server, "server.test.", &pki.ca).has_value());
  auto dotted = testing::issue(pki.ca, {.common_name = "dotted", .dns_names = {"server.example.test."}});
  expect_rejected(connect(dotted, "server.example.test", &pki.ca), RejectReason::hostname);
  auto wild = testing::issue(pki.ca, {.common_name = "wild", .dns_names = {"*.example.test"}});
  expect_rejected(connect(wild, "a_b.example.test", &pki.ca), RejectReason::hostname);
  EXPECT_FALSE(connect(wild, "a-b.example.test", &pki.ca).has_value());
}

// A server name that is neither a host name nor an IP address is refused
// before anything is sent: OpenSSL took ".example.test" for "any subdomain".
TEST_P(Certificates, NamesThatAreNotHostNamesAreRefused) {
  auto context = Context::create(client_config(GetParam().version), *GetParam().backend);
  ASSERT_TRUE(context) << context.error().message();
  for (std::string name : {".example.test", "*.example.test", "a..example.test", "a b.test", "a.test..", "."}) {
    auto connection = Connection::create(*context, {.server_name = name});
    ASSERT_FALSE(connection) << name;
    EXPECT_EQ(connection.error().code, errc::invalid_config) << name << ": " << connection.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Certificates, ::testing::ValuesIn(all_params()), param_name);

}  // namespace
}  // namespace lastbyte::conformance
