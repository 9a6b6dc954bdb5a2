// Policy decided once in the core and handed to every adapter as results
// (curl's vtls keeps its host check, key log and session cache beside the
// backends the same way): what a server name is, how the peer is verified,
// which ALPN protocol a server picks, which certificate fault is reported,
// and the cache of parsed sessions behind session blobs. An adapter asks;
// it never re-implements these, so every backend decides identically.
#pragma once

#include <lastbyte/config.hpp>
#include <lastbyte/verdict.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::policy {

// ---- the server name -------------------------------------------------------

// A client's server name: a DNS name is sent as SNI and matched against
// dNSName subjectAltNames; an IP literal (RFC 6066 §3 forbids it as SNI) is
// matched against iPAddress subjectAltNames. Classified with inet_pton, so
// "123" or "1.2.3" are DNS names, not addresses. A DNS name loses one
// trailing dot (the root: "example.test." names example.test, and SNI
// carries no trailing dot, RFC 6066 §3) and must be a host name: labels of
// 1-63 letters, digits, hyphens or underscores, 253 characters in all.
// Anything else ("*.example.test", ".example.test", "a..b", a space) is
// invalid, and Connection::create refuses it (errc::invalid_config).
struct ServerName {
  enum class Kind { none, dns, ipv4, ipv6, invalid };
  std::string text;
  Kind kind = Kind::none;
  std::array<std::uint8_t, 16> address{};  // network order; 4 or 16 bytes used

  bool is_ip() const { return kind == Kind::ipv4 || kind == Kind::ipv6; }
  bool sends_sni() const { return kind == Kind::dns; }
  std::span<const std::uint8_t> ip_bytes() const {
    return {address.data(), kind == Kind::ipv4 ? 4u : kind == Kind::ipv6 ? 16u : 0u};
  }
};
ServerName classify_server_name(std::string_view name);

// ---- verification ------------------------------------------------------------

enum class Verify {
  none,      // a server without client_auth; a client with dangerously_disable_certificate_verification
  optional,  // a server with ClientAuth::optional: verify a certificate if one is sent
  required,  // every client by default; a server with ClientAuth::required
};
Verify verify_mode(const Config& config);

// The subjectAltNames of a leaf certificate, as an adapter extracts them.
struct SubjectAltNames {
  std::vector<std::string> dns = {};
  std::vector<std::vector<std::uint8_t>> ip = {};  // 4 or 16 bytes each
};

// RFC 6125, the subset every backend applies (OpenSSL's X509_check_host
// with NO_PARTIAL_WILDCARDS | NEVER_CHECK_SUBJECT decides the same): names
// come from subjectAltName only (a CN-only certificate names nothing, V03);
// "*" is a whole leftmost label, never directly under a top-level domain,
// and matches exactly one label of letters, digits and hyphens (V04); DNS
// names compare case-insensitively (a dNSName with a trailing dot names
// nothing), IP addresses bytewise.
bool names_match(const ServerName& name, const SubjectAltNames& names);

// What one certificate verification found wrong; several may hold at once.
enum class CertificateFault : unsigned {
  missing = 1u << 0,          // no certificate where one is required
  untrusted = 1u << 1,        // no chain to a trust anchor (self-signed, unknown CA)
  usage = 1u << 2,            // key usage / extended key usage forbids the role
  hostname = 1u << 3,         // subjectAltName does not name the server
  expired = 1u << 4,          // outside the validity period
  bad_certificate = 1u << 5,  // unparsable, bad signature, unsupported algorithm
};
using CertificateFaults = unsigned;
constexpr CertificateFaults operator|(CertificateFault a, CertificateFault b) {
  return static_cast<unsigned>(a) | static_cast<unsigned>(b);
}
constexpr CertificateFaults operator|(CertificateFaults a, CertificateFault b) { return a | static_cast<unsigned>(b); }

// The one reason reported for a set of faults, in one order for every
// backend (OpenSSL's, which reports the first it meets: chain, usage, name,
// time): missing, untrusted, usage, hostname, expired, bad_certificate.
// nullopt for no fault.
std::optional<RejectReason> reason_for(CertificateFaults faults);

// ---- ALPN --------------------------------------------------------------------

// RFC 7301 ProtocolNameList: each name prefixed by its length.
std::vector<unsigned char> alpn_wire(std::span<const std::string> protocols);

// A server's choice: the first of `ours` (its order of preference) that the
// client offered in `offered` (wire format, possibly malformed: the list is
// read only as far as it is well formed). nullopt: no overlap, which is
// fatal (no_application_protocol, RFC 7301 §3.2). The view points into
// `offered`.
std::optional<std::span<const unsigned char>> select_alpn(std::span<const std::string> ours,
                                                          std::span<const unsigned char> offered);

// ---- sessions ----------------------------------------------------------------

// The last sessions an adapter handed out as blobs, kept parsed: resuming
// from one of them skips the library's deserialisation (for OpenSSL and
// wolfSSL that re-parses the server's certificate: bench/README.md). Blobs
// from elsewhere are parsed by the adapter as before. Thread-safe: a
// context's connections share it.
class SessionCache {
 public:
  // The library's parsed session, with its deleter. Libraries differ on
  // whether one session object may serve several connections: an adapter
  // that needs its own copy makes it from what find() returns.
  using Session = std::shared_ptr<void>;

  explicit SessionCache(std::size_t capacity = 32) : capacity_(capacity) {}

  // Never fails the connection: a session it cannot keep (no memory) is
  // simply not cached.
  void remember(std::span<const std::byte> blob, Session session) noexcept;
  Session find(std::span<const std::byte> blob) const;

 private:
  struct Entry {
    SessionBlob blob;
    Session session;
  };
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // oldest first
};

}  // namespace lastbyte::policy
