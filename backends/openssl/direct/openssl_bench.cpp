// OpenSSL 3 used directly: SSL_CTX per side, a BIO pair between the two SSL
// objects, SSL_write_ex / SSL_read_ex. The configuration mirrors what the
// lastbyte adapter sets (versions, suite, verification with host name,
// tickets, no renegotiation), so the two differ only in the layer.
#include "openssl_direct.hpp"
#include "pipes.hpp"

#include <openssl/evp.h>

namespace lastbyte::bench {
namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using SessionPtr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;

constexpr std::size_t bio_pair_buffer = 80 * 1024;  // holds a 64 KiB write's records

// release_buffers: SSL_MODE_RELEASE_BUFFERS, which nginx sets: OpenSSL frees
// its read and write buffers whenever they drain (and allocates them per
// record again).
CtxPtr make_ctx(const Suite& suite, bool server, bool release_buffers) {
  CtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()), SSL_CTX_free);
  direct::openssl::pin_suite(ctx.get(), suite.version, suite.iana);
  if (release_buffers) SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  direct::openssl::load_test_pki(ctx.get(), server);
  if (server) {
    static constexpr unsigned char sid_context[] = "bench";
    SSL_CTX_set_session_id_context(ctx.get(), sid_context, sizeof sid_context - 1);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  }
  return ctx;
}

bool want(SSL* ssl, int rc) {
  int e = SSL_get_error(ssl, rc);
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

class OpenSslPipe final : public Pipe {
 public:
  OpenSslPipe(SSL* client, SSL* server) : client_(client), server_(server) {
    BIO *client_bio = nullptr, *server_bio = nullptr;
    BIO_new_bio_pair(&client_bio, bio_pair_buffer, &server_bio, bio_pair_buffer);
    SSL_set_bio(client_, client_bio, client_bio);
    SSL_set_bio(server_, server_bio, server_bio);
  }
  ~OpenSslPipe() override {
    // Closed as far as OpenSSL is concerned: SSL_free() of a connection that
    // never shut down marks its session not resumable.
    SSL_set_shutdown(client_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(client_);
    SSL_free(server_);
  }

  bool handshake() {
    for (int round = 0; round < 8; ++round) {
      int c = SSL_do_handshake(client_), s = SSL_do_handshake(server_);
      if (c == 1 && s == 1) break;
      if ((c != 1 && !want(client_, c)) || (s != 1 && !want(server_, s))) return false;
    }
    // Process the tickets as an application's first read would.
    unsigned char scratch[64];
    size_t n = 0;
    return SSL_read_ex(client_, scratch, sizeof scratch, &n) == 0 && want(client_, 0) &&
           SSL_is_init_finished(client_) && SSL_is_init_finished(server_);
  }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(client_, server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(server_, client_, data, sink);
  }

  bool resumed() const override { return SSL_session_reused(client_) == 1; }
  std::string negotiated_cipher() const override { return SSL_CIPHER_standard_name(SSL_get_current_cipher(client_)); }
  SSL* client() { return client_; }
  std::size_t transport_bytes() const override { return 2 * bio_pair_buffer; }

 private:
  static bool transfer(SSL* from, SSL* to, std::span<const std::byte> data, std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    while (got < data.size()) {
      if (written < data.size()) {
        size_t w = 0;
        if (SSL_write_ex(from, data.data() + written, data.size() - written, &w) == 1) written += w;
        else if (!want(from, 0)) return false;
      }
      for (size_t r = 0; got < sink.size() && SSL_read_ex(to, sink.data() + got, sink.size() - got, &r) == 1;)
        got += r;
      if (got < data.size() && !want(to, 0)) return false;
    }
    return true;
  }

  SSL* client_;
  SSL* server_;
};

class OpenSslFactory final : public PipeFactory {
 public:
  OpenSslFactory(const Suite& suite, bool release_buffers)
      : client_(make_ctx(suite, false, release_buffers)), server_(make_ctx(suite, true, release_buffers)) {}

  std::unique_ptr<Pipe> connect(bool resume) override {
    SSL* client = SSL_new(client_.get());
    SSL* server = SSL_new(server_.get());
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    SSL_set_tlsext_host_name(client, std::string(server_name).c_str());
    SSL_set1_host(client, std::string(server_name).c_str());
    if (resume && session_) SSL_set_session(client, session_.get());
    auto pipe = std::make_unique<OpenSslPipe>(client, server);
    if (!pipe->handshake()) return nullptr;
    if (SSL_SESSION* session = SSL_get1_session(pipe->client())) session_.reset(session);
    return pipe;
  }

 private:
  CtxPtr client_, server_;
  SessionPtr session_{nullptr, SSL_SESSION_free};
};

const Register registered({"openssl", "direct", [](TlsVersion) { return true; },
                           [](const Suite& suite) { return std::make_unique<OpenSslFactory>(suite, false); }});
// OpenSSL's release mode: the memory and request/response benchmarks compare it.
const Register release_buffers({"openssl", "direct_release_buffers", [](TlsVersion) { return true; },
                                [](const Suite& suite) { return std::make_unique<OpenSslFactory>(suite, true); }});

// EVP, as OpenSSL's own record layer seals and opens: one context per
// direction keyed once, the nonce set per record.
class OpenSslAead final : public Aead {
 public:
  OpenSslAead(const Suite& suite, std::span<const std::byte> key) {
    const EVP_CIPHER* cipher = is_chacha20(suite) ? EVP_chacha20_poly1305() : EVP_aes_128_gcm();
    const unsigned char* k = u8(key.data());
    ok_ = EVP_EncryptInit_ex(sealer_.get(), cipher, nullptr, k, nullptr) == 1 &&
          EVP_DecryptInit_ex(opener_.get(), cipher, nullptr, k, nullptr) == 1;
  }
  bool ok() const { return ok_; }

  bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> plaintext, std::span<std::byte> sealed) override {
    EVP_CIPHER_CTX* c = sealer_.get();
    auto* out = u8(sealed.data());
    int n = 0, tail = 0;
    return EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, u8(nonce.data())) == 1 &&
           EVP_EncryptUpdate(c, nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) == 1 &&
           EVP_EncryptUpdate(c, out, &n, u8(plaintext.data()), static_cast<int>(plaintext.size())) == 1 &&
           EVP_EncryptFinal_ex(c, out + n, &tail) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, tag_size, out + plaintext.size()) == 1;
  }

  bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> sealed, std::span<std::byte> plaintext) override {
    EVP_CIPHER_CTX* c = opener_.get();
    auto* out = u8(plaintext.data());
    std::size_t body = sealed.size() - tag_size;
    // EVP_CTRL_AEAD_SET_TAG takes a non-const pointer to what it only reads.
    auto* tag = const_cast<unsigned char*>(u8(sealed.data() + body));
    int n = 0, tail = 0;
    return EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, u8(nonce.data())) == 1 &&
           EVP_DecryptUpdate(c, nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) == 1 &&
           EVP_DecryptUpdate(c, out, &n, u8(sealed.data()), static_cast<int>(body)) == 1 &&
           EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tag_size, tag) == 1 &&
           EVP_DecryptFinal_ex(c, out + n, &tail) == 1;
  }

 private:
  using CipherPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
  CipherPtr sealer_{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free}, opener_{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free};
  bool ok_ = false;
};

const RegisterAead aead({"openssl", [](TlsVersion) { return true; },
                         keyed<OpenSslAead>});

}  // namespace
}  // namespace lastbyte::bench
