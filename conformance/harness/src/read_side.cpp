// R01-R35 (docs/scenarios.md: close racing with buffered records,
// post-handshake traffic, closing): the peer sends a script, built on a real
// connection after a real handshake, and the side under test reads it. The
// oracle is the script itself: the bytes the peer sent before the end and the
// verdict the contract mandates. ScriptWriter, which builds the scripts,
// lives here too.
#include "rows.hpp"

#include <random>
#include <stdexcept>

namespace lastbyte::conformance {

// ---- ScriptWriter -----------------------------------------------------------

namespace {

// The catalogue's pair as a ScriptWriter sees it.
class MemoryPairView final : public ScriptPair {
 public:
  MemoryPairView(MemoryPair& pair, Role victim) : pair_(pair), victim_(victim) {}
  Connection& peer() override { return pair_.side(peer_role()); }
  Bytes take_peer_output() override { return pair_.take_output(peer_role()); }
  const std::vector<std::string>& peer_keylog() const override { return pair_.keylog_for(peer_role()); }
  std::span<const std::byte> server_wire() const override { return pair_.sent_by(Role::server); }
  void victim_close() override {
    if (auto e = pair_.side(victim_).close()) throw std::runtime_error("the victim cannot close: " + e.message());
  }
  MemoryPair* memory_pair() override { return &pair_; }

