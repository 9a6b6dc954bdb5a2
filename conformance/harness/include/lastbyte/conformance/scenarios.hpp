// The scenario catalogue (docs/scenarios.md) as code. Most rows are a
// script, built on a real connection after a real handshake: what the peer
// sends (ReadScript) or what the side under test writes (WriteScript); the
// oracle is the script itself: the bytes sent before the end and the verdict
// the contract mandates. The others run their cells themselves (CellRunner)
// or check a certificate decision (CertificateCheck).
#pragma once

#include <lastbyte/conformance/forge.hpp>
#include <lastbyte/conformance/harness.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lastbyte::conformance {

struct Script {
  Bytes wire;                      // what the victim's transport delivers, in order
  TransportEnd end = TransportEnd::none;
  Bytes plaintext;                 // what the victim must deliver
  std::optional<Verdict> verdict;  // what it must end with (nullopt: the stream stays open)
  // More the row demands, checked after delivery: a description of what is
  // wrong, or nullopt.
  std::function<std::optional<std::string>(MemoryPair& pair, Connection& victim)> after;
};

// What a ScriptWriter needs of the pair it writes over: the peer's
// Connection and what it sends, the key log for the forge, and the victim's
// own close. The catalogue writes over a MemoryPair; native mode
// (conformance/native) writes over a pair whose victim is a TLS library
// driven directly through its own I/O hooks, so that both see the same wire
// built by the same script.
class ScriptPair {
 public:
  virtual ~ScriptPair() = default;
  virtual Connection& peer() = 0;
  // The peer's pending output, taken off it (and kept as sent by it).
  virtual Bytes take_peer_output() = 0;
  // Key log lines holding the secrets of the peer's sending direction.
  virtual const std::vector<std::string>& peer_keylog() const = 0;
  // Everything the server sent so far (its ServerHello keys the TLS 1.2 forge).
  virtual std::span<const std::byte> server_wire() const = 0;
  // The victim sends its close_notify now (it crosses whatever the peer sends).
  virtual void victim_close() = 0;
  // The in-memory pair, for rows that drive both Connections; nullptr natively.
  virtual MemoryPair* memory_pair() { return nullptr; }
};

// Builds a Script from the peer side of an established pair.
class ScriptWriter {
 public:
  ScriptWriter(MemoryPair& pair, Role victim, TlsVersion version);
  ScriptWriter(ScriptPair& pair, Role victim, TlsVersion version);
  ~ScriptWriter();

  // Rows that drive both Connections themselves (R26) need the in-memory
  // pair; over a native victim this throws std::logic_error.
  MemoryPair& pair();
  Role victim() const { return victim_; }
  Role peer_role() const { return victim_ == Role::client ? Role::server : Role::client; }
  Connection& peer() { return over_.peer(); }
  TlsVersion version() const { return version_; }
  // The victim sends its close_notify (R29, R30, I08).
  void victim_close() { over_.victim_close(); }

  // The next n bytes of the peer's plaintext stream; expected unless `lost`.
  Bytes next_plaintext(std::size_t n, bool lost = false);
  // The peer sends n bytes of application data; expected unless `lost`.
  // Real records until the forge is first used, forged ones after.
  void data(std::size_t n, bool lost = false);
  void close_notify();
  void raw(std::span<const std::byte> bytes) { script_.wire.insert(script_.wire.end(), bytes.begin(), bytes.end()); }
  Forge& forge();  // takes over the peer's sending direction

  void end(TransportEnd end) { script_.end = end; }
  void expect(Verdict verdict) { script_.verdict = std::move(verdict); }
  void after(decltype(Script::after) check) { script_.after = std::move(check); }
  Bytes& wire() { return script_.wire; }
  // Offsets where each record of the wire starts.
  std::vector<std::size_t> record_starts() const;

  Script finish() { return std::move(script_); }

 private:
  void take_peer_output();

  std::unique_ptr<ScriptPair> owned_;  // the view of a MemoryPair this writer made
  ScriptPair& over_;
  Role victim_;
  TlsVersion version_;
  Script script_;
  std::size_t written_ = 0;  // plaintext bytes the peer sent (pattern offset)
  std::uint64_t peer_records_ = 0;
  std::optional<Forge> forge_;
};

// Builds a Script for a write-side row (W01-W07): the victim writes, and
// what it sends is delivered to the peer under the cell's schedule; the
// oracle is what the victim's write() calls reported as accepted (C10).
class VictimWriter {
 public:
  VictimWriter(MemoryPair& pair, Role victim, TlsVersion version);

  MemoryPair& pair() { return pair_; }
  Connection& victim() { return pair_.side(victim_); }
  Connection& peer() { return pair_.side(peer_role()); }
  Role peer_role() const { return victim_ == Role::client ? Role::server : Role::client; }
  TlsVersion version() const { return version_; }

  // One write() of the next n bytes of the victim's stream; what it
  // accepts is expected at the peer.
  IoResult write(std::size_t n);
  // Writes n bytes, however many calls it takes; whenever write() is
  // blocked, drains `drain_step` bytes of output() at a time (checking the
  // outbound queue's bound after every step) and writes again.
  void write_all(std::size_t n, std::size_t drain_step = SIZE_MAX);
  // Runs the handshake in memory. Records are moved whole until the peer's
  // handshake is done; from then on what the victim sends is the wire the
  // cell delivers under its schedule (W01: data sealed with the Finished).
  void handshake();
  // Moves output() to the wire, `step` bytes per consume_output().
  void drain(std::size_t step = SIZE_MAX);
  void close();
  // Feeds the victim what the peer (or the forge) sent, and lets it read.
  void deliver_to_victim(std::span<const std::byte> bytes);
  Forge& forge();  // takes over the peer's sending direction

