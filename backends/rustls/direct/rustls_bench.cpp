// rustls 0.20 used directly: one context per side, rustls's own certificate
// check (WebPkiVerifier), ciphertext moved through in-memory queues:
// writer().write + write_tls on one side, read_tls + process_new_packets +
// reader().read on the other, through the shim's C interface (one call per
// step, as rustls::Stream makes them). Mirrors the lastbyte adapter's
// configuration (version, suite, verification with host name, tickets).
#include "memory_queue.hpp"
#include "pipes.hpp"
#include "rustls_direct.hpp"

#include <lastbyte/testing/pki.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace lastbyte::bench {
namespace {

std::uint16_t iana_id(const Suite& suite) {
  struct Named {
    std::string_view name;
    std::uint16_t id;
  };
  static constexpr Named ids[] = {{"TLS_AES_128_GCM_SHA256", 0x1301},
                                  {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
                                  {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b}};
  for (const auto& n : ids)
    if (n.name == suite.iana) return n.id;
  return 0;
}

// Where one side's connection pushes its ciphertext.
struct Side {
  MemoryQueue* out;
  std::vector<std::uint8_t> session;  // client: the last ticket rustls surfaced
};

lb_rustls_callbacks callbacks() {
  return {
      .keylog = nullptr,
      .verify = nullptr,
      .new_session =
          [](void* user, const std::uint8_t* blob, std::size_t len) {
            static_cast<Side*>(user)->session.assign(blob, blob + len);
          },
      .push = [](void* user, const std::uint8_t* data,
                 std::size_t len) { static_cast<Side*>(user)->out->write(data, len); },
  };
}

lb_rustls_context* make_context(const Suite& suite, bool server) {
  const auto& pki = testing::test_pki();
  return direct::rustls::new_context(
      {.server = server,
       .version = suite.version,
       .suites = {iana_id(suite)},
       .ca_pem = pki.ca.cert_pem,
       .chain_pem = server ? std::string_view(pki.server.cert_pem) : std::string_view(),
       .key_pem = server ? std::string_view(pki.server.key_pem) : std::string_view()},
      callbacks());
}

// What is queued for `conn`, fed to it (read_tls + process_new_packets),
// at most `limit` bytes: rustls holds at most 16 KiB of plaintext unread
// and refuses more until it is read.
bool deliver(MemoryQueue& in, lb_rustls_conn* conn, std::size_t limit = SIZE_MAX) {
  if (in.empty()) return true;
  std::size_t n = std::min(in.size(), limit);
  int rc = lb_rustls_conn_feed(conn, in.data(), n);
  in.consume(n);
  return rc == LB_RUSTLS_OK;
}

// One record of the largest size: 5-byte header, 2^14 plaintext, 256 of
// expansion (RFC 8446 §5.2).
constexpr std::size_t max_record = 5 + 16384 + 256;

class RustlsPipe final : public Pipe {
 public:
  RustlsPipe(lb_rustls_context* client_ctx, lb_rustls_context* server_ctx, std::span<const std::uint8_t> resume)
      : client_(direct::rustls::new_connection(client_ctx, &client_side_, server_name, resume)),
        server_(direct::rustls::new_connection(server_ctx, &server_side_, "")) {}
  ~RustlsPipe() override {
    lb_rustls_conn_free(client_);
    lb_rustls_conn_free(server_);
  }

  bool handshake() {
    for (int round = 0; round < 16; ++round) {
      if (lb_rustls_conn_flush(client_) != LB_RUSTLS_OK || !deliver(to_server_, server_) ||
          lb_rustls_conn_flush(server_) != LB_RUSTLS_OK || !deliver(to_client_, client_))
        return false;
      if (!lb_rustls_conn_is_handshaking(client_) && !lb_rustls_conn_is_handshaking(server_) && to_server_.empty() &&
          to_client_.empty())
        return true;
    }
    return false;
  }

  const std::vector<std::uint8_t>& session() const { return client_side_.session; }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(client_, to_server_, server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(server_, to_client_, client_, data, sink);
  }

  std::size_t transport_bytes() const override { return to_server_.capacity() + to_client_.capacity(); }
  bool resumed() const override {
    lb_rustls_info info{};
    return lb_rustls_conn_info(server_, &info) == LB_RUSTLS_OK && info.resumed == 1;
  }
  std::string negotiated_cipher() const override {
    lb_rustls_info info{};
    if (lb_rustls_conn_info(client_, &info) != LB_RUSTLS_OK) return "";
    switch (info.suite) {
      case 0x1301: return "TLS_AES_128_GCM_SHA256";
      case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
      case 0xc02b: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
      default: return "";
    }
  }

 private:
  static bool transfer(lb_rustls_conn* from, MemoryQueue& wire, lb_rustls_conn* to, std::span<const std::byte> data,
                       std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    while (got < data.size()) {
      if (written < data.size()) {
        std::size_t n = 0;
        int rc = lb_rustls_conn_write(from, reinterpret_cast<const std::uint8_t*>(data.data() + written),
                                      data.size() - written, &n);
        if (rc != LB_RUSTLS_OK && rc != LB_RUSTLS_WOULD_BLOCK) return false;
        written += n;
      }
      if (!deliver(wire, to, max_record)) return false;
      while (got < sink.size()) {
        std::size_t n = 0;
        int rc = lb_rustls_conn_read(to, reinterpret_cast<std::uint8_t*>(sink.data() + got), sink.size() - got, &n);
        if (rc == LB_RUSTLS_WOULD_BLOCK) break;
        if (rc != LB_RUSTLS_OK) return false;
        got += n;
      }
    }
    return true;
  }

  MemoryQueue to_server_, to_client_;
  Side client_side_{&to_server_, {}}, server_side_{&to_client_, {}};
  lb_rustls_conn* client_;
  lb_rustls_conn* server_;
};

class RustlsFactory final : public PipeFactory {
 public:
  explicit RustlsFactory(const Suite& suite) : client_(make_context(suite, false)), server_(make_context(suite, true)) {}
  ~RustlsFactory() override {
    lb_rustls_context_free(client_);
    lb_rustls_context_free(server_);
  }

  std::unique_ptr<Pipe> connect(bool resume) override {
    auto pipe = std::make_unique<RustlsPipe>(client_, server_, resume ? std::span(session_) : std::span<const std::uint8_t>());
    if (!pipe->handshake()) return nullptr;
    if (!pipe->session().empty()) session_ = pipe->session();
    return pipe;
  }

 private:
  lb_rustls_context* client_;
  lb_rustls_context* server_;
  std::vector<std::uint8_t> session_;
};

const Register registered({"rustls", "direct", [](TlsVersion) { return true; },
                           [](const Suite& suite) { return std::make_unique<RustlsFactory>(suite); }});

// ring's AEAD through the shim: seal and open in place, so the plaintext is
// copied in first (and the opened text out), as the other libraries' calls
// write to a separate buffer.
class RustlsAead final : public Aead {
 public:
  RustlsAead(const Suite& suite, std::span<const std::byte> key) {
    ok_ = lb_rustls_aead_new(is_chacha20(suite), u8(key.data()), key.size(), &aead_) == LB_RUSTLS_OK;
  }
  ~RustlsAead() override { lb_rustls_aead_free(aead_); }
  bool ok() const { return ok_; }

  bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> plaintext, std::span<std::byte> sealed) override {
    std::memcpy(sealed.data(), plaintext.data(), plaintext.size());
    return lb_rustls_aead_seal(aead_, u8(nonce.data()), u8(aad.data()), aad.size(), u8(sealed.data()),
                               plaintext.size()) == LB_RUSTLS_OK;
  }

  bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
            std::span<const std::byte> sealed, std::span<std::byte> plaintext) override {
    scratch_.assign(sealed.begin(), sealed.end());
    if (lb_rustls_aead_open(aead_, u8(nonce.data()), u8(aad.data()), aad.size(), u8(scratch_.data()),
                            scratch_.size()) != LB_RUSTLS_OK)
      return false;
    std::memcpy(plaintext.data(), scratch_.data(), sealed.size() - tag_size);
    return true;
  }

 private:
  lb_rustls_aead* aead_ = nullptr;
  bool ok_ = false;
  std::vector<std::byte> scratch_;
};

const RegisterAead aead({"rustls", [](TlsVersion) { return true; }, keyed<RustlsAead>});

}  // namespace
}  // namespace lastbyte::bench
