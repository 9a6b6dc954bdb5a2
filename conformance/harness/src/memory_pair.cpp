#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/engine/record.hpp>
#include <lastbyte/testing/pki.hpp>

#include <stdexcept>

namespace lastbyte::conformance {

Config client_config(TlsVersion version) {
  Config c;
  c.role = Role::client;
  c.server_name = "server.test";
  c.ca_pem = testing::test_pki().ca.cert_pem;
  c.min_version = c.max_version = version;
  c.honour_sslkeylogfile = false;
  return c;
}

Config server_config(TlsVersion version) {
  Config c;
  c.role = Role::server;
  c.cert_chain_pem = testing::test_pki().server.cert_pem;
  c.private_key_pem = testing::test_pki().server.key_pem;
  c.min_version = c.max_version = version;
  c.honour_sslkeylogfile = false;
  return c;
}

Bytes pattern(std::size_t offset, std::size_t n) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t x = offset + i;
    out[i] = static_cast<std::byte>((x * 131 + (x >> 8) * 7 + 13) % 251);
  }
  return out;
}

namespace {

// The forge needs the peer's secrets; a backend that cannot export them
// leaves the log empty (and forge scenarios report it as unsupported).
std::shared_ptr<std::vector<std::string>> capture_keylog(Config& config, const Backend& backend) {
  auto lines = std::make_shared<std::vector<std::string>>();
  if (backend.exports_secrets(config.max_version))
    config.keylog = [lines](std::string_view line) { lines->emplace_back(line); };
  return lines;
}

}  // namespace

Expected<MemoryPair> MemoryPair::create(const Backend& client_backend, Config client, const Backend& server_backend,
                                        Config server) {
  MemoryPair pair;
  pair.client_keys_ = capture_keylog(client, client_backend);
  client.on_new_session = [count = pair.client_sessions_, user = std::move(client.on_new_session)](auto session) {
    ++*count;
    if (user) user(session);
  };
  pair.server_keys_ = capture_keylog(server, server_backend);
  auto client_context = Context::create(std::move(client), client_backend);
  if (!client_context) return client_context.error();
  auto server_context = Context::create(std::move(server), server_backend);
  if (!server_context) return server_context.error();
  auto client_connection = Connection::create(*client_context);
  if (!client_connection) return client_connection.error();
  auto server_connection = Connection::create(*server_context);
  if (!server_connection) return server_connection.error();
  pair.client_.emplace(std::move(*client_connection));
  pair.server_.emplace(std::move(*server_connection));
  return pair;
}

Expected<MemoryPair> MemoryPair::create(const Context& client, const Context& server, ConnectionOptions client_options,
                                        std::shared_ptr<std::vector<std::string>> client_keys,
                                        std::shared_ptr<std::vector<std::string>> server_keys) {
  MemoryPair pair;
  pair.client_keys_ = client_keys ? std::move(client_keys) : std::make_shared<std::vector<std::string>>();
  pair.server_keys_ = server_keys ? std::move(server_keys) : std::make_shared<std::vector<std::string>>();
  auto client_connection = Connection::create(client, std::move(client_options));
  if (!client_connection) return client_connection.error();
  auto server_connection = Connection::create(server);
  if (!server_connection) return server_connection.error();
  pair.client_.emplace(std::move(*client_connection));
  pair.server_.emplace(std::move(*server_connection));
  return pair;
}

Bytes MemoryPair::take_output(Role from) {
  Connection& c = side(from);
  auto out = c.output();
  Bytes bytes(out.begin(), out.end());
  c.consume_output(out.size());
  Bytes& wire = from == Role::client ? client_wire_ : server_wire_;
  wire.insert(wire.end(), bytes.begin(), bytes.end());
  return bytes;
}

Bytes MemoryPair::transfer(Role from) {
  Bytes bytes = take_output(from);
  Connection& to = side(from == Role::client ? Role::server : Role::client);
  std::span<const std::byte> rest(bytes);
  while (!rest.empty()) {
    auto r = to.feed(rest);
    // Never a silent drop: a test that moves more than the receiver's queue
    // holds must read in between (or deliver() the bytes).
    if (r.bytes == 0 && r.status != IoStatus::ok)
      throw std::runtime_error("transfer: the receiver's inbound queue is full (" + std::to_string(rest.size()) +
                               " bytes left): read it first");
    rest = rest.subspan(r.bytes);
  }
  return bytes;
}

