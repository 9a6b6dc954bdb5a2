#include "openssl_direct.hpp"
#include "pipes.hpp"
#include "tcp.hpp"

#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/socket_driver.hpp>
#include <lastbyte/testing/pki.hpp>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <benchmark/benchmark.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace lastbyte::bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t transfer_size = 1 << 20;

void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

SSL_CTX* openssl_ctx(const Suite& suite, bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  direct::openssl::pin_suite(ctx, suite.version, suite.iana);
  direct::openssl::load_test_pki(ctx, server);
  if (!server) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// Serves requests of 8 bytes (a big-endian byte count) with that many bytes,
// one connection at a time, until the client closes.
class Server {
 public:
  explicit Server(const Suite& suite) : ctx_(openssl_ctx(suite, true)), data_(payload(transfer_size)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_, 64);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Server() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
    SSL_CTX_free(ctx_);
  }
  std::uint16_t port() const { return port_; }

 private:
  void run() {
    while (!stop_) {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      no_delay(fd);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) == 1) serve(ssl);
      SSL_free(ssl);
      ::close(fd);
      ERR_clear_error();
    }
  }
  void serve(SSL* ssl) {
    unsigned char request[8];
    for (;;) {
      size_t got = 0, n = 0;
      while (got < sizeof request && SSL_read_ex(ssl, request + got, sizeof request - got, &n) == 1) got += n;
      if (got < sizeof request) return;
      std::uint64_t want = 0;
      for (unsigned char b : request) want = want << 8 | b;
      for (std::uint64_t sent = 0; sent < want;) {
        size_t chunk = std::min<std::uint64_t>(want - sent, data_.size()), w = 0;
        if (SSL_write_ex(ssl, data_.data(), chunk, &w) != 1) return;
        sent += w;
      }
    }
  }

  SSL_CTX* ctx_;
  std::vector<std::byte> data_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::array<unsigned char, 8> request_for(std::uint64_t n) {
  std::array<unsigned char, 8> r{};
  for (int i = 7; i >= 0; --i, n >>= 8) r[static_cast<std::size_t>(i)] = static_cast<unsigned char>(n);
  return r;
}

class Client {
 public:
  virtual ~Client() = default;
  virtual bool connect(std::uint16_t port) = 0;
  // Asks for sink.size() bytes and reads them all.
  virtual bool fetch(std::span<std::byte> sink) = 0;
  virtual void close() = 0;
};

class LastbyteClient final : public Client {
 public:
  LastbyteClient(const Backend& backend, const Suite& suite) : context_(*Context::create(client_config(suite), backend)) {}
  bool connect(std::uint16_t port) override {
    auto deadline = net::after(5s);
    auto socket = net::connect_tcp("127.0.0.1", port, deadline);
    auto connection = Connection::create(context_);
    if (!socket || !connection) return false;
    socket_ = std::move(*socket);
    connection_.emplace(std::move(*connection));
    driver_.emplace(socket_, *connection_);
    return !driver_->handshake(deadline);
  }
  bool fetch(std::span<std::byte> sink) override {
    auto deadline = net::after(10s);
    auto request = request_for(sink.size());
    if (driver_->write_all(std::as_bytes(std::span(request)), deadline)) return false;
    for (std::size_t got = 0; got < sink.size();) {
      auto r = driver_->read(sink.subspan(got), deadline);
      if (r.status != IoStatus::ok) return false;
      got += r.bytes;
    }
    return true;
  }
  void close() override {
    driver_->close(net::after(1s));
    driver_.reset();
    connection_.reset();
    socket_ = net::Socket();
  }

 private:
  Context context_;
  net::Socket socket_;
  std::optional<Connection> connection_;
  std::optional<net::SocketDriver> driver_;
};

class BlockingOpenSslClient final : public Client {
 public:
  explicit BlockingOpenSslClient(const Suite& suite) : ctx_(openssl_ctx(suite, false)) {}
  ~BlockingOpenSslClient() override { SSL_CTX_free(ctx_); }
  bool connect(std::uint16_t port) override {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    no_delay(fd_);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, std::string(server_name).c_str());
    SSL_set1_host(ssl_, std::string(server_name).c_str());
    return SSL_connect(ssl_) == 1;
  }
  bool fetch(std::span<std::byte> sink) override {
    auto request = request_for(sink.size());
    size_t n = 0;
    if (SSL_write_ex(ssl_, request.data(), request.size(), &n) != 1) return false;
    for (std::size_t got = 0; got < sink.size(); got += n)
      if (SSL_read_ex(ssl_, sink.data() + got, sink.size() - got, &n) != 1) return false;
    return true;
  }
  void close() override {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
    ::close(fd_);
  }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

