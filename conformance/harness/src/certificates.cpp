#include "certificates.hpp"
#include "rows.hpp"

#include <lastbyte/testing/pki.hpp>

namespace lastbyte::conformance::detail {
namespace {

using testing::Identity;
using S = CellResult::Status;

// What the server presents, generated afresh for each cell.
struct Presented {
  std::string chain_pem;
  std::string key_pem;
};

struct Row {
  std::string_view id;
  std::string_view title;
  Presented (*present)();
  std::string_view name;                // what the client verifies
  std::optional<RejectReason> reject;   // nullopt: accepted, both sides agreeing on what was negotiated
  std::string_view also_accepted = {};  // a name the same certificate must be accepted for
  // The peer library may refuse to present this certificate at all (Mbed TLS
  // will not serve a leaf without serverAuth): the client then sees the
  // server's alert instead of a certificate, and the cell cannot be run.
  bool peer_may_refuse = false;
};

const Identity& ca() { return testing::test_pki().ca; }
Presented issued_by_ca(const testing::CertSpec& spec) {
  Identity leaf = testing::issue(ca(), spec);
  return {leaf.cert_pem + ca().cert_pem, leaf.key_pem};
}

constexpr Row rows[] = {
    {"V01", "expired leaf",
     [] { return issued_by_ca({.common_name = "server.test", .dns_names = {"server.test"}, .valid_from_days = -30,
                               .valid_until_days = -1}); },
     "server.test", RejectReason::expired},
    {"V02", "subjectAltName not matching the requested name",
     [] { return issued_by_ca({.common_name = "other.test", .dns_names = {"other.test"}}); }, "server.test",
     RejectReason::hostname},
    // Policy (docs/decisions.md): names come from subjectAltName only (RFC 6125
    // §6.4.4, CA/B Forum Baseline Requirements).
    {"V03", "CN-only certificate whose CN matches: rejected on every backend",
     [] { return issued_by_ca({.common_name = "server.test"}); }, "server.test", RejectReason::hostname},
    {"V04", "*.example.com for a.b.example.com (and accepted for b.example.com)",
     [] { return issued_by_ca({.common_name = "*.example.com", .dns_names = {"*.example.com"}}); },
     "a.b.example.com", RejectReason::hostname, "b.example.com"},
    {"V05", "chain to an untrusted root",
     [] {
       Identity root = testing::make_root("untrusted root");
       Identity leaf = testing::issue(root, {.common_name = "server.test", .dns_names = {"server.test"}});
       return Presented{leaf.cert_pem + root.cert_pem, leaf.key_pem};
     },
     "server.test", RejectReason::untrusted},
    {"V06", "self-signed leaf",
     [] {
       Identity leaf = testing::self_signed({.common_name = "server.test", .dns_names = {"server.test"}});
       return Presented{leaf.cert_pem, leaf.key_pem};
     },
     "server.test", RejectReason::untrusted},
    {"V07", "server certificate with extendedKeyUsage clientAuth only",
     [] {
       return issued_by_ca({.common_name = "server.test", .dns_names = {"server.test"}, .usage = testing::Usage::client});
     },
     "server.test", RejectReason::usage, {}, true},
    {"V08", "valid chain, matching name: accepted, same version/cipher/ALPN on both sides",
     [] { return Presented{testing::test_pki().server.cert_pem, testing::test_pki().server.key_pem}; },
     "server.test", std::nullopt},
};

const Row& row_of(const Cell& cell) {
  for (const Row& row : rows)
    if (row.id == cell.scenario->id) return row;
  throw std::logic_error("not a certificate row: " + std::string(cell.scenario->id));
}

struct PeerRefused {
  std::string why;
};

struct Handshake {
  std::optional<Verdict> client_verdict;  // nullopt: accepted
  std::optional<Verdict> server_verdict;
  std::optional<SessionInfo> client_info, server_info;
};

Expected<Handshake> handshake(const Cell& cell, const Presented& presented, std::string_view name) {
  Config client = client_config(cell.version), server = server_config(cell.version);
  client.server_name = name;
  client.alpn = {"h2", "http/1.1"};
  server.alpn = {"http/1.1", "h2"};  // the server's preference wins
  server.cert_chain_pem = presented.chain_pem;
  server.private_key_pem = presented.key_pem;
  auto pair = MemoryPair::create(*cell.victim_backend, std::move(client), *cell.peer_backend, std::move(server));
  if (!pair) return pair.error();
  Handshake h;
  if (pair->handshake()) {
    h.client_verdict = pair->client().verdict();
    h.server_verdict = pair->server().verdict();
    if (!h.client_verdict) h.client_verdict = LocalError{"the handshake failed without a client verdict"};
  }
  if (auto info = pair->client().info()) h.client_info = *info;
  if (auto info = pair->server().info()) h.server_info = *info;
  return h;
}

std::optional<std::string> check_accepted(const Cell& cell, const Handshake& h, std::string_view name) {
  if (h.client_verdict) return "the client rejected " + std::string(name) + ": " + describe(*h.client_verdict);
  if (!h.client_info || !h.server_info) return "no session information after the handshake";
  const SessionInfo &c = *h.client_info, &s = *h.server_info;
  if (c.version != cell.version || s.version != cell.version)
    return "negotiated " + std::string(to_string(c.version)) + " / " + std::string(to_string(s.version)) +
           ", expected " + std::string(to_string(cell.version));
  if (c.cipher.empty() || c.cipher != s.cipher) return "cipher: client says " + c.cipher + ", server says " + s.cipher;
  if (c.alpn != "http/1.1" || s.alpn != "http/1.1")
    return "ALPN: client says '" + c.alpn + "', server says '" + s.alpn + "', expected the server's choice http/1.1";
  if (c.resumed || s.resumed) return "a fresh handshake reported as resumed";
  return std::nullopt;
}

std::optional<std::string> check_rejected(const Handshake& h, RejectReason reason) {
  if (!h.client_verdict) return "the client accepted the certificate";
  const auto* rejected = std::get_if<HandshakeRejected>(&*h.client_verdict);
  if (rejected && rejected->reason == reason) return std::nullopt;
  return "expected " + describe(HandshakeRejected{reason, {}}) + ", got " + describe(*h.client_verdict);
}

}  // namespace

void add_certificate_rows(Catalogue& catalogue) {
  for (const Row& row : rows) {
    // Each proves C4's "the same verdict on every backend" for a certificate
    // decision: the client's verdict names the same RejectReason whichever
    // library verifies.
    catalogue.add({.id = row.id,
                   .title = row.title,
                   .clauses = {Clause::C4},
                   .applies = [](TlsVersion, Role victim) { return victim == Role::client; },
                   .body = CertificateCheck{}});
  }
}

CertificateCase certificate_case(std::string_view id) {
  for (const Row& row : rows)
    if (row.id == id) {
      Presented presented = row.present();
      return {.chain_pem = presented.chain_pem, .key_pem = presented.key_pem, .name = std::string(row.name),
              .reject = row.reject};
    }
  throw std::logic_error("not a certificate row: " + std::string(id));
}

CellResult run_certificate_cell(const Cell& cell, Delivered* delivered) {
  const Row& row = row_of(cell);
  auto run = [&](std::string_view name, std::optional<RejectReason> reject) -> std::optional<std::string> {
    auto h = handshake(cell, row.present(), name);
    if (!h) return "setup: " + h.error().message();
    if (row.peer_may_refuse && h->client_verdict && std::holds_alternative<PeerAlert>(*h->client_verdict))
      throw PeerRefused{"the peer library refuses to present this certificate (" +
                        (h->server_verdict ? describe(*h->server_verdict) : "no verdict") + "), so the client's " +
                        "decision cannot be observed: unsupported by this library (" +
                        cell.peer_backend->library_version() + ")"};
    if (delivered && name == row.name) *delivered = {.bytes = 0, .verdict = h->client_verdict};
    return reject ? check_rejected(*h, *reject) : check_accepted(cell, *h, name);
  };
  std::string diff;
  try {
    if (auto problem = run(row.name, row.reject)) diff += *problem + "\n";
    if (!row.also_accepted.empty())
      if (auto problem = run(row.also_accepted, std::nullopt)) diff += *problem + "\n";
  } catch (const PeerRefused& refused) {
    return {S::unsupported, refused.why};
  }
  if (diff.empty()) return {S::pass, {}};
  return {S::fail, diff + "reproduce: " + cell.reproducer()};
}

}  // namespace lastbyte::conformance::detail
