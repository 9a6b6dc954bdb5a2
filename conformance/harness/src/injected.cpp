// I01-I09: records an attacker (or a broken peer) injects, each with one
// verdict on every backend (docs/decisions.md, "Injected records").
//   I01-I03 plaintext alerts before each record the peer sends during the
//           handshake, as client and as server: nothing is authenticated yet;
//   I04-I09 unprotected or malformed records after the handshake.
#include "rows.hpp"

#include <lastbyte/engine/record.hpp>

#include <deque>
#include <stdexcept>

namespace lastbyte::conformance::detail {
namespace {

using S = CellResult::Status;
using enum Clause;

void feed_all(Connection& c, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    auto r = c.feed(bytes);
    if (r.bytes == 0) throw std::runtime_error("feed refused during the handshake: " + r.error.message());
    bytes = bytes.subspan(r.bytes);
  }
}

struct Injection {
  Bytes record;
  std::optional<Verdict> verdict;  // nullopt: ignored, the handshake goes on
};

Bytes plaintext_alert(int level, Alert alert) { return bytes({21, 3, 3, 0, 2, level, static_cast<int>(alert)}); }

// The handshake between the cell's backends, replayed once per step k:
// the peer's records reach the victim whole, one at a time, and the
// injection is delivered (under the cell's schedule and read size) right
// before the k-th of them, for every k until the victim's handshake is done.
std::optional<std::string> inject_at_every_step(const Cell& cell, const Injection& injection, int& steps) {
  Role victim_role = cell.victim, peer_role = cell.victim == Role::client ? Role::server : Role::client;
  bool victim_client = victim_role == Role::client;
  for (std::size_t step = 0;; ++step) {
    auto pair = MemoryPair::create(victim_client ? *cell.victim_backend : *cell.peer_backend,
                                   client_config(cell.version),
                                   victim_client ? *cell.peer_backend : *cell.victim_backend,
                                   server_config(cell.version));
    if (!pair) return "setup: " + pair.error().message();
    Connection& victim = pair->side(victim_role);
    Connection& peer = pair->side(peer_role);
    std::string at = "before the peer's handshake record " + std::to_string(step) + ": ";
    std::optional<Outcome> outcome;
    bool past_the_handshake = false;  // step k comes after the victim's last handshake record
    std::size_t given = 0;
    std::deque<Bytes> pending;  // the peer's records not yet given to the victim
    for (int round = 0; round < 16 && !(outcome && injection.verdict); ++round) {
      pair->transfer(victim_role);
      peer.handshake();
      Bytes out = pair->take_output(peer_role);
      auto starts = record_starts(out);
      for (std::size_t i = 0; i < starts.size(); ++i)
        pending.emplace_back(out.begin() + starts[i], i + 1 < starts.size() ? out.begin() + starts[i + 1] : out.end());
      while (!pending.empty() && !(outcome && injection.verdict) && !past_the_handshake) {
        if (given == step && !outcome && !past_the_handshake) {
          // Tickets after the victim's handshake are post-handshake records:
          // I05's rule, not this row's.
          past_the_handshake = victim.wants().handshake_done;
          if (!past_the_handshake)
            outcome = deliver(victim, injection.record, injection.verdict ? TransportEnd::fin : TransportEnd::none,
                              cell.schedule, cell.read_size);
          continue;
        }
        feed_all(victim, pending.front());
        pending.pop_front();
        ++given;
        victim.handshake();
      }
      if (victim.verdict() && !outcome) return at + "the handshake failed: " + describe(*victim.verdict());
      if (past_the_handshake || (victim.wants().handshake_done && peer.wants().handshake_done && pending.empty())) break;
    }
    if (!outcome) {  // every step has been tried
      steps = static_cast<int>(step);
      return step == 0 ? std::optional<std::string>("the peer sent no handshake record") : std::nullopt;
    }
    if (!outcome->violations.empty()) return at + "violation: " + outcome->violations.front();
    if (!outcome->plaintext.empty()) return at + std::to_string(outcome->plaintext.size()) + " bytes delivered";
    if (injection.verdict) {
      if (!outcome->verdict || !same_verdict(*injection.verdict, *outcome->verdict))
        return at + "expected " + describe(*injection.verdict) + ", got " +
               (outcome->verdict ? describe(*outcome->verdict) : "no verdict");
      continue;
    }
    // Ignored: the handshake completed, and the stream works to a clean end.
    if (outcome->verdict) return at + "the injection ended the stream: " + describe(*outcome->verdict);
    if (!victim.wants().handshake_done || !peer.wants().handshake_done) return at + "the handshake did not finish";
    if (peer.write(pattern(0, 100)).bytes != 100 || peer.close()) return at + "the peer cannot write and close";
    Bytes rest = pair->take_output(peer_role);
    Outcome end = deliver(victim, rest, TransportEnd::fin, Schedule{}, 512);
    if (end.plaintext != pattern(0, 100) || !end.verdict || !std::holds_alternative<CloseNotify>(*end.verdict))
      return at + "after the handshake: " + std::to_string(end.plaintext.size()) + " bytes, " +
             (end.verdict ? describe(*end.verdict) : "no verdict") + " (expected 100 bytes, close_notify)";
  }
}

template <int Row>
CellResult run_injection_row(const Cell& cell) {
  static const Injection injections[] = {
      {plaintext_alert(1, Alert::close_notify), PeerAlert{Alert::close_notify}},
      {plaintext_alert(2, Alert::handshake_failure), PeerAlert{Alert::handshake_failure}},
      {plaintext_alert(1, Alert::unrecognized_name), std::nullopt},
  };
  int steps = 0;
  try {
    if (auto problem = inject_at_every_step(cell, injections[Row], steps))
      return {S::fail, *problem + "\nreproduce: " + cell.reproducer()};
  } catch (const std::exception& e) {
    return {S::fail, std::string("harness: ") + e.what() + "\nreproduce: " + cell.reproducer()};
  }
  return {S::pass, std::to_string(steps) + " handshake steps"};
}

using W = ScriptWriter;
constexpr auto FIN = TransportEnd::fin;

// The suite's record expansion, from the peer's view of the session.
record::Sealing sealing_of(W& w) {
  auto info = w.peer().info();
  auto sealing = info ? record::sealing(info->version == TlsVersion::tls1_3, info->cipher) : std::nullopt;
  if (!sealing) throw std::runtime_error("no known suite negotiated");
  return *sealing;
}

// D(100), `injected`, D(100) that must never arrive, FIN.
void between_data(W& w, const Bytes& injected, Alert alert) {
  w.data(100), w.raw(injected), w.data(100, true);
  w.end(FIN), w.expect(ProtocolError{alert, {}});
}

}  // namespace

