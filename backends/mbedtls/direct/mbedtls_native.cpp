// Mbed TLS 2.28 (TLS 1.2 only), driven natively: mbedtls_ssl_set_bio with a
// receive callback that returns 0 at EOF (what mbedtls_net_recv returns),
// MBEDTLS_ERR_NET_CONN_RESET on a reset and MBEDTLS_ERR_SSL_WANT_READ when
// nothing has arrived.
#include "mbedtls_direct.hpp"
#include "native.hpp"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <cstdio>
#include <stdexcept>

namespace lastbyte::conformance::native {
namespace {

#define LASTBYTE_NAMED(code) {code, #code}

std::string error_name(int rc) {
  struct Named {
    int code;
    const char* name;
  };
  static constexpr Named names[] = {
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_CONN_EOF),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY),
      LASTBYTE_NAMED(MBEDTLS_ERR_NET_CONN_RESET),
      LASTBYTE_NAMED(MBEDTLS_ERR_NET_RECV_FAILED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_WANT_READ),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_WANT_WRITE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_INVALID_MAC),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_INVALID_RECORD),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_UNEXPECTED_RECORD),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_NON_FATAL),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE),
      LASTBYTE_NAMED(MBEDTLS_ERR_X509_CERT_VERIFY_FAILED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_SERVER_HELLO),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_FINISHED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_HS_NEW_SESSION_TICKET),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_INPUT_DATA),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_FEATURE_UNAVAILABLE),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_INTERNAL_ERROR),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_ALLOC_FAILED),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_COUNTER_WRAPPING),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_CLIENT_RECONNECT),
      LASTBYTE_NAMED(MBEDTLS_ERR_SSL_BAD_CONFIG),
  };
  for (const auto& n : names)
    if (n.code == rc) return n.name;
  char text[128], hex[16];
  mbedtls_strerror(rc, text, sizeof text);
  std::snprintf(hex, sizeof hex, "-0x%04x", static_cast<unsigned>(-rc));
  return std::string(hex) + " (" + text + ")";
}

std::string flag_names(std::uint32_t flags) {
  struct Named {
    std::uint32_t flag;
    const char* name;
  };
  static constexpr Named names[] = {
      LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_EXPIRED),   LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_CN_MISMATCH),
      LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_NOT_TRUSTED), LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_MISSING),
      LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_SKIP_VERIFY), LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_OTHER),
      LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_FUTURE),    LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_KEY_USAGE),
      LASTBYTE_NAMED(MBEDTLS_X509_BADCERT_EXT_KEY_USAGE),
  };
  if (flags == 0) return "verify flags 0";
  if (flags == 0xffffffffu) return "not verified";
  std::string out;
  for (const auto& n : names)
    if (flags & n.flag) out += (out.empty() ? "" : "|") + std::string(n.name);
  return out.empty() ? "verify flags " + std::to_string(flags) : out;
}

#undef LASTBYTE_NAMED

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + " failed: " + error_name(rc));
}

void check(direct::mbedtls::Refusal refusal) { check(refusal.rc, refusal.call); }

class MbedTlsSession final : public Session {
 public:
  MbedTlsSession(const Options& options, Socket& socket) : socket_(socket) {
    mbedtls_ssl_init(&ssl_);
    bool client = options.role == Role::client;
    check(config_.setup(!client));
    if (client) {
      check(config_.trust(options.ca_pem));
      // The default for a client is already VERIFY_REQUIRED; the opt-in says so.
      if (options.verify != Verify::library_default)
        mbedtls_ssl_conf_authmode(&config_.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    } else {
      check(config_.identity(options.cert_pem, options.key_pem));
    }
    check(mbedtls_ssl_setup(&ssl_, &config_.conf), "mbedtls_ssl_setup");
    mbedtls_ssl_set_bio(&ssl_, this, send, receive, nullptr);
    // Sets SNI and the name checked: 2.28 has no call for one without the other.
    if (client && options.verify == Verify::chain_and_name)
      check(mbedtls_ssl_set_hostname(&ssl_, options.server_name.c_str()), "mbedtls_ssl_set_hostname");
  }
  ~MbedTlsSession() override {
    mbedtls_ssl_free(&ssl_);
  }

  Result handshake() override {
    int rc = mbedtls_ssl_handshake(&ssl_);
    if (rc == 0) return {.kind = Result::Kind::data, .code = "0"};
    return status(rc);
  }

  Result read(std::span<std::byte> out) override {
    int rc = mbedtls_ssl_read(&ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size());
    if (rc > 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    if (rc == 0) return {.code = "0"};  // its documentation: "0 for EOF"
    return status(rc);
  }

  Result write(std::span<const std::byte> plaintext) override {
    int rc = mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size());
    if (rc >= 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    return status(rc);
  }

  Result shutdown() override {
    int rc = mbedtls_ssl_close_notify(&ssl_);
    if (rc == 0) return {.kind = Result::Kind::data, .code = "0"};
    return status(rc);
  }

  Pending pending() const override {
    return {.plaintext = mbedtls_ssl_get_bytes_avail(&ssl_), .records = mbedtls_ssl_check_pending(&ssl_) != 0};
  }

  int sessions_surfaced() const override { return 0; }  // 2.28 has no callback for them

  std::string verification() const override {
    if (ssl_.conf->endpoint != MBEDTLS_SSL_IS_CLIENT) return {};
    return flag_names(mbedtls_ssl_get_verify_result(&ssl_));
  }

 private:
  static int send(void* self, const unsigned char* data, std::size_t len) {
    static_cast<MbedTlsSession*>(self)->socket_.send(std::as_bytes(std::span(data, len)));
    return static_cast<int>(len);
  }

  static int receive(void* self, unsigned char* data, std::size_t len) {
    auto r = static_cast<MbedTlsSession*>(self)->socket_.receive(std::as_writable_bytes(std::span(data, len)));
    switch (r.answer) {
      case Socket::Answer::data: return static_cast<int>(r.bytes);
      case Socket::Answer::would_block: return MBEDTLS_ERR_SSL_WANT_READ;
      case Socket::Answer::eof:
      case Socket::Answer::zero: return 0;
      case Socket::Answer::reset: return MBEDTLS_ERR_NET_CONN_RESET;
    }
    return 0;
  }

  Result status(int rc) {
    if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
      return {.kind = Result::Kind::would_block, .code = error_name(rc)};
    std::string code = error_name(rc);
    if (rc == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) code += " (alert " + std::to_string(ssl_.in_msg[1]) + ")";
    return {.code = code};
  }

  Socket& socket_;
  direct::mbedtls::Config config_;  // before ssl_, which points at it
  mbedtls_ssl_context ssl_;
};

}  // namespace

const Library& mbedtls() {
  static const Library library{
      .name = "mbedtls",
      .title = "Mbed TLS",
      .version =
          [] {
            char version[18];
            mbedtls_version_get_string_full(version);
            return std::string(version);
          },
      .supports = [](TlsVersion v) { return v == TlsVersion::tls1_2; },
      .read_call = "mbedtls_ssl_read",
      .pending_calls = "mbedtls_ssl_get_bytes_avail / mbedtls_ssl_check_pending",
      .verify_calls = {"no authmode call (client default: VERIFY_REQUIRED)", "MBEDTLS_SSL_VERIFY_REQUIRED",
                       "MBEDTLS_SSL_VERIFY_REQUIRED + mbedtls_ssl_set_hostname"},
      .create = [](const Options& options, Socket& socket) -> std::unique_ptr<Session> {
        return std::make_unique<MbedTlsSession>(options, socket);
      },
  };
  return library;
}

}  // namespace lastbyte::conformance::native
