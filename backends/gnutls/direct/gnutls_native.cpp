// GnuTLS 3.7, driven natively: push/pull functions where pull returns 0 at
// EOF and -1 with the session's errno set to ECONNRESET on a reset or to
// EAGAIN when nothing has arrived (gnutls_transport_set_errno, what its
// documentation asks of replacement pull functions).
#include "gnutls_direct.hpp"
#include "native.hpp"

#include <gnutls/gnutls.h>

#include <cerrno>
#include <stdexcept>

namespace lastbyte::conformance::native {
namespace {

std::string error_name(int rc) {
  if (rc == 0) return "0";
  const char* name = gnutls_strerror_name(rc);
  return name ? name : "GnuTLS error " + std::to_string(rc);
}

std::string status_names(unsigned status) {
  struct Named {
    unsigned flag;
    const char* name;
  };
#define LASTBYTE_NAMED(flag) {flag, #flag}
  static constexpr Named names[] = {
      LASTBYTE_NAMED(GNUTLS_CERT_INVALID),          LASTBYTE_NAMED(GNUTLS_CERT_SIGNER_NOT_FOUND),
      LASTBYTE_NAMED(GNUTLS_CERT_SIGNER_NOT_CA),    LASTBYTE_NAMED(GNUTLS_CERT_UNEXPECTED_OWNER),
      LASTBYTE_NAMED(GNUTLS_CERT_EXPIRED),          LASTBYTE_NAMED(GNUTLS_CERT_NOT_ACTIVATED),
      LASTBYTE_NAMED(GNUTLS_CERT_SIGNATURE_FAILURE), LASTBYTE_NAMED(GNUTLS_CERT_PURPOSE_MISMATCH),
  };
#undef LASTBYTE_NAMED
  if (status == 0) return "verify status 0";
  std::string out;
  for (const auto& n : names)
    if (status & n.flag) out += (out.empty() ? "" : "|") + std::string(n.name);
  return out.empty() ? "verify status " + std::to_string(status) : out;
}

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string(what) + " failed: " + error_name(rc));
}

void check(direct::gnutls::Refusal refusal) {
  if (refusal.call) check(refusal.rc, refusal.call);
}

