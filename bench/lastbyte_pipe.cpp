// lastbyte over each installed backend, driven the way its README tells an
// application to: feed() what the peer's output() holds, read() until
// blocked, write() as far as the outbound queue allows.
#include "pipes.hpp"

#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/connection.hpp>
#include <lastbyte/testing/pki.hpp>

#include <algorithm>
#include <optional>

namespace lastbyte::bench {
namespace {

// Moves everything `from` has sent into `to`; false if `to` refused it.
bool move_output(Connection& from, Connection& to) {
  while (!from.output().empty()) {
    auto r = to.feed(from.output());
    if (r.status != IoStatus::ok) return false;
    from.consume_output(r.bytes);
    if (r.bytes == 0) return false;
  }
  return true;
}

class LastbytePipe final : public Pipe {
 public:
  LastbytePipe(Connection client, Connection server) : client_(std::move(client)), server_(std::move(server)) {}

  bool handshake() { return handshake_in_memory(client_, server_); }

  bool send(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(client_, server_, data, sink);
  }
  bool reply(std::span<const std::byte> data, std::span<std::byte> sink) override {
    return transfer(server_, client_, data, sink);
  }

  bool resumed() const override { return client_.info() && client_.info()->resumed; }
  std::string negotiated_cipher() const override { return client_.info() ? client_.info()->cipher : ""; }

 private:
  static bool transfer(Connection& from, Connection& to, std::span<const std::byte> data, std::span<std::byte> sink) {
    std::size_t written = 0, got = 0;
    while (got < data.size()) {
      if (written < data.size()) {
        auto w = from.write(data.subspan(written));
        if (w.status == IoStatus::ok) written += w.bytes;
        else if (w.status != IoStatus::blocked) return false;
      }
      while (!from.output().empty()) {
        auto f = to.feed(from.output());
        if (f.status != IoStatus::ok) return false;
        from.consume_output(f.bytes);
        if (!drain(to, sink, got)) return false;
      }
    }
    return true;
  }

  static bool drain(Connection& to, std::span<std::byte> sink, std::size_t& got) {
    for (;;) {
      auto r = to.read(sink.subspan(got));
      if (r.status == IoStatus::ok) got += r.bytes;
      else return r.status == IoStatus::blocked;
      if (got == sink.size()) return true;
    }
  }

  Connection client_, server_;
};

class LastbyteFactory final : public PipeFactory {
 public:
  LastbyteFactory(Context client, Context server, std::shared_ptr<SessionBlob> session)
      : client_(std::move(client)), server_(std::move(server)), session_(std::move(session)) {}

  std::unique_ptr<Pipe> connect(bool resume) override {
    ConnectionOptions options;
    if (resume) options.resume_session = *session_;
    auto client = Connection::create(client_, options);
    auto server = Connection::create(server_);
    if (!client || !server) return nullptr;
    auto pipe = std::make_unique<LastbytePipe>(std::move(*client), std::move(*server));
    if (!pipe->handshake()) return nullptr;
    return pipe;
  }

 private:
  Context client_, server_;
  std::shared_ptr<SessionBlob> session_;  // the latest one the client surfaced
};

}  // namespace

std::unique_ptr<PipeFactory> make_lastbyte(const Backend& backend, const Suite& suite, std::size_t queue_capacity,
                                           bool keep_buffers_when_idle) {
  auto session = std::make_shared<SessionBlob>();
  Config client = client_config(suite), server = server_config(suite);
  for (Config* c : {&client, &server}) {
    if (queue_capacity != 0) c->inbound_capacity = c->outbound_capacity = queue_capacity;
    c->keep_buffers_when_idle = keep_buffers_when_idle;
  }
  client.on_new_session = [session](std::span<const std::byte> blob) { session->assign(blob.begin(), blob.end()); };
  auto client_context = Context::create(std::move(client), backend);
  auto server_context = Context::create(std::move(server), backend);
  if (!client_context || !server_context) return nullptr;
  return std::make_unique<LastbyteFactory>(std::move(*client_context), std::move(*server_context), session);
}

Implementation lastbyte_kept(const Backend& backend) {
  return {std::string(backend.name), "lastbyte_kept", backend.supports,
          [&backend](const Suite& suite) { return make_lastbyte(backend, suite, 0, true); }};
}

bool handshake_in_memory(Connection& client, Connection& server) {
  for (int round = 0; round < 8 && !(client.wants().handshake_done && server.wants().handshake_done); ++round) {
    if (!move_output(client, server) || server.handshake().status == IoStatus::end) return false;
    if (!move_output(server, client) || client.handshake().status == IoStatus::end) return false;
  }
  // Tickets (TLS 1.3) and the client's last flight, as a real loop would process them.
  if (!move_output(client, server) || !move_output(server, client)) return false;
  std::byte scratch[64];
  return client.read(scratch).status == IoStatus::blocked && server.read(scratch).status == IoStatus::blocked;
}

std::vector<Implementation>& implementations() {
  static std::vector<Implementation> all = [] {
    std::vector<Implementation> v;
    for (const Backend* backend : conformance::installed_backends())
      v.push_back({std::string(backend->name), "lastbyte", backend->supports,
                   [backend](const Suite& suite) { return make_lastbyte(*backend, suite); }});
    return v;
  }();
  return all;
}

Config client_config(const Suite& suite) {
  Config c;
  c.role = Role::client;
  c.server_name = server_name;
  c.ca_pem = testing::test_pki().ca.cert_pem;
  c.min_version = c.max_version = suite.version;
  c.cipher_suites = {std::string(suite.iana)};
  c.honour_sslkeylogfile = false;
  return c;
}

Config server_config(const Suite& suite) {
  Config c;
  c.role = Role::server;
  c.cert_chain_pem = testing::test_pki().server.cert_pem;
  c.private_key_pem = testing::test_pki().server.key_pem;
  c.min_version = c.max_version = suite.version;
  c.cipher_suites = {std::string(suite.iana)};
  c.honour_sslkeylogfile = false;
  return c;
}

Exchange::Exchange(std::size_t response_size)
    : request_(payload(request_size)),
      response_(payload(response_size)),
      request_sink_(request_size),
      response_sink_(response_size) {}

bool Exchange::run(Pipe& pipe) { return pipe.send(request_, request_sink_) && pipe.reply(response_, response_sink_); }

std::vector<AeadImplementation>& aead_implementations() {
  static std::vector<AeadImplementation> all;
  return all;
}

bool is_chacha20(const Suite& suite) { return suite.iana.find("CHACHA20") != std::string_view::npos; }
std::size_t aead_key_size(const Suite& suite) { return is_chacha20(suite) ? 32 : 16; }

std::vector<std::byte> payload(std::size_t n) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>(i * 131 + 7);
  return out;
}

}  // namespace lastbyte::bench
