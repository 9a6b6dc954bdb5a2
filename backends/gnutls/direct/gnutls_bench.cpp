// GnuTLS 3.7 used directly: one set of credentials and one priority per
// side, push/pull functions over in-memory queues, gnutls_record_send /
// gnutls_record_recv. Mirrors the lastbyte adapter's configuration (the
// suite, its group order, verification with host name, session tickets).
#include "gnutls_direct.hpp"
#include "memory_queue.hpp"
#include "pipes.hpp"

#include <lastbyte/testing/pki.hpp>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <cerrno>

namespace lastbyte::bench {
namespace {

struct Ends {
  MemoryQueue* out;
  MemoryQueue* in;
  gnutls_session_t session = nullptr;
};

ssize_t queue_push(gnutls_transport_ptr_t ends, const void* data, size_t n) {
  static_cast<Ends*>(ends)->out->write(data, n);
  return static_cast<ssize_t>(n);
}

ssize_t queue_pull(gnutls_transport_ptr_t ends, void* out, size_t n) {
  auto* e = static_cast<Ends*>(ends);
  std::size_t got = e->in->read(out, n);
  if (got > 0) return static_cast<ssize_t>(got);
  gnutls_transport_set_errno(e->session, EAGAIN);
  return -1;
}

// The suite pinned as the adapter pins it (its cipher, and for TLS 1.2 its
// key exchange), with the adapter's group order.
std::string priority_for(const Suite& suite) {
  bool tls13 = suite.version == TlsVersion::tls1_3;
  std::string_view name = suite.iana;
  std::string cipher = name.find("CHACHA20") != std::string_view::npos ? "CHACHA20-POLY1305"
                       : name.find("AES_256") != std::string_view::npos ? "AES-256-GCM"
                                                                         : "AES-128-GCM";
  return direct::gnutls::version_priority(suite.version) + ":-CIPHER-ALL:+" + cipher +
         ":-MAC-ALL:+AEAD:-KX-ALL" + (tls13 ? "" : ":+ECDHE-ECDSA") +
         ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-X448:+GROUP-SECP521R1:+GROUP-SECP384R1:%SERVER_PRECEDENCE";
}

struct Side {
  gnutls_certificate_credentials_t credentials = nullptr;
  gnutls_priority_t priority = nullptr;
  gnutls_datum_t ticket_key{nullptr, 0};

  Side(const Suite& suite, bool server) {
    gnutls_certificate_allocate_credentials(&credentials);
    gnutls_priority_init(&priority, priority_for(suite).c_str(), nullptr);
    const auto& pki = testing::test_pki();
    if (server) {
      direct::gnutls::load_identity(credentials, pki.server.cert_pem, pki.server.key_pem);
      gnutls_session_ticket_key_generate(&ticket_key);
    } else {
      direct::gnutls::load_trust(credentials, pki.ca.cert_pem);
    }
  }
  ~Side() {
    gnutls_free(ticket_key.data);
    gnutls_priority_deinit(priority);
    gnutls_certificate_free_credentials(credentials);
  }
};

gnutls_session_t make_session(const Side& side, bool server, Ends* ends) {
  gnutls_session_t session = nullptr;
  gnutls_init(&session, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NONBLOCK);
  gnutls_priority_set(session, side.priority);
  gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, side.credentials);
  ends->session = session;
  gnutls_transport_set_ptr(session, ends);
  gnutls_transport_set_push_function(session, queue_push);
  gnutls_transport_set_pull_function(session, queue_pull);
  if (server) {
    gnutls_session_ticket_enable_server(session, &side.ticket_key);
  } else {
    std::string name(server_name);
    gnutls_server_name_set(session, GNUTLS_NAME_DNS, name.data(), name.size());
    // Chain and host name, in the handshake; GnuTLS keeps the pointer, not a copy.
    gnutls_session_set_verify_cert(session, server_name.data(), 0);
  }
  return session;
}

class GnuTlsPipe final : public Pipe {
 public:
  GnuTlsPipe(const Side& client, const Side& server)
      : client_(make_session(client, false, &client_ends_)), server_(make_session(server, true, &server_ends_)) {}
  ~GnuTlsPipe() override {
    gnutls_deinit(client_);
    gnutls_deinit(server_);
  }

  gnutls_session_t client() { return client_; }