  void end(TransportEnd end) { script_.end = end; }
  void expect(Verdict verdict) { script_.verdict = std::move(verdict); }
  void after(decltype(Script::after) check) { script_.after = std::move(check); }
  // A contract breach seen while building (e.g. the queue grew): fails the cell.
  void violation(std::string what);
  // What the victim sent after the peer's handshake finished, so far.
  std::span<const std::byte> wire() const { return script_.wire; }
  Script finish();

 private:
  void check_queue_bound();

  MemoryPair& pair_;
  Role victim_;
  TlsVersion version_;
  Script script_;
  std::size_t written_ = 0;  // bytes of the victim's stream offered so far
  std::uint64_t peer_records_ = 0;  // records the peer sent after the handshake
  std::optional<Forge> forge_;
  std::vector<std::string> violations_;
};

struct Cell;
struct CellResult;

// The clauses of the decrypt-pending contract (docs/design.md;
// core/include/lastbyte/connection.hpp), as a row names those it proves.
// clauses.hpp holds their statements and the tests beside the rows.
enum class Clause { C1 = 1, C2, C3, C4, C5, C6, C7, C8, C9, C10 };

// What a row's cells do: exactly one of these, so a row cannot be half one
// kind and half another.

// The peer sends a script (R rows, most I rows); the side under test reads it.
struct ReadScript {
  bool uses_forge = false;       // the peer sends no tickets, so the forge knows its sequence numbers
  bool handshake_first = true;   // false: `build` drives the handshake itself (R26)
  std::vector<std::size_t> extra_read_sizes = {};  // read sizes the row pins beyond the standard set
  bool memory_only = false;  // its checks inspect the victim's output before a transport would send it
  std::function<void(ScriptWriter&)> build = {};
};

// The side under test writes (W rows); what it sends is delivered to the
// peer. The row calls VictimWriter::handshake() where it wants the handshake.
struct WriteScript {
  bool uses_forge = false;  // what the peer sends after the handshake comes from the forge (W06)
  std::function<void(VictimWriter&)> writes = {};
};

// A row with its own cell runner (I01-I03 replay the handshake once per
// step): in memory only, since it drives both sides.
struct CellRunner {
  CellResult (*run)(const Cell& cell) = nullptr;
};

// A V row: the oracle is the client's certificate decision, with no byte
// stream to deliver, so one cell per version and backend pair
// (certificates.cpp holds what each row presents).
struct CertificateCheck {};

struct Scenario {
  std::string_view id = {};
  std::string_view title = {};
  // The contract clauses the row proves (lastbyte-conformance --clauses).
  std::vector<Clause> clauses = {};
  // Which (version, victim role) cells the row defines; nullptr: all. A cell
  // a *library* cannot run is reported as unsupported, never left out.
  bool (*applies)(TlsVersion version, Role victim) = nullptr;
  std::variant<ReadScript, WriteScript, CellRunner, CertificateCheck> body = ReadScript{};

  bool uses_forge() const;
  // Whether its cells also run over loopback TCP (tcp_cells_for).
  bool runs_over_tcp() const;
};

std::span<const Scenario> scenarios();
const Scenario* find_scenario(std::string_view id);

// One cell of the matrix.
struct Cell {
  const Scenario* scenario = nullptr;
  TlsVersion version = TlsVersion::tls1_3;
  Role victim = Role::client;
  const Backend* victim_backend = nullptr;
  const Backend* peer_backend = nullptr;
  Schedule schedule = {};
  std::size_t read_size = 512;
  bool over_tcp = false;  // real transport mode (the schedule is then TCP's own)

  std::string name() const;        // R01_tls13_client_openssl_openssl_whole_rb512 (a gtest name)
  std::string reproducer() const;  // a command line that re-runs exactly this cell
};

struct CellResult {
  // known_divergence: the cell fails the way docs/divergences.md records for
  // this library; counted and shown apart, never as a pass. A known
  // divergence that stops diverging is a failure (the list cannot rot).
  enum class Status { pass, fail, unsupported, known_divergence } status = Status::fail;
  std::string message;  // failure: the diff; unsupported / known divergence: why
};

// A documented divergence the adapter cannot normalise (the library decides
// inside its record layer, out of the core's and the adapter's sight).
struct KnownDivergence {
  std::string_view scenario;
  std::string_view victim_backend;
  Role victim;
  std::string_view why;  // the row of docs/divergences.md
};
std::span<const KnownDivergence> known_divergences();

CellResult run_cell(const Cell& cell);

// What the side under test ended with in a cell: for reports that show
// lastbyte's result beside another's (native mode).
struct Delivered {
  std::size_t bytes = 0;           // plaintext delivered (R and I rows)
  std::optional<Verdict> verdict;  // its verdict; V rows: the client's decision (nullopt: accepted)
};
CellResult run_cell(const Cell& cell, Delivered* delivered);

// Every cell of a scenario for one victim/peer backend pair.
std::vector<Cell> cells_for(const Scenario& scenario, const Backend& victim_backend, const Backend& peer_backend,
                            std::uint64_t random_seed);
// The same scenario over loopback TCP: both versions and roles, read sizes 7
// and 16384.
std::vector<Cell> tcp_cells_for(const Scenario& scenario, const Backend& victim_backend, const Backend& peer_backend);

}  // namespace lastbyte::conformance
