// rustls 0.20, driven natively: as an application over a socket drives it
// (rustls::Stream's loop): read_tls what recv() gave, process_new_packets,
// then reader().read(); recv() returning 0 goes to read_tls as rustls's own
// EOF (lb_rustls_conn_eof), a reset is the application's io error, which
// rustls never sees.
#include "native.hpp"
#include "rustls_direct.hpp"

#include <array>
#include <stdexcept>

namespace lastbyte::conformance::native {
namespace {

class RustlsSession final : public Session {
 public:
  RustlsSession(const Options& options, Socket& socket) : socket_(socket), client_(options.role == Role::client) {
    lb_rustls_callbacks callbacks{
        .keylog = nullptr,
        .verify = nullptr,
        .new_session = [](void* user, const std::uint8_t*, std::size_t) { ++static_cast<RustlsSession*>(user)->sessions_; },
        .push = [](void* user, const std::uint8_t* data, std::size_t len) {
          static_cast<RustlsSession*>(user)->socket_.send(std::as_bytes(std::span(data, len)));
        },
    };
    direct::rustls::Side side{
        .server = !client_,
        .version = options.version,
        .ca_pem = options.ca_pem,
        .chain_pem = options.cert_pem,
        .key_pem = options.key_pem,
        .check = options.verify == Verify::chain ? direct::rustls::Check::chain_only
                                                 : direct::rustls::Check::chain_and_name,
    };
    context_ = direct::rustls::new_context(side, callbacks);
    conn_ = direct::rustls::new_connection(context_, this, client_ ? options.server_name : "");
  }
  ~RustlsSession() override {
    lb_rustls_conn_free(conn_);
    lb_rustls_context_free(context_);
  }

  Result handshake() override {
    for (;;) {
      if (int rc = lb_rustls_conn_flush(conn_); rc != LB_RUSTLS_OK) return error(rc);
      if (!lb_rustls_conn_is_handshaking(conn_)) return {.kind = Result::Kind::data, .code = "handshake done"};
      if (auto stop = receive()) return *stop;
    }
  }

  Result read(std::span<std::byte> out) override {
    for (;;) {
      std::size_t n = 0;
      int rc = lb_rustls_conn_read(conn_, reinterpret_cast<std::uint8_t*>(out.data()), out.size(), &n);
      if (rc == LB_RUSTLS_OK && n > 0) return {.kind = Result::Kind::data, .bytes = n};
      if (rc == LB_RUSTLS_CLOSED) return {.code = "Ok(0) (close_notify)"};
      if (rc == LB_RUSTLS_UNEXPECTED_EOF) return {.code = "Err(UnexpectedEof)"};
      if (rc != LB_RUSTLS_WOULD_BLOCK) return error(rc);
      if (auto stop = receive()) return *stop;
    }
  }

  Result write(std::span<const std::byte> plaintext) override {
    std::size_t n = 0;
    int rc = lb_rustls_conn_write(conn_, reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size(), &n);
    if (rc == LB_RUSTLS_OK) return {.kind = Result::Kind::data, .bytes = n};
    if (rc == LB_RUSTLS_WOULD_BLOCK) return {.kind = Result::Kind::would_block, .code = "Err(WouldBlock)"};
    return error(rc);
  }

  Result shutdown() override {
    int rc = lb_rustls_conn_send_close_notify(conn_);
    if (rc == LB_RUSTLS_OK) return {.kind = Result::Kind::data, .code = "send_close_notify"};
    return error(rc);
  }

  // rustls tells how much plaintext process_new_packets left
  // (IoState::plaintext_bytes_to_read); it has no "records held" call.
  Pending pending() const override { return {.plaintext = lb_rustls_conn_pending(conn_), .records = std::nullopt}; }

  int sessions_surfaced() const override { return sessions_; }

  // rustls has no verify-result call of its own: its error (the
  // handshake's code, InvalidCertificateData ...) is its verdict.
  std::string verification() const override { return {}; }

 private:
  // One recv() into rustls; nullopt: go on (something was processed).
  std::optional<Result> receive() {
    std::array<std::byte, 4096> buffer;
    auto r = socket_.receive(buffer);
    switch (r.answer) {
      case Socket::Answer::data: {
        int rc = lb_rustls_conn_feed(conn_, reinterpret_cast<const std::uint8_t*>(buffer.data()), r.bytes);
        if (rc != LB_RUSTLS_OK) return error(rc);
        return std::nullopt;
      }
      case Socket::Answer::would_block:
        return Result{.kind = Result::Kind::would_block, .code = "Err(WouldBlock)"};
      case Socket::Answer::eof:
      case Socket::Answer::zero: {
        // read_tls returned Ok(0): rustls marks the end. During the
        // handshake rustls::Stream reports it as UnexpectedEof ("tls
        // handshake eof"); after it, reader().read() tells.
        if (eof_seen_) return Result{.code = "read_tls: Ok(0) (EOF)"};
        eof_seen_ = true;
        if (int rc = lb_rustls_conn_eof(conn_); rc != LB_RUSTLS_OK) return error(rc);
        if (lb_rustls_conn_is_handshaking(conn_)) return Result{.code = "read_tls: Ok(0) during the handshake"};
        return std::nullopt;
      }
      case Socket::Answer::reset: return Result{.code = "read_tls: Err(ConnectionReset)"};
    }
    return Result{.code = "unknown socket answer"};
  }

  Result error(int rc) const {
    if (rc == LB_RUSTLS_TLS_ERROR) return {.code = direct::rustls::failure_text(conn_)};
    return {.code = "lastbyte_rustls status " + std::to_string(rc)};
  }

  Socket& socket_;
  bool client_;
  lb_rustls_context* context_ = nullptr;
  lb_rustls_conn* conn_ = nullptr;
  int sessions_ = 0;
  bool eof_seen_ = false;
};

}  // namespace

const Library& rustls() {
  static const Library library{
      .name = "rustls",
      .title = "rustls",
      .version = [] { return std::string(lb_rustls_version()); },
      .supports = [](TlsVersion) { return true; },
      .read_call = "reader().read",
      .pending_calls = "IoState::plaintext_bytes_to_read",
      .verify_calls = {"with_root_certificates (WebPkiVerifier)", "custom verifier: webpki chain check only",
                       "with_root_certificates (WebPkiVerifier)"},
      .create = [](const Options& options, Socket& socket) -> std::unique_ptr<Session> {
        return std::make_unique<RustlsSession>(options, socket);
      },
  };
  return library;
}

}  // namespace lastbyte::conformance::native
