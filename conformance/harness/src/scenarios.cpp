// The catalogue as one list (its families are in rows.hpp), the cells of a
// row, and the runner of a cell.
#include <lastbyte/conformance/scenarios.hpp>

#include "certificates.hpp"
#include "rows.hpp"

#include <stdexcept>

namespace lastbyte::conformance {

namespace {

const std::vector<Scenario>& catalogue() {
  static const std::vector<Scenario> all = [] {
    detail::Catalogue catalogue;
    detail::add_read_rows(catalogue);
    detail::add_injected_rows(catalogue);
    detail::add_write_rows(catalogue);
    detail::add_certificate_rows(catalogue);
    return catalogue.take();
  }();
  return all;
}

}  // namespace

namespace detail {

Bytes bytes(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// A NewSessionTicket the client cannot tell from a real one (RFC 8446 §4.6.1).
Bytes new_session_ticket(int nonce) {
  Bytes body = bytes({0, 0, 0x1c, 0x20, 1, 2, 3, 4, 1, nonce, 0, 32});
  body.resize(body.size() + 32, static_cast<std::byte>(nonce));
  body.insert(body.end(), {std::byte{0}, std::byte{0}});
  Bytes message = bytes({4, 0, 0, static_cast<int>(body.size())});
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

}  // namespace detail

std::span<const Scenario> scenarios() { return catalogue(); }

bool Scenario::uses_forge() const {
  if (const auto* read = std::get_if<ReadScript>(&body)) return read->uses_forge;
  if (const auto* write = std::get_if<WriteScript>(&body)) return write->uses_forge;
  return false;
}

bool Scenario::runs_over_tcp() const {
  // A cell runner drives both sides in memory; a certificate check has no
  // byte stream to carry.
  if (const auto* read = std::get_if<ReadScript>(&body)) return !read->memory_only;
  return std::holds_alternative<WriteScript>(body);
}

const Scenario* find_scenario(std::string_view id) {
  for (const auto& s : catalogue())
    if (s.id == id) return &s;
  return nullptr;
}

// ---- cells ------------------------------------------------------------------

namespace {

std::string gtest_safe(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::string version_tag(TlsVersion v) { return v == TlsVersion::tls1_3 ? "tls13" : "tls12"; }

}  // namespace

std::string Cell::name() const {
  return gtest_safe(std::string(scenario->id) + "_" + version_tag(version) + "_" +
                    (victim == Role::client ? "client" : "server") + "_" + std::string(victim_backend->name) + "_" +
                    std::string(peer_backend->name) + "_" + (over_tcp ? "tcp" : schedule.name()) + "_rb" +
                    std::to_string(read_size));
}

std::string Cell::reproducer() const {
  return "lastbyte-conformance --scenario " + std::string(scenario->id) + " --version " +
         (version == TlsVersion::tls1_3 ? "1.3" : "1.2") + " --role " + (victim == Role::client ? "client" : "server") +
         " --backend " + std::string(victim_backend->name) + " --peer " + std::string(peer_backend->name) +
         (over_tcp ? " --transport tcp" : " --schedule " + schedule.name()) + " --read-size " + std::to_string(read_size) +
         "   (or: lastbyte-catalogue-tests --gtest_filter='*/" + name() + "')";
}

std::vector<Cell> cells_for(const Scenario& scenario, const Backend& victim_backend, const Backend& peer_backend,
                            std::uint64_t random_seed) {
  std::vector<std::size_t> sizes(std::begin(read_sizes), std::end(read_sizes));
  if (const auto* read = std::get_if<ReadScript>(&scenario.body))
    sizes.insert(sizes.end(), read->extra_read_sizes.begin(), read->extra_read_sizes.end());
  bool certificate = std::holds_alternative<CertificateCheck>(scenario.body);
  std::vector<Cell> cells;
  for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2})
    for (Role victim : {Role::client, Role::server}) {
      if (scenario.applies && !scenario.applies(version, victim)) continue;
      if (certificate) {
        cells.push_back({.scenario = &scenario, .version = version, .victim = victim, .victim_backend = &victim_backend,
                         .peer_backend = &peer_backend});
        continue;
      }
      for (const Schedule& schedule : all_schedules(random_seed))
        for (std::size_t size : sizes)
          cells.push_back({.scenario = &scenario, .version = version, .victim = victim,
                           .victim_backend = &victim_backend, .peer_backend = &peer_backend, .schedule = schedule,
                           .read_size = size});
    }
  return cells;
}

std::vector<Cell> tcp_cells_for(const Scenario& scenario, const Backend& victim_backend, const Backend& peer_backend) {
  std::vector<Cell> cells;
  if (!scenario.runs_over_tcp()) return cells;
  for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2})
    for (Role victim : {Role::client, Role::server}) {
      if (scenario.applies && !scenario.applies(version, victim)) continue;
      for (std::size_t size : {std::size_t{7}, std::size_t{16384}})
        cells.push_back({.scenario = &scenario, .version = version, .victim = victim, .victim_backend = &victim_backend,
                         .peer_backend = &peer_backend, .read_size = size, .over_tcp = true});
    }
  return cells;
}