class AsioClient final : public Client {
 public:
  explicit AsioClient(const Suite& suite) : ssl_context_(asio::ssl::context::tls_client) {
    direct::openssl::pin_suite(ssl_context_.native_handle(), suite.version, suite.iana);
    const std::string& ca = testing::test_pki().ca.cert_pem;
    ssl_context_.add_certificate_authority(asio::buffer(ca));
    ssl_context_.set_verify_mode(asio::ssl::verify_peer);
    ssl_context_.set_verify_callback(asio::ssl::host_name_verification(std::string(server_name)));
  }
  bool connect(std::uint16_t port) override {
    stream_.emplace(io_, ssl_context_);
    asio::error_code error;
    stream_->lowest_layer().connect({asio::ip::address_v4::loopback(), port}, error);
    if (error) return false;
    stream_->lowest_layer().set_option(asio::ip::tcp::no_delay(true));
    SSL_set_tlsext_host_name(stream_->native_handle(), std::string(server_name).c_str());
    stream_->handshake(asio::ssl::stream_base::client, error);
    return !error;
  }
  bool fetch(std::span<std::byte> sink) override {
    auto request = request_for(sink.size());
    asio::error_code error;
    asio::write(*stream_, asio::buffer(request), error);
    if (!error) asio::read(*stream_, asio::buffer(sink.data(), sink.size()), error);
    return !error;
  }
  void close() override {
    asio::error_code ignored;
    stream_->shutdown(ignored);
    stream_.reset();
  }

 private:
  asio::io_context io_;
  asio::ssl::context ssl_context_;
  std::optional<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
};

using MakeClient = std::function<std::unique_ptr<Client>(const Suite&)>;

void tcp_throughput(benchmark::State& state, const MakeClient& make, const Suite& suite) {
  Server server(suite);
  auto client = make(suite);
  if (!client->connect(server.port())) return state.SkipWithError("connect/handshake failed");
  std::vector<std::byte> sink(transfer_size);
  for (auto _ : state)
    if (!client->fetch(sink)) return state.SkipWithError("fetch failed");
  if (sink != payload(transfer_size)) return state.SkipWithError("wrong bytes");
  client->close();
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * transfer_size));
}

// A fresh connection: TCP connect, handshake, request, the first byte back.
void tcp_first_byte(benchmark::State& state, const MakeClient& make, const Suite& suite) {
  Server server(suite);
  auto client = make(suite);
  std::byte first[1];
  for (auto _ : state) {
    if (!client->connect(server.port()) || !client->fetch(first)) return state.SkipWithError("first byte failed");
    state.PauseTiming();
    client->close();
    state.ResumeTiming();
  }
}

}  // namespace

void register_tcp_benchmarks() {
  const Backend* openssl = nullptr;
  for (const Backend* b : conformance::installed_backends())
    if (b->name == "openssl") openssl = b;
  std::vector<std::pair<std::string, MakeClient>> clients = {
      {"openssl/blocking", [](const Suite& s) { return std::make_unique<BlockingOpenSslClient>(s); }},
      {"openssl/asio", [](const Suite& s) { return std::make_unique<AsioClient>(s); }},
  };
  if (openssl)
    clients.push_back({"openssl/lastbyte", [openssl](const Suite& s) { return std::make_unique<LastbyteClient>(*openssl, s); }});
  for (const Suite& suite : {suites[0], suites[2]})
    for (const auto& [label, make] : clients) {
      benchmark::RegisterBenchmark(("tcp_throughput/" + label + "/" + std::string(suite.label) + "/1048576").c_str(),
                                   tcp_throughput, make, suite)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("tcp_first_byte/" + label + "/" + std::string(suite.label) + "/1").c_str(),
                                   tcp_first_byte, make, suite)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
}

}  // namespace lastbyte::bench
