// wolfSSL 5.5, driven natively: I/O callbacks that answer
// WOLFSSL_CBIO_ERR_CONN_CLOSE at EOF, WOLFSSL_CBIO_ERR_CONN_RST on a reset
// and WOLFSSL_CBIO_ERR_WANT_READ when nothing has arrived (what its own
// socket callbacks return for recv() = 0, ECONNRESET and EAGAIN).
#include "native.hpp"
#include "wolfssl_direct.hpp"  // <wolfssl/options.h> first, then <wolfssl/ssl.h>

#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdexcept>

namespace lastbyte::conformance::native {
namespace {

#define LASTBYTE_NAMED(code) {code, #code}

std::string error_name(int code) {
  struct Named {
    int code;
    const char* name;
  };
  static constexpr Named names[] = {
      LASTBYTE_NAMED(WOLFSSL_ERROR_ZERO_RETURN),  LASTBYTE_NAMED(WOLFSSL_ERROR_SYSCALL),
      LASTBYTE_NAMED(WOLFSSL_ERROR_WANT_READ),    LASTBYTE_NAMED(WOLFSSL_ERROR_WANT_WRITE),
      LASTBYTE_NAMED(WOLFSSL_ERROR_SSL),          LASTBYTE_NAMED(SOCKET_PEER_CLOSED_E),
      LASTBYTE_NAMED(SOCKET_ERROR_E),             LASTBYTE_NAMED(SOCKET_NODATA),
      LASTBYTE_NAMED(ZERO_RETURN),                LASTBYTE_NAMED(FATAL_ERROR),
      LASTBYTE_NAMED(VERIFY_MAC_ERROR),           LASTBYTE_NAMED(DECRYPT_ERROR),
      LASTBYTE_NAMED(AES_GCM_AUTH_E),             LASTBYTE_NAMED(BUFFER_ERROR),
      LASTBYTE_NAMED(UNKNOWN_RECORD_TYPE),        LASTBYTE_NAMED(PARSE_ERROR),
      LASTBYTE_NAMED(VERSION_ERROR),              LASTBYTE_NAMED(RECV_OVERFLOW_E),
      LASTBYTE_NAMED(SANITY_CIPHER_E),            LASTBYTE_NAMED(SANITY_MSG_E),
      LASTBYTE_NAMED(OUT_OF_ORDER_E),             LASTBYTE_NAMED(DUPLICATE_MSG_E),
      LASTBYTE_NAMED(SIDE_ERROR),                 LASTBYTE_NAMED(LENGTH_ERROR),
      LASTBYTE_NAMED(INCOMPLETE_DATA),            LASTBYTE_NAMED(DOMAIN_NAME_MISMATCH),
      LASTBYTE_NAMED(IPADDR_MISMATCH),            LASTBYTE_NAMED(ASN_NO_SIGNER_E),
      LASTBYTE_NAMED(ASN_SELF_SIGNED_E),          LASTBYTE_NAMED(ASN_AFTER_DATE_E),
      LASTBYTE_NAMED(EXTKEYUSE_AUTH_E),           LASTBYTE_NAMED(NO_PEER_CERT),
      LASTBYTE_NAMED(MATCH_SUITE_ERROR),          LASTBYTE_NAMED(INVALID_PARAMETER),
      LASTBYTE_NAMED(BAD_KEY_SHARE_DATA),         LASTBYTE_NAMED(MEMORY_ERROR),
      LASTBYTE_NAMED(SECURE_RENEGOTIATION_E),     LASTBYTE_NAMED(ALERT_COUNT_E),
      LASTBYTE_NAMED(SSL_SHUTDOWN_ALREADY_DONE_E), LASTBYTE_NAMED(DECODE_E),
  };
  for (const auto& n : names)
    if (n.code == code) return n.name;
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
  return "wolfSSL error " + std::to_string(code) + " (" + text + ")";
}

#undef LASTBYTE_NAMED

class WolfSslSession;
WolfSslSession& session_of(WOLFSSL* ssl) { return *static_cast<WolfSslSession*>(wolfSSL_get_app_data(ssl)); }

class WolfSslSession final : public Session {
 public:
  WolfSslSession(const Options& options, Socket& socket) : socket_(socket) {
    direct::wolfssl::release_ecc_cache_at_thread_exit();
    bool client = client_ = options.role == Role::client;
    ctx_ = direct::wolfssl::new_context(!client, options.version);
    if (!ctx_) throw std::runtime_error("wolfSSL_CTX_new failed");
    wolfSSL_CTX_SetIORecv(ctx_, [](WOLFSSL* ssl, char* data, int len, void*) { return session_of(ssl).receive(data, len); });
    wolfSSL_CTX_SetIOSend(ctx_, [](WOLFSSL* ssl, char* data, int len, void*) { return session_of(ssl).send(data, len); });
    if (client) {
      check(direct::wolfssl::load_trust(ctx_, options.ca_pem));
      if (options.verify != Verify::library_default) wolfSSL_CTX_set_verify(ctx_, WOLFSSL_VERIFY_PEER, nullptr);
      wolfSSL_CTX_UseSessionTicket(ctx_);
      wolfSSL_CTX_set_session_cache_mode(ctx_, WOLFSSL_SESS_CACHE_CLIENT);
      wolfSSL_CTX_sess_set_new_cb(ctx_, [](WOLFSSL* ssl, WOLFSSL_SESSION*) {
        ++session_of(ssl).sessions_;
        return 0;  // no reference kept
      });
    } else {
      check(direct::wolfssl::load_identity(ctx_, options.cert_pem, options.key_pem));
    }
    ssl_ = wolfSSL_new(ctx_);
    if (!ssl_) throw std::runtime_error("wolfSSL_new failed");
    wolfSSL_set_app_data(ssl_, this);
    if (!client) {
      wolfSSL_set_accept_state(ssl_);
      return;
    }
    wolfSSL_set_connect_state(ssl_);
    check(wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, options.server_name.data(),
                         static_cast<unsigned short>(options.server_name.size())),
          "wolfSSL_UseSNI");
    if (options.verify == Verify::chain_and_name)
      check(wolfSSL_check_domain_name(ssl_, options.server_name.c_str()), "wolfSSL_check_domain_name");
  }
  ~WolfSslSession() override {
    wolfSSL_free(ssl_);
    wolfSSL_CTX_free(ctx_);
  }