 private:
  Role peer_role() const { return victim_ == Role::client ? Role::server : Role::client; }
  MemoryPair& pair_;
  Role victim_;
};

}  // namespace

ScriptWriter::ScriptWriter(MemoryPair& pair, Role victim, TlsVersion version)
    : owned_(std::make_unique<MemoryPairView>(pair, victim)), over_(*owned_), victim_(victim), version_(version) {}

ScriptWriter::ScriptWriter(ScriptPair& pair, Role victim, TlsVersion version)
    : over_(pair), victim_(victim), version_(version) {}

ScriptWriter::~ScriptWriter() = default;

MemoryPair& ScriptWriter::pair() {
  if (MemoryPair* memory = over_.memory_pair()) return *memory;
  throw std::logic_error("this row drives both Connections itself: it needs an in-memory pair");
}

Bytes ScriptWriter::next_plaintext(std::size_t n, bool lost) {
  Bytes bytes = pattern(written_, n);
  written_ += n;
  if (!lost) script_.plaintext.insert(script_.plaintext.end(), bytes.begin(), bytes.end());
  return bytes;
}

void ScriptWriter::take_peer_output() {
  Bytes out = over_.take_peer_output();
  peer_records_ += conformance::record_starts(out).size();
  raw(out);
}

void ScriptWriter::data(std::size_t n, bool lost) {
  Bytes bytes = next_plaintext(n, lost);
  std::span<const std::byte> rest(bytes);
  if (forge_) {
    do {  // n == 0: one empty record
      raw(forge_->data(rest.first(std::min(rest.size(), record::max_plaintext))));
      rest = rest.subspan(std::min(rest.size(), record::max_plaintext));
    } while (!rest.empty());
    return;
  }
  while (!rest.empty()) {
    auto r = peer().write(rest);
    if (r.status != IoStatus::ok) throw std::runtime_error("the peer refused to write: " + r.error.message());
    rest = rest.subspan(r.bytes);
    take_peer_output();
  }
}

void ScriptWriter::close_notify() {
  if (forge_) {
    const std::byte warning_close_notify[] = {std::byte{1}, std::byte{0}};
    return raw(forge_->record(record::ContentType::alert, warning_close_notify));
  }
  if (auto e = peer().close()) throw std::runtime_error("the peer cannot close: " + e.message());
  take_peer_output();
}

Forge& ScriptWriter::forge() {
  if (forge_) return *forge_;
  auto info = peer().info();
  if (!info) throw std::runtime_error("forge before the handshake: " + info.error().message());
  std::uint64_t first_seq = (version_ == TlsVersion::tls1_2 ? 1 : 0) + peer_records_;  // TLS 1.2: Finished was 0
  auto forge = Forge::create(version_, info->cipher, peer_role(), over_.peer_keylog(), over_.server_wire(), first_seq);
  if (!forge) throw std::runtime_error("forge: " + forge.error().message());
  return forge_.emplace(std::move(*forge));
}

std::vector<std::size_t> ScriptWriter::record_starts() const { return conformance::record_starts(script_.wire); }

// ---- the rows ---------------------------------------------------------------

namespace detail {
namespace {

using W = ScriptWriter;
using enum Clause;
constexpr auto FIN = TransportEnd::fin;
constexpr auto RST = TransportEnd::rst;

// Keeps `keep` bytes of the last record of the wire; returns the bytes kept.
std::size_t cut_last_record(W& w, std::size_t keep) {
  std::size_t start = w.record_starts().back();
  w.wire().resize(start + keep);
  return keep;
}

std::size_t last_record_size(W& w) { return w.wire().size() - w.record_starts().back(); }

bool tls13(TlsVersion v, Role) { return v == TlsVersion::tls1_3; }
bool tls12(TlsVersion v, Role) { return v == TlsVersion::tls1_2; }
bool tls13_client(TlsVersion v, Role victim) { return v == TlsVersion::tls1_3 && victim == Role::client; }
bool tls12_client(TlsVersion v, Role victim) { return v == TlsVersion::tls1_2 && victim == Role::client; }
bool tls12_server(TlsVersion v, Role victim) { return v == TlsVersion::tls1_2 && victim == Role::server; }
// Data can ride with the final flight only to a TLS 1.3 server (the
// client's Finished) or a TLS 1.2 client (the server's Finished).
bool final_flight_can_carry_data(TlsVersion v, Role victim) { return (v == TlsVersion::tls1_3) == (victim == Role::server); }

// A TLS 1.2 ClientHello as a client would send to start renegotiation
// (RFC 5246 §7.4.1.2): one ECDHE-ECDSA-AES128-GCM suite, no extensions.
Bytes renegotiation_client_hello() {
  Bytes body = bytes({3, 3});
  body.resize(body.size() + 32, std::byte{0x5a});  // random
  Bytes tail = bytes({0, 0, 2, 0xc0, 0x2b, 1, 0});  // session id, cipher suites, compression
  body.insert(body.end(), tail.begin(), tail.end());
  Bytes message = bytes({1, 0, 0, static_cast<int>(body.size())});
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

// R22: after a KeyUpdate(update_requested) the victim's next write must come
// after a KeyUpdate of its own: one write, two records.
std::optional<std::string> answers_key_update(MemoryPair& pair, Connection& victim) {
  Role role = victim.role();
  std::size_t before = record_starts(pair.take_output(role)).size();
  if (victim.write("x").status != IoStatus::ok) return "the victim cannot write after the KeyUpdate";
  std::size_t records = before + record_starts(pair.take_output(role)).size();
  if (records == 2) return std::nullopt;
  return "after KeyUpdate(update_requested) the victim sent " + std::to_string(records) +
         " records for one write (expected its KeyUpdate, then the data)";
}

// R27/R28: after the peer's close_notify, what the victim may still send.
std::optional<std::string> half_close(MemoryPair& pair, Connection& victim) {
  Role peer_role = victim.role() == Role::client ? Role::server : Role::client;
  Connection& peer = pair.side(peer_role);
  auto write = victim.write(std::string(1000, 'h'));
  bool tls13 = victim.info()->version == TlsVersion::tls1_3;
  if (!tls13) {
    // RFC 5246 §7.2.1: our close_notify answered the peer's at once; no more data.
    if (write.error != errc::write_after_peer_close_tls12) return "TLS 1.2: write after the peer's close_notify was not refused";
  } else if (write.status != IoStatus::ok || write.bytes != 1000) {
    return "TLS 1.3: the victim could not write after the peer's close_notify";
  }
  if (victim.close()) return "close() after the peer's close_notify failed";
  pair.transfer(victim.role());
  std::string got;
  std::byte buf[4096];
  for (IoResult r; (r = peer.read(buf)).status == IoStatus::ok;) got.append(reinterpret_cast<const char*>(buf), r.bytes);
  std::string expected = tls13 ? std::string(1000, 'h') : std::string();
  if (got != expected) return "the peer received " + std::to_string(got.size()) + " bytes after its close_notify, expected " +
                              std::to_string(expected.size());
  if (!peer.verdict() || !std::holds_alternative<CloseNotify>(*peer.verdict()))
    return "the peer did not see the victim's close_notify: " + (peer.verdict() ? describe(*peer.verdict()) : "no verdict");
  return std::nullopt;
}

void r26_final_flight_with_data(W& w) {
  MemoryPair& pair = w.pair();
  Role peer = w.peer_role();
  pair.transfer(Role::client);  // ClientHello
  pair.server().handshake();
  if (w.victim() == Role::server) {
    // TLS 1.3: the client's Finished and its first data leave together.
    w.peer().write(w.next_plaintext(200));  // held until the handshake is done
    pair.transfer(Role::server);
    pair.client().handshake();
  } else {
    // TLS 1.2: the server's CCS+Finished and its first data leave together.
    pair.transfer(Role::server);
    pair.client().handshake();
    pair.transfer(Role::client);
    pair.server().handshake();
    w.peer().write(w.next_plaintext(200));
  }
  w.raw(pair.take_output(peer));
}

}  // namespace

void add_read_rows(Catalogue& catalogue) {
  catalogue.add({.id = "R01", .title = "D(100) CN FIN in one read", .clauses = {C1, C3, C4},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R02", .title = "D(100) CN FIN, one byte per read", .clauses = {C1, C6},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R03", .title = "3xD(100) CN FIN; the verdict never overtakes data", .clauses = {C1, C6},
                 .body = ReadScript{.build = [](W& w) {
                   for (int i = 0; i < 3; ++i) w.data(100);
                   w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R04", .title = "3xD(100) FIN without close_notify", .clauses = {C3, C4},
                 .body = ReadScript{.build = [](W& w) {
                   for (int i = 0; i < 3; ++i) w.data(100);
                   w.end(FIN), w.expect(Truncated{0});
                 }}});
  catalogue.add({.id = "R05", .title = "D(100) + 3 bytes of the next header, FIN", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.data(100, true);
                   w.expect(Truncated{cut_last_record(w, 3)}), w.end(FIN);
                 }}});
  catalogue.add({.id = "R06", .title = "D(100) + the next record cut inside its tag, FIN", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.data(100, true);
                   w.expect(Truncated{cut_last_record(w, last_record_size(w) - 8)}), w.end(FIN);
                 }}});
  catalogue.add({.id = "R07", .title = "D(100) + half of the close_notify record, FIN", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.close_notify();
                   w.expect(Truncated{cut_last_record(w, last_record_size(w) / 2)}), w.end(FIN);
                 }}});
  catalogue.add({.id = "R08", .title = "2xD(100) then RST", .clauses = {C8}, .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.data(100), w.end(RST), w.expect(Reset{0});
                 }}});
  catalogue.add({.id = "R09", .title = "D(50) CN then RST", .clauses = {C4, C8},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(50), w.close_notify(), w.end(RST), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R10", .title = "D(50) CN + 37 random bytes, FIN", .clauses = {C4},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(50), w.close_notify();
                   std::mt19937 rng(37);
                   Bytes junk(37);
                   for (auto& b : junk) b = static_cast<std::byte>(rng());
                   w.raw(junk), w.end(FIN), w.expect(CloseNotify{37});
                 }}});
  catalogue.add({.id = "R11", .title = "D(50) CN D(50) validly protected", .clauses = {C4},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(50), w.close_notify(), w.forge();
                   std::size_t before = w.wire().size();
                   w.data(50, true), w.end(FIN), w.expect(CloseNotify{w.wire().size() - before});
                 }}});
  catalogue.add({.id = "R12", .title = "D(100) + fatal alert internal_error", .clauses = {C1, C4},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().alert(Alert::internal_error));
                   w.end(FIN), w.expect(PeerAlert{Alert::internal_error});
                 }}});
  catalogue.add({.id = "R13", .title = "D1 D2 D3(tag flipped) D4", .clauses = {C1, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.data(100), w.data(100, true);
                   w.wire().back() ^= std::byte{0x01};
                   w.data(100, true), w.end(FIN), w.expect(ProtocolError{Alert::bad_record_mac, {}});
                 }}});
  catalogue.add({.id = "R14", .title = "D(10) 3xD(0) D(10) CN", .clauses = {C1, C2},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(10), w.forge();
                   for (int i = 0; i < 3; ++i) w.data(0);
                   w.data(10), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R15", .title = "D(10) then 33xD(0): the 4th empty record in a row is refused", .clauses = {C4},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(10), w.forge();
                   for (int i = 0; i < 33; ++i) w.data(0);
                   w.end(FIN), w.expect(ProtocolError{Alert::unexpected_message, {}});
                 }}});
  catalogue.add({.id = "R17", .title = "D(16384) in TCP segments", .clauses = {C6},
                 .body = ReadScript{.extra_read_sizes = {1000}, .build = [](W& w) {
                   w.data(16384), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R18", .title = "D(100) then a record of 16385 plaintext bytes", .clauses = {C4, C5},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.forge();
                   w.raw(w.forge().data(w.next_plaintext(record::max_plaintext + 1, true)));
                   w.end(FIN), w.expect(ProtocolError{Alert::record_overflow, {}});
                 }}});
  catalogue.add({.id = "R19", .title = "D(100) then a header claiming an oversized record, FIN", .clauses = {C4},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100);
                   std::size_t len = w.version() == TlsVersion::tls1_3 ? record::max_fragment_tls13 + 1
                                                                       : record::max_fragment_tls12 + 1;
                   const Bytes header{std::byte{23}, std::byte{3}, std::byte{3}, static_cast<std::byte>(len >> 8),
                                      static_cast<std::byte>(len & 0xff)};
                   w.raw(header), w.end(FIN), w.expect(ProtocolError{Alert::record_overflow, {}});
                 }}});
  catalogue.add({.id = "R20", .title = "T13: D(8192)+8192 padding, then D(8192)+8193 padding", .clauses = {C4},
                 .applies = tls13, .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.forge();
                   w.raw(w.forge().record(record::ContentType::application_data, w.next_plaintext(8192), 8192));
                   w.raw(w.forge().record(record::ContentType::application_data, w.next_plaintext(8192, true), 8193));
                   w.end(FIN), w.expect(ProtocolError{Alert::record_overflow, {}});
                 }}});
  catalogue.add({.id = "R21", .title = "T13: a record of padding only", .clauses = {C4}, .applies = tls13,
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().inner(Bytes(10))), w.data(100, true);
                   w.end(FIN), w.expect(ProtocolError{Alert::unexpected_message, {}});
                 }}});
  catalogue.add({.id = "R22", .title = "T13: D(100) KeyUpdate(update_requested) D(100)", .clauses = {C7},
                 .applies = tls13,
                 .body = ReadScript{.uses_forge = true, .extra_read_sizes = {64}, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().key_update(1)), w.data(100), w.close_notify();
                   w.end(FIN), w.expect(CloseNotify{}), w.after(answers_key_update);
                 }}});
  catalogue.add({.id = "R23", .title = "T13: KeyUpdate and another handshake message in one record", .clauses = {C4, C7},
                 .applies = tls13, .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100);
                   Bytes messages = bytes({24, 0, 0, 1, 0});
                   Bytes ticket = new_session_ticket(1);
                   messages.insert(messages.end(), ticket.begin(), ticket.end());
                   w.raw(w.forge().record(record::ContentType::handshake, messages)), w.data(100, true);
                   w.end(FIN), w.expect(ProtocolError{Alert::unexpected_message, {}});
                 }}});
  catalogue.add({.id = "R24", .title = "T13: KeyUpdate with request_update=42", .clauses = {C4, C7},
                 .applies = tls13, .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().key_update(42));
                   w.end(FIN), w.expect(ProtocolError{Alert::illegal_parameter, {}});
                 }}});
  catalogue.add({.id = "R25", .title = "T13: NST D(50) NST D(50) CN", .clauses = {C7}, .applies = tls13_client,
                 .body = ReadScript{.uses_forge = true, .extra_read_sizes = {16}, .build = [](W& w) {
                   for (int i = 1; i <= 2; ++i) {
                     w.raw(w.forge().record(record::ContentType::handshake, new_session_ticket(i)));
                     w.data(50);
                   }
                   w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                   w.after([](MemoryPair& pair, Connection&) -> std::optional<std::string> {
                     if (pair.client_sessions() == 2) return std::nullopt;
                     return "tickets surfaced to on_new_session: " + std::to_string(pair.client_sessions()) +
                            ", expected 2";
                   });
                 }}});
  catalogue.add({.id = "R26", .title = "final handshake flight and D(200) in one read", .clauses = {C2, C7},
                 .applies = final_flight_can_carry_data,
                 .body = ReadScript{.handshake_first = false, .build = r26_final_flight_with_data}});
  catalogue.add({.id = "R27", .title = "half-close: the peer sends CN and keeps reading", .clauses = {C9},
                 .applies = tls13, .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.close_notify(), w.expect(CloseNotify{}), w.after(half_close);
                 }}});
  catalogue.add({.id = "R28", .title = "T12: the same script; RFC 5246 §7.2.1", .clauses = {C9},
                 .applies = tls12, .body = ReadScript{.build = [](W& w) {
                   w.data(100), w.close_notify(), w.expect(CloseNotify{}), w.after(half_close);
                 }}});
  catalogue.add({.id = "R29", .title = "both sides send close_notify at once", .clauses = {C9},
                 .body = ReadScript{.memory_only = true, .build = [](W& w) {
                   w.victim_close();  // ours crosses the peer's on the wire
                   w.data(100), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                   w.after([](MemoryPair& pair, Connection& victim) -> std::optional<std::string> {
                     if (!victim.wants().output) return "the victim's close_notify was not queued";
                     pair.transfer(victim.role());
                     Connection& peer = pair.side(victim.role() == Role::client ? Role::server : Role::client);
                     std::byte buf[64];
                     while (peer.read(buf).status == IoStatus::ok) {
                     }
                     if (peer.verdict() && std::holds_alternative<CloseNotify>(*peer.verdict())) return std::nullopt;
                     return "the peer's verdict: " + (peer.verdict() ? describe(*peer.verdict()) : "none");
                   });
                 }}});
  catalogue.add({.id = "R30", .title = "T13: we sent CN; the peer sends D(100) before its own CN", .clauses = {C1, C9},
                 .applies = tls13, .body = ReadScript{.build = [](W& w) {
                   w.victim_close();
                   w.data(100), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R31", .title = "T12: HelloRequest between D(100) and D(100)", .clauses = {C7},
                 .applies = tls12_client, .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.forge();
                   const Bytes hello_request{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
                   w.raw(w.forge().record(record::ContentType::handshake, hello_request));
                   w.data(100), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "R32", .title = "T12: the client asks to renegotiate between D(100) and D(100)", .clauses = {C4, C7},
                 .applies = tls12_server, .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().record(record::ContentType::handshake, renegotiation_client_hello()));
                   w.data(100, true), w.end(FIN), w.expect(ProtocolError{Alert::no_renegotiation, {}});
                 }}});
  catalogue.add({.id = "R33a", .title = "an alert split across two records", .clauses = {C4},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().record(record::ContentType::alert, bytes({1})));
                   w.raw(w.forge().record(record::ContentType::alert, bytes({0})));
                   w.end(FIN), w.expect(ProtocolError{Alert::decode_error, {}});
                 }}});
  catalogue.add({.id = "R33b", .title = "two alerts in one record", .clauses = {C4},
                 .body = ReadScript{.uses_forge = true, .build = [](W& w) {
                   w.data(100), w.raw(w.forge().record(record::ContentType::alert, bytes({1, 0, 1, 0})));
                   w.end(FIN), w.expect(ProtocolError{Alert::decode_error, {}});
                 }}});
  catalogue.add({.id = "R34", .title = "D(100) then a record of unknown content type", .clauses = {C4, C5},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(100);
                   const Bytes odd{std::byte{99}, std::byte{3}, std::byte{3}, std::byte{0}, std::byte{4},
                                   std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
                   w.raw(odd), w.data(100, true), w.end(FIN), w.expect(ProtocolError{Alert::unexpected_message, {}});
                 }}});
  catalogue.add({.id = "R35", .title = "1 MiB in max-size records, CN FIN", .clauses = {C1, C6},
                 .body = ReadScript{.build = [](W& w) {
                   w.data(1 << 20), w.close_notify(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
}

}  // namespace detail
}  // namespace lastbyte::conformance