class GnuTlsSession final : public Session {
 public:
  GnuTlsSession(const Options& options, Socket& socket)
      : socket_(socket), verify_(options.verify), server_name_(options.server_name) {
    bool client = options.role == Role::client;
    check(gnutls_certificate_allocate_credentials(&credentials_), "gnutls_certificate_allocate_credentials");
    if (client) check(direct::gnutls::load_trust(credentials_, options.ca_pem));
    else check(direct::gnutls::load_identity(credentials_, options.cert_pem, options.key_pem));
    check(gnutls_init(&session_, (client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NONBLOCK), "gnutls_init");
    std::string priority = direct::gnutls::version_priority(options.version);
    check(gnutls_priority_set_direct(session_, priority.c_str(), nullptr), "gnutls_priority_set_direct");
    check(gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, credentials_), "gnutls_credentials_set");
    gnutls_handshake_set_timeout(session_, 0);  // no timers: the transport is ours
    gnutls_transport_set_ptr(session_, this);
    gnutls_transport_set_push_function(session_, push);
    gnutls_transport_set_pull_function(session_, pull);
    gnutls_transport_set_pull_timeout_function(session_, pull_timeout);
    if (!client) return;
    check(gnutls_server_name_set(session_, GNUTLS_NAME_DNS, options.server_name.data(), options.server_name.size()),
          "gnutls_server_name_set");
    if (options.verify == Verify::chain) gnutls_session_set_verify_cert(session_, nullptr, 0);
    // GnuTLS keeps the pointer (it checks the name during the handshake): ours, not the caller's.
    if (options.verify == Verify::chain_and_name) gnutls_session_set_verify_cert(session_, server_name_.c_str(), 0);
    gnutls_session_set_ptr(session_, this);
    gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_POST,
                                       [](gnutls_session_t s, unsigned, unsigned, unsigned incoming,
                                          const gnutls_datum_t*) {
                                         if (incoming) ++static_cast<GnuTlsSession*>(gnutls_session_get_ptr(s))->sessions_;
                                         return 0;
                                       });
  }
  ~GnuTlsSession() override {
    gnutls_deinit(session_);
    gnutls_certificate_free_credentials(credentials_);
  }

  Result handshake() override {
    int rc = gnutls_handshake(session_);
    if (rc == 0) return {.kind = Result::Kind::data, .code = "0"};
    return status(rc);
  }

  Result read(std::span<std::byte> out) override {
    ssize_t rc = gnutls_record_recv(session_, out.data(), out.size());
    if (rc > 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    if (rc == 0) return {.code = "0"};  // "the peer has terminated the TLS connection" (close_notify)
    return status(static_cast<int>(rc));
  }

  Result write(std::span<const std::byte> plaintext) override {
    ssize_t rc = gnutls_record_send(session_, plaintext.data(), plaintext.size());
    if (rc > 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    return status(static_cast<int>(rc));
  }

  Result shutdown() override {
    int rc = gnutls_bye(session_, GNUTLS_SHUT_WR);
    if (rc == 0) return {.kind = Result::Kind::data, .code = "0"};
    return status(rc);
  }

  Pending pending() const override { return {.plaintext = gnutls_record_check_pending(session_), .records = {}}; }

  int sessions_surfaced() const override { return sessions_; }

  std::string verification() const override {
    if (verify_ == Verify::library_default) return {};  // nothing asked GnuTLS to verify
    return status_names(gnutls_session_get_verify_cert_status(session_));
  }

 private:
  static ssize_t push(gnutls_transport_ptr_t self, const void* data, size_t len) {
    static_cast<GnuTlsSession*>(self)->socket_.send(std::as_bytes(std::span(static_cast<const char*>(data), len)));
    return static_cast<ssize_t>(len);
  }

  static ssize_t pull(gnutls_transport_ptr_t self, void* data, size_t len) {
    auto* me = static_cast<GnuTlsSession*>(self);
    auto r = me->socket_.receive(std::as_writable_bytes(std::span(static_cast<char*>(data), len)));
    switch (r.answer) {
      case Socket::Answer::data: return static_cast<ssize_t>(r.bytes);
      case Socket::Answer::eof:
      case Socket::Answer::zero: return 0;
      case Socket::Answer::would_block: return me->fail(EAGAIN);
      case Socket::Answer::reset: return me->fail(ECONNRESET);
    }
    return 0;
  }

  // Readable now (1) or not (0); GnuTLS asks before some reads.
  static int pull_timeout(gnutls_transport_ptr_t self, unsigned int) {
    const Socket& socket = static_cast<GnuTlsSession*>(self)->socket_;
    return socket.unread() > 0 || socket.ended() != TransportEnd::none ? 1 : 0;
  }

  ssize_t fail(int e) {
    errno = e;
    gnutls_transport_set_errno(session_, e);
    return -1;
  }

  Result status(int rc) {
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) return {.kind = Result::Kind::would_block, .code = error_name(rc)};
    std::string code = error_name(rc);
    if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED)
      if (const char* alert = gnutls_alert_get_name(gnutls_alert_get(session_))) code += " (" + std::string(alert) + ")";
    return {.code = code};
  }

  Socket& socket_;
  Verify verify_;
  std::string server_name_;
  gnutls_certificate_credentials_t credentials_ = nullptr;
  gnutls_session_t session_ = nullptr;
  int sessions_ = 0;
};

}  // namespace

const Library& gnutls() {
  static const Library library{
      .name = "gnutls",
      .title = "GnuTLS",
      .version = [] { return "GnuTLS " + std::string(gnutls_check_version(nullptr)); },
      .supports = [](TlsVersion) { return true; },
      .read_call = "gnutls_record_recv",
      .pending_calls = "gnutls_record_check_pending",
      .verify_calls = {"no gnutls_session_set_verify_cert call", "gnutls_session_set_verify_cert(NULL)",
                       "gnutls_session_set_verify_cert(hostname)"},
      .create = [](const Options& options, Socket& socket) -> std::unique_ptr<Session> {
        return std::make_unique<GnuTlsSession>(options, socket);
      },
  };
  return library;
}

}  // namespace lastbyte::conformance::native
