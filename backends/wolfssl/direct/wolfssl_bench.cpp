// wolfSSL 5.5 used directly: one WOLFSSL_CTX per side, I/O callbacks over
// in-memory queues, wolfSSL_write / wolfSSL_read. Mirrors the lastbyte
// adapter's configuration (version-pinned methods, suite, verification with
// host name, tickets).
#include "memory_queue.hpp"
#include "pipes.hpp"
#include "wolfssl_direct.hpp"

#include <lastbyte/testing/pki.hpp>

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/chacha20_poly1305.h>

#include <cstring>

namespace lastbyte::bench {
namespace {

struct Ends {
  MemoryQueue* out;
  MemoryQueue* in;
};

int queue_send(WOLFSSL*, char* data, int n, void* ends) {
  static_cast<Ends*>(ends)->out->write(data, static_cast<std::size_t>(n));
  return n;
}

int queue_recv(WOLFSSL*, char* out, int n, void* ends) {
  std::size_t got = static_cast<Ends*>(ends)->in->read(out, static_cast<std::size_t>(n));
  return got > 0 ? static_cast<int>(got) : WOLFSSL_CBIO_ERR_WANT_READ;
}

WOLFSSL_CTX* make_ctx(const Suite& suite, bool server) {
  WOLFSSL_CTX* ctx = direct::wolfssl::new_context(server, suite.version);
  wolfSSL_CTX_set_cipher_list(ctx, std::string(suite.iana).c_str());
  wolfSSL_CTX_SetIORecv(ctx, queue_recv);
  wolfSSL_CTX_SetIOSend(ctx, queue_send);
  const auto& pki = testing::test_pki();
  if (server) {
    direct::wolfssl::load_identity(ctx, pki.server.cert_pem, pki.server.key_pem);
    static constexpr unsigned char sid_context[] = "bench";
    wolfSSL_CTX_set_session_id_context(ctx, sid_context, sizeof sid_context - 1);
  } else {
    direct::wolfssl::load_trust(ctx, pki.ca.cert_pem);
    wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, nullptr);
    wolfSSL_CTX_UseSessionTicket(ctx);
  }
  return ctx;
}

bool pending(WOLFSSL* ssl, int rc) {
  int e = wolfSSL_get_error(ssl, rc);
  return e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE;
}

class WolfSslPipe final : public Pipe {
 public:
  WolfSslPipe(WOLFSSL_CTX* client_ctx, WOLFSSL_CTX* server_ctx)
      : client_(wolfSSL_new(client_ctx)), server_(wolfSSL_new(server_ctx)) {
    wolfSSL_SetIOReadCtx(client_, &client_ends_);
    wolfSSL_SetIOWriteCtx(client_, &client_ends_);
    wolfSSL_SetIOReadCtx(server_, &server_ends_);
    wolfSSL_SetIOWriteCtx(server_, &server_ends_);
    std::string name(server_name);
    wolfSSL_UseSNI(client_, WOLFSSL_SNI_HOST_NAME, name.data(), static_cast<unsigned short>(name.size()));
    wolfSSL_check_domain_name(client_, name.c_str());
  }
  ~WolfSslPipe() override {
    wolfSSL_free(client_);
    wolfSSL_free(server_);
  }

  WOLFSSL* client() { return client_; }

  bool handshake() {
    for (int round = 0; round < 16; ++round) {
      int c = wolfSSL_connect(client_), s = wolfSSL_accept(server_);
      if (c == WOLFSSL_SUCCESS && s == WOLFSSL_SUCCESS) break;
      if ((c != WOLFSSL_SUCCESS && !pending(client_, c)) || (s != WOLFSSL_SUCCESS && !pending(server_, s))) return false;
    }
    // Process the tickets as an application's first read would.
    char scratch[64];
    int rc = wolfSSL_read(client_, scratch, sizeof scratch);
    return rc < 0 && pending(client_, rc);
  }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(client_, server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(server_, client_, data, sink);
  }

  std::size_t transport_bytes() const override { return to_server_.capacity() + to_client_.capacity(); }
  bool resumed() const override { return wolfSSL_session_reused(client_) == 1; }
  std::string negotiated_cipher() const override {
    int suite = wolfSSL_get_current_cipher_suite(client_);
    const char* name = wolfSSL_get_cipher_name_iana_from_suite(static_cast<unsigned char>(suite >> 8),
                                                                static_cast<unsigned char>(suite & 0xff));
    return name ? name : "";
  }

 private:
  static bool transfer(WOLFSSL* from, WOLFSSL* to, std::span<const std::byte> data, std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    while (got < data.size()) {
      if (written < data.size()) {
        int w = wolfSSL_write(from, data.data() + written, static_cast<int>(data.size() - written));
        if (w > 0) written += static_cast<std::size_t>(w);
        else if (!pending(from, w)) return false;
      }
      int r;
      while (got < sink.size() && (r = wolfSSL_read(to, sink.data() + got, static_cast<int>(sink.size() - got))) > 0)
        got += static_cast<std::size_t>(r);
    }
    return true;
  }

