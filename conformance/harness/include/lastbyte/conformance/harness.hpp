// In-memory plumbing for conformance tests: two Connections wired through
// memory, delivery schedules, and an event-loop-shaped delivery that checks
// C2 at every step.
#pragma once

#include <lastbyte/connection.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance {

using Bytes = std::vector<std::byte>;

// Every backend built into this program (generated at configure time).
std::span<const Backend* const> installed_backends();

// Where two libraries cannot talk, whatever lastbyte does: the client's
// library refuses what the server's library sends, with the harness's
// configurations (client_config, server_config: tickets on). Every cell,
// soak, R36 run or test of such a pair and version is "unsupported by this
// pair of libraries" with the reason, never run and never a pass;
// PairLimits.EachStillHolds fails once the pair talks (the list cannot
// rot). docs/divergences.md, "Pairs of libraries".
struct PairLimit {
  std::string_view client_backend;
  std::string_view server_backend;
  TlsVersion version;
  std::string_view why;
};
std::span<const PairLimit> pair_limits();
// The limit of this client/server pair at this version, or nullptr.
const PairLimit* pair_limit(const Backend& client, const Backend& server, TlsVersion version);
// "unsupported by this pair of libraries (wolfssl client, rustls server,
// TLSv1.3): <why>"
std::string describe(const PairLimit& limit);

// Client and server configs trusting the test PKI (conformance/pki), pinned
// to one TLS version. The client verifies "server.test".
Config client_config(TlsVersion version);
Config server_config(TlsVersion version);

// Deterministic plaintext: byte i of the stream is a function of i, so a
// reordered, duplicated or dropped byte shows up in a comparison.
Bytes pattern(std::size_t offset, std::size_t n);

class MemoryPair {
 public:
  static Expected<MemoryPair> create(const Backend& client_backend, Config client, const Backend& server_backend,
                                     Config server);
  // Two connections made from Contexts that outlive the pair and are shared
  // by many pairs (soaks, threads): nothing is created per pair but the
  // connections. The contexts' keylog callbacks are the caller's; it hands
  // over where they put this pair's lines (the forge reads keylog(role)),
  // or null for none. client_sessions() stays 0: count in the context's
  // own on_new_session.
  static Expected<MemoryPair> create(const Context& client, const Context& server,
                                     ConnectionOptions client_options = {},
                                     std::shared_ptr<std::vector<std::string>> client_keys = nullptr,
                                     std::shared_ptr<std::vector<std::string>> server_keys = nullptr);

  Connection& client() { return *client_; }
  Connection& server() { return *server_; }
  Connection& side(Role role) { return role == Role::client ? client() : server(); }

  // Moves output between the two sides (whole) until both handshakes are
  // done; then delivers what is left (tickets) and lets both read it.
  // Returns a description of what went wrong, or nullopt.
  std::optional<std::string> handshake();
  // The first half of handshake(): no read(), so early data stays unread;
  // what the receivers' queues cannot take stays in the senders' output.
  std::optional<std::string> handshake_without_reading();

  // Everything `role` has sent so far (the whole wire in that direction).
  const Bytes& sent_by(Role role) const { return role == Role::client ? client_wire_ : server_wire_; }
  // Moves `from`'s pending output to the other side; returns the bytes moved.
  // Throws if the receiver's inbound queue cannot take them all (read first).
  Bytes transfer(Role from);
  // Takes `from`'s pending output without delivering it.
  Bytes take_output(Role from);
  // Moves as many of `from`'s pending whole records as the receiver queues.
  Bytes transfer_what_fits(Role from);

  const std::vector<std::string>& keylog(Role role) const { return *(role == Role::client ? client_keys_ : server_keys_); }
  // A key log holding the secrets of `sender`'s direction: its own, or else
  // the other side's (each side logs both directions' traffic secrets, and
  // TLS 1.2's master secret serves both). Empty if neither side can export.
  const std::vector<std::string>& keylog_for(Role sender) const {
    const auto& own = keylog(sender);
    return own.empty() ? keylog(sender == Role::client ? Role::server : Role::client) : own;
  }
  // Sessions the client surfaced through Config::on_new_session.
  int client_sessions() const { return *client_sessions_; }

 private:
  MemoryPair() = default;
  std::optional<Connection> client_, server_;
  Bytes client_wire_, server_wire_;
  std::shared_ptr<std::vector<std::string>> client_keys_, server_keys_;
  std::shared_ptr<int> client_sessions_ = std::make_shared<int>(0);
};

// ---- delivery schedules (docs/scenarios.md) ---------------------------------

struct Schedule {
  enum class Kind { whole, bytewise, header_split, segments, random } kind = Kind::whole;
  int k = 0;               // header_split: cut after byte k of every record header (1..4)
  std::size_t segment = 1460;
  std::uint64_t seed = 0;  // random

  std::string name() const;  // whole, bytewise, header-split-2, segments-1460, random-42
  static std::optional<Schedule> parse(std::string_view name);
};

std::vector<Schedule> all_schedules(std::uint64_t random_seed);
inline constexpr std::size_t read_sizes[] = {1, 7, 512, 16384, 65536};

// Offsets where each record of `wire` starts (the last may be incomplete).
std::vector<std::size_t> record_starts(std::span<const std::byte> wire);

// The transport reads a schedule cuts `wire` into.
std::vector<std::span<const std::byte>> cut(std::span<const std::byte> wire, const Schedule& schedule);

enum class TransportEnd { none, fin, rst };

struct Outcome {
  Bytes plaintext;
  std::optional<Verdict> verdict;
  std::vector<std::string> violations;  // contract breaches seen on the way (C2, misuse errors)
  std::size_t reads = 0;
};

// Feeds `wire` to `victim` as the schedule cuts it, the transport end in the
// same transport read as the last bytes,
// reading `read_size` bytes at a time whenever wants().read_now — exactly what
// an event loop does. After every read burst it checks C2: when read_now is
// false, a probing read() must not produce anything.
Outcome deliver(Connection& victim, std::span<const std::byte> wire, TransportEnd end, const Schedule& schedule,
                std::size_t read_size);

// Real transport mode: `wire` is sent by a peer thread over loopback TCP in
// 1460-byte writes, then FIN, RST (SO_LINGER 0, once acknowledged) or
// nothing; the victim reads through the reference socket driver. With no end,
// reading stops after `expected_bytes`.
Outcome deliver_over_tcp(Connection& victim, std::span<const std::byte> wire, TransportEnd end, std::size_t read_size,
                         std::size_t expected_bytes);

// R36: `connections` fresh loopback TCP connections, each an HTTP request
// answered with `body_size` bytes by a server that sends close_notify and
// closes right after its response.
struct HttpRunResult {
  // TLS 1.3 where both libraries speak it and the pair has no limit there
  // (pair_limit; `limited` then says why it is TLS 1.2), else TLS 1.2.
  TlsVersion version = TlsVersion::tls1_3;
  const PairLimit* limited = nullptr;
  int connections = 0;
  int complete = 0;  // responses received byte-identical
  std::map<std::string, int> verdicts = {};
};
Expected<HttpRunResult> run_http_exchanges(const Backend& client_backend, const Backend& server_backend,
                                           int connections, std::size_t body_size);

// Same kind and same counts/alert/reason (details are free text).
bool same_verdict(const Verdict& expected, const Verdict& got);

// First differing offset, or nullopt when equal.
std::optional<std::size_t> first_difference(std::span<const std::byte> expected, std::span<const std::byte> got);

}  // namespace lastbyte::conformance
