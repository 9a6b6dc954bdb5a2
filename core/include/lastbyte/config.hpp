// Everything a Context needs to know, backend-neutral. Secure by default:
// a client verifies the certificate chain and the host name; only TLS 1.2
// and 1.3 exist; renegotiation is always refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte {

enum class Role { client, server };

enum class TlsVersion : std::uint16_t { tls1_2 = 0x0303, tls1_3 = 0x0304 };

std::string_view to_string(TlsVersion version);

enum class ClientAuth { none, optional, required };

// A resumable session as the backend serialises it (opaque, backend-specific).
using SessionBlob = std::vector<std::byte>;

struct Config {
  Role role = Role::client;

  // Client: sent as SNI (unless it is an IP address) and checked against the
  // server certificate. Required for clients unless verification is disabled.
  std::string server_name;

  // Client: offered in this order. Server: accepted in this order of
  // preference; a client offering none of them is refused
  // (no_application_protocol). Empty: ALPN not used.
  std::vector<std::string> alpn;

  TlsVersion min_version = TlsVersion::tls1_2;
  TlsVersion max_version = TlsVersion::tls1_3;

  // Cipher suites by IANA name, in order of preference (a server applies its
  // own order), e.g. "TLS_CHACHA20_POLY1305_SHA256". Empty: every suite in
  // allowed_cipher_suites(). A name outside that list is refused; a version
  // left without a suite is disabled (none left at all is refused).
  std::vector<std::string> cipher_suites;

  // Trust anchors. All empty: the system store.
  std::string ca_file;
  std::string ca_dir;
  std::string ca_pem;

  // Our certificate chain (leaf first) and private key, as files or PEM text.
  // Required for servers; optional for clients (client certificates).
  std::string cert_chain_file;
  std::string private_key_file;
  std::string cert_chain_pem;
  std::string private_key_pem;

  // Server: whether to ask for / require a client certificate (verified
  // against the trust anchors above).
  ClientAuth client_auth = ClientAuth::none;

  // Session resumption with tickets (RFC 5077 / RFC 8446 §4.6.1).
  bool session_tickets = true;
  // Client: called with every new resumable session (TLS 1.3 tickets arrive
  // after the handshake, possibly several); pass one back in
  // ConnectionOptions::resume_session, on any connection of a Context of the
  // same backend, on any thread. Like keylog: called inside the Connection
  // call that received the session, concurrently from every thread that
  // drives connections of this Context, so it must be thread-safe
  // (connection.hpp, "Threads").
  std::function<void(std::span<const std::byte> session)> on_new_session;

  // NSS key log lines ("CLIENT_RANDOM ...", "SERVER_TRAFFIC_SECRET_0 ..."),
  // without the newline; called concurrently from the threads driving this
  // Context's connections (thread-safe, like on_new_session). SSLKEYLOGFILE,
  // when set in the environment when the Context is created, is appended to
  // as well unless honour_sslkeylogfile is false (whole lines, also from
  // several threads and Contexts).
  std::function<void(std::string_view line)> keylog;
  bool honour_sslkeylogfile = true;

  // EOF without close_notify ends the stream with Truncated either way; with
  // this opt-in it is marked accepted (is_acceptable_end() returns true).
  bool accept_truncation = false;

  // Turns off certificate chain AND host name verification for clients.
  // For tests against throwaway certificates only.
  bool dangerously_disable_certificate_verification = false;

  // Ciphertext queued from the transport and not yet processed. Bounded:
  // input_space() shrinks to zero instead of growing (back-pressure). Must hold
  // one maximum-size record (18437 bytes).
  std::size_t inbound_capacity = 64 * 1024;
  // Ciphertext waiting to be sent. write() accepts plaintext only while the
  // queue is below this size.
  std::size_t outbound_capacity = 64 * 1024;

  // An established connection with nothing to read or send gives both
  // queues' storage back, and the library's record buffers where it allows
  // (OpenSSL), after the read() or consume_output() that left it so: idle
  // connections cost the library's session state and under 2 KiB of
  // lastbyte (bench/README.md). The storage comes back with the next bytes,
  // from a per-thread cache of a few blocks rather than malloc; OpenSSL
  // allocates its two record buffers again (docs/decisions.md, "Idle
  // connections"). true keeps them all for the connection's life: no
  // allocation when traffic resumes, 128 KiB per connection with the
  // default capacities (Connection::release_buffers() still frees them).
  bool keep_buffers_when_idle = false;
};

// The suites lastbyte enables (forward-secret AEAD only), in its default
// order of preference: TLS 1.3 suites first, then TLS 1.2 ECDHE suites.
std::span<const std::string_view> allowed_cipher_suites();
bool is_tls13_cipher_suite(std::string_view iana_name);  // TLS_AES_*, TLS_CHACHA20_*

// Per-connection choices that do not belong in a shared Context.
struct ConnectionOptions {
  std::string server_name = {};     // overrides Config::server_name when not empty
  SessionBlob resume_session = {};  // client: a blob from Config::on_new_session
};

}  // namespace lastbyte