void add_injected_rows(Catalogue& catalogue) {
  // I01-I03 replay the handshake in memory, once per step.
  catalogue.add({.id = "I01",
                 .title = "plaintext close_notify before each handshake record: PeerAlert(close_notify), never clean",
                 .clauses = {C4, C5}, .body = CellRunner{.run = run_injection_row<0>}});
  catalogue.add({.id = "I02", .title = "plaintext fatal alert before each handshake record: PeerAlert(handshake_failure)",
                 .clauses = {C4, C5}, .body = CellRunner{.run = run_injection_row<1>}});
  catalogue.add({.id = "I03", .title = "plaintext warning alert before each handshake record: ignored, the stream goes on",
                 .clauses = {C4}, .body = CellRunner{.run = run_injection_row<2>}});
  catalogue.add({.id = "I04", .title = "plaintext ChangeCipherSpec after the handshake", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   between_data(w, bytes({20, 3, 3, 0, 1, 1}), Alert::unexpected_message);
                 }}});
  catalogue.add({.id = "I05", .title = "plaintext fatal alert after the handshake", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   between_data(w, plaintext_alert(2, Alert::internal_error), Alert::unexpected_message);
                 }}});
  catalogue.add({.id = "I06", .title = "plaintext handshake message (HelloRequest) after the handshake", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   between_data(w, bytes({22, 3, 3, 0, 4, 0, 0, 0, 0}), Alert::unexpected_message);
                 }}});
  catalogue.add({.id = "I07a", .title = "application-data record of length 0", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   between_data(w, bytes({23, 3, 3, 0, 0}), Alert::bad_record_mac);
                 }}});
  catalogue.add({.id = "I07b", .title = "application-data record one byte shorter than the suite's nonce and tag",
                 .clauses = {C4, C5}, .body = ReadScript{.build = [](W& w) {
                   std::size_t n = sealing_of(w).min_fragment() - 1;
                   Bytes record = bytes({23, 3, 3, 0, static_cast<int>(n)});
                   record.resize(5 + n, std::byte{0x42});
                   between_data(w, record, Alert::bad_record_mac);
                 }}});
  catalogue.add({.id = "I08", .title = "a record with a bad tag after our own close_notify", .clauses = {C5, C9},
                 .body = ReadScript{.build = [](W& w) {
                   w.victim_close();
                   w.data(100), w.data(100, true);
                   w.wire().back() ^= std::byte{0x01};
                   w.end(FIN), w.expect(ProtocolError{Alert::bad_record_mac, {}});
                 }}});
  catalogue.add({.id = "I09", .title = "a record with version 0x0301 after the handshake", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.data(100, true);
                   w.wire()[w.record_starts().back() + 2] = std::byte{1};
                   w.end(FIN), w.expect(ProtocolError{Alert::protocol_version, {}});
                 }}});
}

}  // namespace lastbyte::conformance::detail