namespace {

std::string hexdump_around(std::span<const std::byte> bytes, std::size_t at) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = at; i < std::min(bytes.size(), at + 8); ++i) {
    auto b = std::to_integer<unsigned>(bytes[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out.empty() ? "(end)" : out;
}

std::string compare(const Script& script, const Outcome& outcome) {
  std::string diff;
  if (auto at = first_difference(script.plaintext, outcome.plaintext))
    diff += "bytes: expected " + std::to_string(script.plaintext.size()) + ", got " +
            std::to_string(outcome.plaintext.size()) + "; first difference at offset " + std::to_string(*at) +
            " (expected " + hexdump_around(script.plaintext, *at) + ", got " + hexdump_around(outcome.plaintext, *at) +
            ")\n";
  bool verdict_ok = script.verdict ? outcome.verdict && same_verdict(*script.verdict, *outcome.verdict)
                                   : !outcome.verdict.has_value();
  if (!verdict_ok)
    diff += "verdict: expected " + (script.verdict ? describe(*script.verdict) : "none (stream open)") + ", got " +
            (outcome.verdict ? describe(*outcome.verdict) : "none") + "\n";
  for (const auto& v : outcome.violations) diff += "violation: " + v + "\n";
  return diff;
}

}  // namespace

std::span<const KnownDivergence> known_divergences() {
  static constexpr KnownDivergence all[] = {
      {"R23", "wolfssl", Role::client,
       "wolfSSL 5.5 accepts a KeyUpdate that is not the last message of its record (RFC 8446 §5.1 requires "
       "unexpected_message); its verdict then depends on what follows (bad_record_mac here)"},
      {"R23", "rustls", Role::client,
       "rustls 0.20 accepts a KeyUpdate that is not the last message of its record (it checks only for a "
       "partial message behind it; RFC 8446 §5.1 requires unexpected_message); the record after it then fails "
       "under the new keys (bad_record_mac here)"},
  };
  return all;
}

std::span<const PairLimit> pair_limits() {
  static constexpr PairLimit all[] = {
      {"wolfssl", "rustls", TlsVersion::tls1_3,
       "Debian's wolfSSL 5.5.4 client keeps TLS 1.3 ticket nonces of at most 8 bytes (MAX_TICKET_NONCE_SZ) and "
       "fails the connection (INVALID_PARAMETER, -425) on the first ticket of a rustls 0.20 server, whose nonces "
       "are 32 bytes (RFC 8446 allows 255)"},
  };
  return all;
}

const PairLimit* pair_limit(const Backend& client, const Backend& server, TlsVersion version) {
  for (const auto& limit : pair_limits())
    if (limit.client_backend == client.name && limit.server_backend == server.name && limit.version == version)
      return &limit;
  return nullptr;
}

std::string describe(const PairLimit& limit) {
  return "unsupported by this pair of libraries (" + std::string(limit.client_backend) + " client, " +
         std::string(limit.server_backend) + " server, " + std::string(to_string(limit.version)) +
         "): " + std::string(limit.why);
}

namespace {

const KnownDivergence* known_divergence(const Cell& cell) {
  for (const auto& d : known_divergences())
    if (d.scenario == cell.scenario->id && d.victim_backend == cell.victim_backend->name && d.victim == cell.victim)
      return &d;
  return nullptr;
}

CellResult run_cell_unchecked(const Cell& cell, Delivered* delivered);

}  // namespace

CellResult run_cell(const Cell& cell) { return run_cell(cell, nullptr); }

CellResult run_cell(const Cell& cell, Delivered* delivered) {
  CellResult result = run_cell_unchecked(cell, delivered);
  const KnownDivergence* divergence = known_divergence(cell);
  if (!divergence || result.status == CellResult::Status::unsupported) return result;
  if (result.status == CellResult::Status::pass)
    return {CellResult::Status::fail, "listed as a known divergence but passes now: remove it from "
                                      "known_divergences() and docs/divergences.md (" + std::string(divergence->why) + ")"};
  return {CellResult::Status::known_divergence, std::string(divergence->why) + "\n" + result.message};
}

namespace {

CellResult run_cell_unchecked(const Cell& cell, Delivered* delivered) {
  using S = CellResult::Status;
  for (const Backend* b : {cell.victim_backend, cell.peer_backend})
    if (!b->supports(cell.version))
      return {S::unsupported, std::string(to_string(cell.version)) + " unsupported by this library (" +
                                  b->library_version() + ")"};
  const Backend& client_backend = cell.victim == Role::client ? *cell.victim_backend : *cell.peer_backend;
  const Backend& server_backend = cell.victim == Role::client ? *cell.peer_backend : *cell.victim_backend;
  if (const PairLimit* limit = pair_limit(client_backend, server_backend, cell.version))
    return {S::unsupported, describe(*limit)};
  // The forge protects the peer's records with the peer's traffic secrets,
  // which either side's key log carries.
  if (cell.scenario->uses_forge() && !cell.peer_backend->exports_secrets(cell.version) &&
      !cell.victim_backend->exports_secrets(cell.version))
    return {S::unsupported, "the record forge needs " + std::string(to_string(cell.version)) +
                                " traffic secrets, which neither library build can export (" +
                                cell.peer_backend->library_version() + ")"};
  const Scenario& row = *cell.scenario;
  if (std::holds_alternative<CertificateCheck>(row.body)) return detail::run_certificate_cell(cell, delivered);
  if (const auto* runner = std::get_if<CellRunner>(&row.body)) return runner->run(cell);
  try {
    Config client = client_config(cell.version), server = server_config(cell.version);
    if (row.uses_forge()) (cell.victim == Role::client ? server : client).session_tickets = false;
    bool victim_client = cell.victim == Role::client;
    auto pair = MemoryPair::create(victim_client ? *cell.victim_backend : *cell.peer_backend, std::move(client),
                                   victim_client ? *cell.peer_backend : *cell.victim_backend, std::move(server));
    if (!pair) return {S::fail, "setup: " + pair.error().message()};
    Script script;
    // R rows: the peer's wire is delivered to the victim. W rows: the
    // victim's wire is delivered to the peer.
    Role reader = cell.victim;
    if (const auto* write = std::get_if<WriteScript>(&row.body)) {
      VictimWriter writer(*pair, cell.victim, cell.version);
      write->writes(writer);
      script = writer.finish();
      reader = writer.peer_role();
    } else {
      const auto& read = std::get<ReadScript>(row.body);
      if (read.handshake_first)
        if (auto error = pair->handshake()) return {S::fail, "handshake: " + *error};
      ScriptWriter writer(*pair, cell.victim, cell.version);
      read.build(writer);
      script = writer.finish();
    }
    Connection& receiver = pair->side(reader);
    Outcome outcome = cell.over_tcp
                          ? deliver_over_tcp(receiver, script.wire, script.end, cell.read_size, script.plaintext.size())
                          : deliver(receiver, script.wire, script.end, cell.schedule, cell.read_size);
    if (delivered) *delivered = {.bytes = outcome.plaintext.size(), .verdict = outcome.verdict};
    std::string diff = compare(script, outcome);
    if (script.after)
      if (auto problem = script.after(*pair, pair->side(cell.victim))) diff += *problem + "\n";
    if (diff.empty()) return {S::pass, {}};
    return {S::fail, diff + "reproduce: " + cell.reproducer()};
  } catch (const std::exception& e) {
    return {S::fail, std::string("harness: ") + e.what() + "\nreproduce: " + cell.reproducer()};
  }
}

}  // namespace

}  // namespace lastbyte::conformance