  WOLFSSL* client_;
  WOLFSSL* server_;
  MemoryQueue to_server_, to_client_;
  Ends client_ends_{&to_server_, &to_client_}, server_ends_{&to_client_, &to_server_};
};

class WolfSslFactory final : public PipeFactory {
 public:
  explicit WolfSslFactory(const Suite& suite) : client_(make_ctx(suite, false)), server_(make_ctx(suite, true)) {}
  ~WolfSslFactory() override {
    if (session_) wolfSSL_SESSION_free(session_);
    wolfSSL_CTX_free(client_);
    wolfSSL_CTX_free(server_);
  }

  std::unique_ptr<Pipe> connect(bool resume) override {
    auto pipe = std::make_unique<WolfSslPipe>(client_, server_);
    if (resume && session_) wolfSSL_set_session(pipe->client(), session_);
    if (!pipe->handshake()) return nullptr;
    if (WOLFSSL_SESSION* session = wolfSSL_get1_session(pipe->client())) {
      if (session_) wolfSSL_SESSION_free(session_);
      session_ = session;
    }
    return pipe;
  }

 private:
  WOLFSSL_CTX* client_;
  WOLFSSL_CTX* server_;
  WOLFSSL_SESSION* session_ = nullptr;
};

const Register registered({"wolfssl", "direct", [](TlsVersion) { return true; },
                           [](const Suite& suite) { return std::make_unique<WolfSslFactory>(suite); }});

// wolfCrypt's AEAD calls: AES-GCM with one keyed Aes per direction, as the
// record layer keeps them; ChaCha20-Poly1305 through its one-shot functions,
// which take the key on every call.
class WolfSslAead final : public Aead {
 public:
  WolfSslAead(const Suite& suite, std::span<const std::byte> key) : chacha20_(is_chacha20(suite)) {
    if (chacha20_) {
      ok_ = key.size() == sizeof chacha_key_;
      if (ok_) std::memcpy(chacha_key_, key.data(), key.size());
      return;
    }
    ok_ = wc_AesInit(&sealer_, nullptr, INVALID_DEVID) == 0 && wc_AesInit(&opener_, nullptr, INVALID_DEVID) == 0 &&
          wc_AesGcmSetKey(&sealer_, u8(key.data()), static_cast<word32>(key.size())) == 0 &&
          wc_AesGcmSetKey(&opener_, u8(key.data()), static_cast<word32>(key.size())) == 0;
    aes_initialised_ = true;
  }
  ~WolfSslAead() override {
    if (!aes_initialised_) return;
    wc_AesFree(&sealer_);
    wc_AesFree(&opener_);
  }
  bool ok() const { return ok_; }

  bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> plaintext, std::span<std::byte> sealed) override {
    auto size = static_cast<word32>(plaintext.size());
    byte* tag = u8(sealed.data() + plaintext.size());
    if (chacha20_)
      return wc_ChaCha20Poly1305_Encrypt(chacha_key_, u8(nonce.data()), u8(aad.data()), static_cast<word32>(aad.size()),
                                         u8(plaintext.data()), size, u8(sealed.data()), tag) == 0;
    return wc_AesGcmEncrypt(&sealer_, u8(sealed.data()), u8(plaintext.data()), size, u8(nonce.data()), nonce_size, tag,
                            tag_size, u8(aad.data()), static_cast<word32>(aad.size())) == 0;
  }

  bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> sealed, std::span<std::byte> plaintext) override {
    auto size = static_cast<word32>(sealed.size() - tag_size);
    const byte* tag = u8(sealed.data() + size);
    if (chacha20_)
      return wc_ChaCha20Poly1305_Decrypt(chacha_key_, u8(nonce.data()), u8(aad.data()), static_cast<word32>(aad.size()),
                                         u8(sealed.data()), size, tag, u8(plaintext.data())) == 0;
    return wc_AesGcmDecrypt(&opener_, u8(plaintext.data()), u8(sealed.data()), size, u8(nonce.data()), nonce_size, tag,
                            tag_size, u8(aad.data()), static_cast<word32>(aad.size())) == 0;
  }

 private:
  bool chacha20_;
  bool ok_ = false, aes_initialised_ = false;
  Aes sealer_{}, opener_{};
  byte chacha_key_[CHACHA20_POLY1305_AEAD_KEYSIZE]{};
};

const RegisterAead aead({"wolfssl", [](TlsVersion) { return true; }, keyed<WolfSslAead>});

}  // namespace
}  // namespace lastbyte::bench