  bool handshake() {
    int c = GNUTLS_E_AGAIN, s = GNUTLS_E_AGAIN;
    for (int round = 0; round < 16 && (c != 0 || s != 0); ++round) {
      if (c != 0) c = gnutls_handshake(client_);
      if (s != 0) s = gnutls_handshake(server_);
      if ((c != 0 && c != GNUTLS_E_AGAIN) || (s != 0 && s != GNUTLS_E_AGAIN)) return false;
    }
    // Process the tickets as an application's first reads would: GnuTLS
    // says EAGAIN after each one, also when another follows.
    char scratch[64];
    ssize_t r = GNUTLS_E_AGAIN;
    while (r == GNUTLS_E_AGAIN && !to_client_.empty()) r = gnutls_record_recv(client_, scratch, sizeof scratch);
    return c == 0 && s == 0 && r == GNUTLS_E_AGAIN;
  }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(client_, server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(server_, client_, data, sink);
  }

  std::size_t transport_bytes() const override { return to_server_.capacity() + to_client_.capacity(); }
  bool resumed() const override { return gnutls_session_is_resumed(client_) != 0; }
  std::string negotiated_cipher() const override {
    const char* name = gnutls_ciphersuite_get(client_);
    return name ? name : "";
  }

 private:
  static bool transfer(gnutls_session_t from, gnutls_session_t to, std::span<const std::byte> data,
                       std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    while (got < data.size()) {
      if (written < data.size()) {
        ssize_t w = gnutls_record_send(from, data.data() + written, data.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        else if (w != GNUTLS_E_AGAIN) return false;
      }
      ssize_t r;
      while (got < sink.size() && (r = gnutls_record_recv(to, sink.data() + got, sink.size() - got)) > 0)
        got += static_cast<std::size_t>(r);
    }
    return true;
  }

  MemoryQueue to_server_, to_client_;
  Ends client_ends_{&to_server_, &to_client_}, server_ends_{&to_client_, &to_server_};
  gnutls_session_t client_, server_;
};

class GnuTlsFactory final : public PipeFactory {
 public:
  explicit GnuTlsFactory(const Suite& suite) : client_(suite, false), server_(suite, true) {}
  ~GnuTlsFactory() override { gnutls_free(session_.data); }

  std::unique_ptr<Pipe> connect(bool resume) override {
    auto pipe = std::make_unique<GnuTlsPipe>(client_, server_);
    if (resume && session_.data) gnutls_session_set_data(pipe->client(), session_.data, session_.size);
    if (!pipe->handshake()) return nullptr;
    // GnuTLS hands sessions out serialised only.
    gnutls_datum_t session{nullptr, 0};
    if (gnutls_session_get_data2(pipe->client(), &session) == 0) {
      gnutls_free(session_.data);
      session_ = session;
    }
    return pipe;
  }

 private:
  Side client_, server_;
  gnutls_datum_t session_{nullptr, 0};
};

const Register registered({"gnutls", "direct", [](TlsVersion) { return true; },
                           [](const Suite& suite) { return std::make_unique<GnuTlsFactory>(suite); }});

// gnutls_aead_cipher_*, GnuTLS's public AEAD (the record layer calls the
// same cipher internally): one handle per direction.
class GnuTlsAead final : public Aead {
 public:
  GnuTlsAead(const Suite& suite, std::span<const std::byte> key) {
    gnutls_cipher_algorithm_t cipher = is_chacha20(suite) ? GNUTLS_CIPHER_CHACHA20_POLY1305 : GNUTLS_CIPHER_AES_128_GCM;
    gnutls_datum_t k{const_cast<unsigned char*>(u8(key.data())), static_cast<unsigned>(key.size())};
    ok_ = gnutls_aead_cipher_init(&sealer_, cipher, &k) == 0 && gnutls_aead_cipher_init(&opener_, cipher, &k) == 0;
  }
  ~GnuTlsAead() override {
    if (sealer_) gnutls_aead_cipher_deinit(sealer_);
    if (opener_) gnutls_aead_cipher_deinit(opener_);
  }
  bool ok() const { return ok_; }

  bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> plaintext, std::span<std::byte> sealed) override {
    std::size_t n = sealed.size();
    return gnutls_aead_cipher_encrypt(sealer_, nonce.data(), nonce.size(), aad.data(), aad.size(), tag_size,
                                      plaintext.data(), plaintext.size(), sealed.data(), &n) == 0;
  }

  bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> sealed, std::span<std::byte> plaintext) override {
    std::size_t n = plaintext.size();
    return gnutls_aead_cipher_decrypt(opener_, nonce.data(), nonce.size(), aad.data(), aad.size(), tag_size,
                                      sealed.data(), sealed.size(), plaintext.data(), &n) == 0;
  }

 private:
  gnutls_aead_cipher_hd_t sealer_ = nullptr, opener_ = nullptr;
  bool ok_ = false;
};

const RegisterAead aead({"gnutls", [](TlsVersion) { return true; }, keyed<GnuTlsAead>});

}  // namespace
}  // namespace lastbyte::bench
