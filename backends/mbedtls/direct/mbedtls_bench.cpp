// Mbed TLS 2.28 used directly: one mbedtls_ssl_config per side, bio
// callbacks over in-memory queues, mbedtls_ssl_write / mbedtls_ssl_read.
// Mirrors the lastbyte adapter's configuration (TLS 1.2 only in 2.28).
#include "mbedtls_direct.hpp"
#include "memory_queue.hpp"
#include "pipes.hpp"

#include <lastbyte/testing/pki.hpp>

#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>  // handshake->resume: 2.28 has no public query
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>

namespace lastbyte::bench {
namespace {

// One side's view of the in-memory network (mbedtls_ssl_set_bio takes one context).
struct Ends {
  MemoryQueue* out;
  MemoryQueue* in;
};

int queue_send(void* ends, const unsigned char* data, size_t n) {
  static_cast<Ends*>(ends)->out->write(data, n);
  return static_cast<int>(n);
}

int queue_recv(void* ends, unsigned char* out, size_t n) {
  std::size_t got = static_cast<Ends*>(ends)->in->read(out, n);
  return got > 0 ? static_cast<int>(got) : MBEDTLS_ERR_SSL_WANT_READ;
}

// One side's configuration (mbedtls_direct.hpp), pinned to the suite, with
// tickets and no renegotiation.
struct Side {
  direct::mbedtls::Config config;
  mbedtls_ssl_ticket_context tickets;
  int suites[2] = {0, 0};