Bytes MemoryPair::transfer_what_fits(Role from) {
  Connection& c = side(from);
  Connection& to = side(from == Role::client ? Role::server : Role::client);
  // Whole records only: a script that continues this direction parses its
  // wire from a record boundary.
  std::size_t room = to.input_space().size(), fits = 0;
  auto out = c.output();
  for (std::size_t start : record_starts(out)) {
    auto header = record::parse_header(out.subspan(start));
    if (!header || start + header->record_size() > out.size() || start + header->record_size() > room) break;
    fits = start + header->record_size();
  }
  auto r = to.feed(out.first(fits));
  if (r.bytes != fits) throw std::runtime_error("transfer: the receiver took less than its input_space() offered");
  Bytes bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(fits));
  c.consume_output(fits);
  Bytes& wire = from == Role::client ? client_wire_ : server_wire_;
  wire.insert(wire.end(), bytes.begin(), bytes.end());
  return bytes;
}

std::optional<std::string> MemoryPair::handshake_without_reading() {
  for (int round = 0; round < 16; ++round) {
    // Nobody reads here: what the receiver cannot queue (a GnuTLS server's
    // tickets sent behind its Finished, then held plaintext) stays in the
    // sender's output, as it would in a socket buffer.
    transfer_what_fits(Role::client);
    server().handshake();
    transfer_what_fits(Role::server);
    client().handshake();
    for (Role role : {Role::client, Role::server})
      if (const auto& v = side(role).verdict())
        return std::string(role == Role::client ? "client" : "server") + " failed the handshake: " + describe(*v);
    if (client().wants().handshake_done && server().wants().handshake_done) break;
  }
  if (!client().wants().handshake_done || !server().wants().handshake_done) return "the handshake did not finish";
  return std::nullopt;
}

std::optional<std::string> MemoryPair::handshake() {
  if (auto error = handshake_without_reading()) return error;
  // Tickets and the client's last flight: deliver them and let each side
  // process them, so that a scenario's wire starts on a quiet connection.
  std::byte scratch[256];
  for (int round = 0; round < 2; ++round) {
    for (Role role : {Role::client, Role::server}) {
      transfer(role == Role::client ? Role::server : Role::client);
      while (side(role).wants().read_now) {
        auto r = side(role).read(scratch);
        if (r.status == IoStatus::ok) return "unexpected plaintext right after the handshake";
        if (r.status != IoStatus::blocked) return "the connection ended right after the handshake";
      }
    }
  }
  return std::nullopt;
}

bool same_verdict(const Verdict& expected, const Verdict& got) {
  if (expected.index() != got.index()) return false;
  return std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        const T& g = std::get<T>(got);
        if constexpr (std::is_same_v<T, CloseNotify>) return e.ignored_bytes == g.ignored_bytes;
        if constexpr (std::is_same_v<T, Truncated>)
          return e.leftover_bytes == g.leftover_bytes && e.during_handshake == g.during_handshake &&
                 e.accepted == g.accepted;
        if constexpr (std::is_same_v<T, Reset>)
          return e.leftover_bytes == g.leftover_bytes && e.during_handshake == g.during_handshake;
        if constexpr (std::is_same_v<T, PeerAlert> || std::is_same_v<T, ProtocolError>) return e.alert == g.alert;
        if constexpr (std::is_same_v<T, HandshakeRejected>) return e.reason == g.reason;
        return true;
      },
      expected);
}

std::optional<std::size_t> first_difference(std::span<const std::byte> expected, std::span<const std::byte> got) {
  auto [e, g] = std::mismatch(expected.begin(), expected.end(), got.begin(), got.end());
  if (e == expected.end() && g == got.end()) return std::nullopt;
  return static_cast<std::size_t>(e - expected.begin());
}

}  // namespace lastbyte::conformance
