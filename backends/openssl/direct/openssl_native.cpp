// OpenSSL 3, driven natively: a custom BIO shaped like BIO_s_socket (EOF:
// read fails without the retry flag and BIO_eof() turns true; reset: read
// fails with errno ECONNRESET; nothing yet: the retry flag).
#include "native.hpp"
#include "openssl_direct.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <stdexcept>

namespace lastbyte::conformance::native {
namespace {

std::string reason_of_last_error() {
  unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  return reason ? reason : "no reason in the error queue";
}

std::string errno_name(int e) {
  switch (e) {
    case 0: return "errno 0";
    case ECONNRESET: return "errno ECONNRESET";
    case EPIPE: return "errno EPIPE";
    default: return "errno " + std::to_string(e);
  }
}

std::string verify_name(long result) {
  switch (result) {
    case X509_V_OK: return "X509_V_OK";
    case X509_V_ERR_HOSTNAME_MISMATCH: return "X509_V_ERR_HOSTNAME_MISMATCH";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT: return "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT";
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "X509_V_ERR_CERT_HAS_EXPIRED";
    case X509_V_ERR_INVALID_PURPOSE: return "X509_V_ERR_INVALID_PURPOSE";
    default: return X509_verify_cert_error_string(result);
  }
}

// ---- the BIO ----------------------------------------------------------------

struct BioState {
  Socket* socket = nullptr;
  bool eof = false;  // what BIO_s_socket keeps in BIO_FLAGS_IN_EOF
};

int bio_read(BIO* bio, char* data, size_t len, size_t* read) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  auto r = state->socket->receive(std::as_writable_bytes(std::span(data, len)));
  *read = r.bytes;
  switch (r.answer) {
    case Socket::Answer::data: return 1;
    case Socket::Answer::would_block: BIO_set_retry_read(bio); return 0;
    case Socket::Answer::eof: state->eof = true; return 0;
    case Socket::Answer::reset: errno = ECONNRESET; return 0;
    case Socket::Answer::zero: return 0;  // no retry flag, not at EOF: what a callback returning 0 says
  }
  return 0;
}

int bio_write(BIO* bio, const char* data, size_t len, size_t* written) {
  static_cast<BioState*>(BIO_get_data(bio))->socket->send(std::as_bytes(std::span(data, len)));
  *written = len;
  return 1;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  // OpenSSL tells "unexpected eof" from other failed reads by asking this.
  if (cmd == BIO_CTRL_EOF) return static_cast<BioState*>(BIO_get_data(bio))->eof ? 1 : 0;
  return 0;
}

const BIO_METHOD* socket_like_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lastbyte-native-socket");
    BIO_meth_set_read_ex(m, bio_read);
    BIO_meth_set_write_ex(m, bio_write);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

// ---- the session --------------------------------------------------------------

void check(int ok, const char* what) {
  if (ok != 1) throw std::runtime_error(std::string(what) + " failed: " + reason_of_last_error());
}

class OpenSslSession final : public Session {
 public:
  OpenSslSession(const Options& options, Socket& socket) {
    state_.socket = &socket;
    bool client = options.role == Role::client;
    ctx_ = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
    if (!ctx_) throw std::runtime_error("SSL_CTX_new failed");
    direct::openssl::pin_version(ctx_, options.version);
    if (client) {
      direct::openssl::load_trust(ctx_, options.ca_pem);
      if (options.verify != Verify::library_default) SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(ctx_, [](SSL* ssl, SSL_SESSION*) {
        ++static_cast<OpenSslSession*>(SSL_get_app_data(ssl))->sessions_;
        return 0;  // no reference kept
      });
    } else {
      if (const char* refused = direct::openssl::load_identity(ctx_, options.cert_pem, options.key_pem))
        check(0, refused);
    }
    ssl_ = SSL_new(ctx_);
    if (!ssl_) throw std::runtime_error("SSL_new failed");
    SSL_set_app_data(ssl_, this);
    BIO* bio = BIO_new(socket_like_method());
    BIO_set_data(bio, &state_);
    SSL_set_bio(ssl_, bio, bio);
    if (!client) {
      SSL_set_accept_state(ssl_);
      return;
    }
    SSL_set_connect_state(ssl_);
    check(static_cast<int>(SSL_set_tlsext_host_name(ssl_, options.server_name.c_str())), "SSL_set_tlsext_host_name");
    if (options.verify == Verify::chain_and_name) check(SSL_set1_host(ssl_, options.server_name.c_str()), "SSL_set1_host");
  }
  ~OpenSslSession() override {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  Result handshake() override {
    prepare();
    int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return {.kind = Result::Kind::data, .code = "1"};
    return status(rc);
  }

  Result read(std::span<std::byte> out) override {
    prepare();
    size_t n = 0;
    if (SSL_read_ex(ssl_, out.data(), out.size(), &n) == 1) return {.kind = Result::Kind::data, .bytes = n};
    return status(0);
  }

  Result write(std::span<const std::byte> plaintext) override {
    prepare();
    size_t n = 0;
    if (SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &n) == 1) return {.kind = Result::Kind::data, .bytes = n};
    return status(0);
  }

  Result shutdown() override {
    prepare();
    int rc = SSL_shutdown(ssl_);
    if (rc >= 0) return {.kind = Result::Kind::data, .code = std::to_string(rc)};
    return status(rc);
  }

  Pending pending() const override {
    return {.plaintext = static_cast<std::size_t>(SSL_pending(ssl_)), .records = SSL_has_pending(ssl_) == 1};
  }

  int sessions_surfaced() const override { return sessions_; }

  std::string verification() const override {
    // OpenSSL verifies the chain whatever the verify mode and keeps the result.
    return SSL_is_server(ssl_) ? std::string() : verify_name(SSL_get_verify_result(ssl_));
  }

 private:
  // SSL_get_error() needs an empty error queue; errno is read after a SYSCALL error.
  static void prepare() {
    ERR_clear_error();
    errno = 0;
  }

  Result status(int rc) {
    int saved_errno = errno;
    switch (int e = SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ: return {.kind = Result::Kind::would_block, .code = "SSL_ERROR_WANT_READ"};
      case SSL_ERROR_WANT_WRITE: return {.kind = Result::Kind::would_block, .code = "SSL_ERROR_WANT_WRITE"};
      case SSL_ERROR_ZERO_RETURN: return {.code = "SSL_ERROR_ZERO_RETURN"};
      case SSL_ERROR_SSL: return {.code = "SSL_ERROR_SSL \"" + reason_of_last_error() + "\""};
      case SSL_ERROR_SYSCALL: return {.code = "SSL_ERROR_SYSCALL (" + errno_name(saved_errno) + ")"};
      default: return {.code = "SSL_get_error " + std::to_string(e)};
    }
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BioState state_;
  int sessions_ = 0;
};

}  // namespace

const Library& openssl() {
  static const Library library{
      .name = "openssl",
      .title = "OpenSSL",
      .version = [] { return std::string(OpenSSL_version(OPENSSL_VERSION)); },
      .supports = [](TlsVersion) { return true; },
      .read_call = "SSL_read_ex",
      .pending_calls = "SSL_pending / SSL_has_pending",
      .verify_calls = {"no verify call (SSL_VERIFY_NONE)", "SSL_VERIFY_PEER", "SSL_VERIFY_PEER + SSL_set1_host"},
      .create = [](const Options& options, Socket& socket) -> std::unique_ptr<Session> {
        return std::make_unique<OpenSslSession>(options, socket);
      },
  };
  return library;
}

}  // namespace lastbyte::conformance::native