  Side(const Suite& suite, bool server) {
    mbedtls_ssl_ticket_init(&tickets);
    config.setup(server);
    mbedtls_ssl_config& conf = config.conf;
    std::string name(suite.iana);
    std::replace(name.begin(), name.end(), '_', '-');
    suites[0] = mbedtls_ssl_get_ciphersuite_id(name.c_str());
    mbedtls_ssl_conf_ciphersuites(&conf, suites);
    mbedtls_ssl_conf_renegotiation(&conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
    const auto& pki = testing::test_pki();
    if (server) {
      config.identity(pki.server.cert_pem, pki.server.key_pem);
      mbedtls_ssl_ticket_setup(&tickets, mbedtls_ctr_drbg_random, &config.drbg, MBEDTLS_CIPHER_AES_256_GCM, 86400);
      mbedtls_ssl_conf_session_tickets_cb(&conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &tickets);
    } else {
      config.trust(pki.ca.cert_pem);
      mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
      mbedtls_ssl_conf_session_tickets(&conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    }
  }
  ~Side() { mbedtls_ssl_ticket_free(&tickets); }
};

bool pending(int rc) { return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE; }

class MbedTlsPipe final : public Pipe {
 public:
  MbedTlsPipe(const Side& client, const Side& server) {
    mbedtls_ssl_init(&client_);
    mbedtls_ssl_init(&server_);
    mbedtls_ssl_setup(&client_, &client.config.conf);
    mbedtls_ssl_setup(&server_, &server.config.conf);
    mbedtls_ssl_set_hostname(&client_, std::string(server_name).c_str());
    mbedtls_ssl_set_bio(&client_, &client_ends_, queue_send, queue_recv, nullptr);
    mbedtls_ssl_set_bio(&server_, &server_ends_, queue_send, queue_recv, nullptr);
  }
  ~MbedTlsPipe() override {
    mbedtls_ssl_free(&client_);
    mbedtls_ssl_free(&server_);
  }

  mbedtls_ssl_context* client() { return &client_; }

  bool handshake() {
    for (int round = 0; round < 16; ++round) {
      int c = client_step(), s = mbedtls_ssl_handshake(&server_);
      if (c == 0 && s == 0) return true;
      if ((c != 0 && !pending(c)) || (s != 0 && !pending(s))) return false;
    }
    return false;
  }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(&client_, &server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(&server_, &client_, data, sink);
  }

  std::size_t transport_bytes() const override { return to_server_.capacity() + to_client_.capacity(); }
  bool resumed() const override { return resumed_; }
  std::string negotiated_cipher() const override {
    std::string name = mbedtls_ssl_get_ciphersuite(&client_);  // IANA with dashes
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  }

 private:
  static bool transfer(mbedtls_ssl_context* from, mbedtls_ssl_context* to, std::span<const std::byte> data,
                       std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    auto* in = reinterpret_cast<const unsigned char*>(data.data());
    auto* out = reinterpret_cast<unsigned char*>(sink.data());
    while (got < data.size()) {
      if (written < data.size()) {
        int w = mbedtls_ssl_write(from, in + written, data.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        else if (!pending(w)) return false;
      }
      int r;
      while (got < sink.size() && (r = mbedtls_ssl_read(to, out + got, sink.size() - got)) > 0)
        got += static_cast<std::size_t>(r);
    }
    return true;
  }

  // 2.28 has no public "resumed" query; its handshake state says so until
  // the handshake is over, so the client is stepped.
  int client_step() {
    while (client_.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
      int rc = mbedtls_ssl_handshake_step(&client_);
      if (client_.handshake && client_.handshake->resume) resumed_ = true;
      if (rc != 0) return rc;
    }
    return 0;
  }

  mbedtls_ssl_context client_, server_;
  MemoryQueue to_server_, to_client_;
  Ends client_ends_{&to_server_, &to_client_}, server_ends_{&to_client_, &to_server_};
  bool resumed_ = false;
};

class MbedTlsFactory final : public PipeFactory {
 public:
  explicit MbedTlsFactory(const Suite& suite) : client_(suite, false), server_(suite, true) {
    mbedtls_ssl_session_init(&session_);
  }
  ~MbedTlsFactory() override { mbedtls_ssl_session_free(&session_); }

  std::unique_ptr<Pipe> connect(bool resume) override {
    auto pipe = std::make_unique<MbedTlsPipe>(client_, server_);
    if (resume && has_session_) mbedtls_ssl_set_session(pipe->client(), &session_);
    if (!pipe->handshake()) return nullptr;
    mbedtls_ssl_session_free(&session_);
    mbedtls_ssl_session_init(&session_);
    has_session_ = mbedtls_ssl_get_session(pipe->client(), &session_) == 0;
    return pipe;
  }

 private:
  Side client_, server_;
  mbedtls_ssl_session session_;
  bool has_session_ = false;
};

const Register registered({"mbedtls", "direct", [](TlsVersion v) { return v == TlsVersion::tls1_2; },
                           [](const Suite& suite) { return std::make_unique<MbedTlsFactory>(suite); }});

// The generic cipher layer, as Mbed TLS's record layer calls it
// (mbedtls_cipher_auth_encrypt_ext, tag appended): one context per direction.
class MbedTlsAead final : public Aead {
 public:
  MbedTlsAead(const Suite& suite, std::span<const std::byte> key) {
    const mbedtls_cipher_info_t* info = mbedtls_cipher_info_from_type(
        is_chacha20(suite) ? MBEDTLS_CIPHER_CHACHA20_POLY1305 : MBEDTLS_CIPHER_AES_128_GCM);
    const unsigned char* k = u8(key.data());
    int bits = static_cast<int>(key.size() * 8);
    for (auto* c : {&sealer_, &opener_}) mbedtls_cipher_init(c);
    ok_ = info && mbedtls_cipher_setup(&sealer_, info) == 0 && mbedtls_cipher_setup(&opener_, info) == 0 &&
          mbedtls_cipher_setkey(&sealer_, k, bits, MBEDTLS_ENCRYPT) == 0 &&
          mbedtls_cipher_setkey(&opener_, k, bits, MBEDTLS_DECRYPT) == 0;
  }
  ~MbedTlsAead() override {
    mbedtls_cipher_free(&sealer_);
    mbedtls_cipher_free(&opener_);
  }
  bool ok() const { return ok_; }

  bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> plaintext, std::span<std::byte> sealed) override {
    std::size_t n = 0;
    return mbedtls_cipher_auth_encrypt_ext(&sealer_, u8(nonce.data()), nonce.size(), u8(aad.data()), aad.size(),
                                           u8(plaintext.data()), plaintext.size(),
                                           u8(sealed.data()), sealed.size(), &n,
                                           tag_size) == 0;
  }

  bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> sealed, std::span<std::byte> plaintext) override {
    std::size_t n = 0;
    return mbedtls_cipher_auth_decrypt_ext(&opener_, u8(nonce.data()), nonce.size(), u8(aad.data()), aad.size(),
                                           u8(sealed.data()), sealed.size(),
                                           u8(plaintext.data()), plaintext.size(), &n,
                                           tag_size) == 0;
  }

 private:
  mbedtls_cipher_context_t sealer_, opener_;
  bool ok_ = false;
};

const RegisterAead aead({"mbedtls", [](TlsVersion v) { return v == TlsVersion::tls1_2; },
                         keyed<MbedTlsAead>});

}  // namespace
}  // namespace lastbyte::bench