  Result handshake() override {
    int rc = wolfSSL_negotiate(ssl_);
    if (rc == WOLFSSL_SUCCESS) return {.kind = Result::Kind::data, .code = "WOLFSSL_SUCCESS"};
    return status(rc);
  }

  Result read(std::span<std::byte> out) override {
    int rc = wolfSSL_read(ssl_, out.data(), static_cast<int>(out.size()));
    if (rc > 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    return status(rc);
  }

  Result write(std::span<const std::byte> plaintext) override {
    int rc = wolfSSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    if (rc > 0) return {.kind = Result::Kind::data, .bytes = static_cast<std::size_t>(rc)};
    return status(rc);
  }

  Result shutdown() override {
    int rc = wolfSSL_shutdown(ssl_);
    if (rc >= 0 || rc == WOLFSSL_SHUTDOWN_NOT_DONE) return {.kind = Result::Kind::data, .code = std::to_string(rc)};
    return status(rc);
  }

  Pending pending() const override {
    return {.plaintext = static_cast<std::size_t>(wolfSSL_pending(ssl_)), .records = wolfSSL_has_pending(ssl_) == 1};
  }

  int sessions_surfaced() const override { return sessions_; }

  std::string verification() const override {
    if (!client_) return {};
    // OpenSSL's numbering (its compatibility layer), named as OpenSSL names them.
    switch (long result = wolfSSL_get_verify_result(ssl_)) {
      case X509_V_OK: return "X509_V_OK";
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE";
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
      case X509_V_ERR_CERT_HAS_EXPIRED: return "X509_V_ERR_CERT_HAS_EXPIRED";
      default: return "wolfSSL_get_verify_result " + std::to_string(result);
    }
  }

  int receive(char* data, int len) {
    auto r = socket_.receive(std::as_writable_bytes(std::span(data, static_cast<std::size_t>(len))));
    switch (r.answer) {
      case Socket::Answer::data: return static_cast<int>(r.bytes);
      case Socket::Answer::would_block: return WOLFSSL_CBIO_ERR_WANT_READ;
      case Socket::Answer::eof: return WOLFSSL_CBIO_ERR_CONN_CLOSE;
      case Socket::Answer::reset: return WOLFSSL_CBIO_ERR_CONN_RST;
      case Socket::Answer::zero: return 0;
    }
    return 0;
  }

  int send(char* data, int len) {
    socket_.send(std::as_bytes(std::span(data, static_cast<std::size_t>(len))));
    return len;
  }

 private:
  static void check(int rc, const char* what) {
    if (rc != WOLFSSL_SUCCESS) throw std::runtime_error(std::string(what) + " failed: " + error_name(rc));
  }
  static void check(direct::wolfssl::Refusal refusal) {
    if (refusal.call) check(refusal.rc, refusal.call);
  }

  Result status(int rc) {
    int error = wolfSSL_get_error(ssl_, rc);
    if (error == WOLFSSL_ERROR_WANT_READ || error == WOLFSSL_ERROR_WANT_WRITE)
      return {.kind = Result::Kind::would_block, .code = error_name(error)};
    std::string code = error_name(error);
    if (error == FATAL_ERROR) {
      WOLFSSL_ALERT_HISTORY history{};
      wolfSSL_get_alert_history(ssl_, &history);
      code += " (alert " + std::to_string(history.last_rx.code) + ")";
    }
    return {.code = code};
  }

  Socket& socket_;
  WOLFSSL_CTX* ctx_ = nullptr;
  WOLFSSL* ssl_ = nullptr;
  int sessions_ = 0;
  bool client_ = true;
};

}  // namespace

const Library& wolfssl() {
  static const Library library{
      .name = "wolfssl",
      .title = "wolfSSL",
      .version = [] { return "wolfSSL " + std::string(wolfSSL_lib_version()); },
      .supports = [](TlsVersion) { return true; },
      .read_call = "wolfSSL_read",
      .pending_calls = "wolfSSL_pending / wolfSSL_has_pending",
      .verify_calls = {"no wolfSSL_CTX_set_verify call", "WOLFSSL_VERIFY_PEER",
                       "WOLFSSL_VERIFY_PEER + wolfSSL_check_domain_name"},
      .create = [](const Options& options, Socket& socket) -> std::unique_ptr<Session> {
        return std::make_unique<WolfSslSession>(options, socket);
      },
  };
  return library;
}

}  // namespace lastbyte::conformance::native
