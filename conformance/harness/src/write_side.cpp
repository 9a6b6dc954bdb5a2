// W01-W07 (docs/scenarios.md, "The write side"): the victim writes; what it sends
// is delivered to the peer under the cell's schedule and read in the cell's
// read size. The oracle: the peer receives exactly the bytes the victim's
// write() calls reported as accepted, in order, then the victim's
// close_notify where the row closes (C10).
#include "rows.hpp"

#include <lastbyte/conformance/scenarios.hpp>

#include <stdexcept>

namespace lastbyte::conformance {

namespace {

void feed_all(Connection& c, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    auto r = c.feed(bytes);
    if (r.bytes == 0) throw std::runtime_error("feed refused during the handshake: " + r.error.message());
    bytes = bytes.subspan(r.bytes);
  }
}

}  // namespace

VictimWriter::VictimWriter(MemoryPair& pair, Role victim, TlsVersion version)
    : pair_(pair), victim_(victim), version_(version) {}

void VictimWriter::violation(std::string what) { violations_.push_back(std::move(what)); }

void VictimWriter::check_queue_bound() {
  std::size_t capacity = Config{}.outbound_capacity;
  if (victim().output().size() > capacity && violations_.empty())
    violation("C10: output() holds " + std::to_string(victim().output().size()) + " bytes, above outbound_capacity (" +
              std::to_string(capacity) + ")");
}

IoResult VictimWriter::write(std::size_t n) {
  Bytes bytes = pattern(written_, n);
  IoResult r = victim().write(bytes);
  if (r.status == IoStatus::ok) {
    written_ += r.bytes;
    script_.plaintext.insert(script_.plaintext.end(), bytes.begin(), bytes.begin() + r.bytes);
  }
  check_queue_bound();
  return r;
}

void VictimWriter::write_all(std::size_t n, std::size_t drain_step) {
  Bytes bytes = pattern(written_, n);
  std::span<const std::byte> rest(bytes);
  for (int stalls = 0; !rest.empty();) {
    IoResult r = victim().write(rest);
    if (r.status == IoStatus::refused || r.status == IoStatus::end)
      return violation("write() " + std::string(r.status == IoStatus::end ? "ended" : "refused: " + r.error.message()) +
                       " with " + std::to_string(rest.size()) + " bytes left to write");
    if (r.bytes > 0) {
      script_.plaintext.insert(script_.plaintext.end(), rest.begin(), rest.begin() + r.bytes);
      written_ += r.bytes;
      rest = rest.subspan(r.bytes);
      stalls = 0;
    }
    check_queue_bound();
    if (r.status != IoStatus::blocked) continue;
    if (victim().output().empty()) {
      // blocked with nothing to send: only the handshake can move it on
      if (++stalls > 2) return violation("write() is blocked while output() is empty (C10 stall)");
      continue;
    }
    std::size_t k = std::min(drain_step, victim().output().size());
    auto out = victim().output().first(k);
    script_.wire.insert(script_.wire.end(), out.begin(), out.end());
    victim().consume_output(k);
  }
}

void VictimWriter::drain(std::size_t step) {
  while (!victim().output().empty()) {
    std::size_t k = std::min(step, victim().output().size());
    auto out = victim().output().first(k);
    script_.wire.insert(script_.wire.end(), out.begin(), out.end());
    victim().consume_output(k);
    check_queue_bound();
  }
}

void VictimWriter::handshake() {
  for (int round = 0; round < 16; ++round) {
    feed_all(victim(), pair_.take_output(peer_role()));
    victim().handshake();
    // Whole records until the peer is done, so that the peer's handshake
    // never depends on the schedule; what follows is the row's wire.
    Bytes from_victim = pair_.take_output(victim_);
    auto starts = record_starts(from_victim);
    std::size_t i = 0;
    for (; i < starts.size() && !peer().wants().handshake_done; ++i) {
      std::size_t end = i + 1 < starts.size() ? starts[i + 1] : from_victim.size();
      feed_all(peer(), std::span(from_victim).subspan(starts[i], end - starts[i]));
      peer().handshake();
    }
    if (i < starts.size()) script_.wire.insert(script_.wire.end(), from_victim.begin() + starts[i], from_victim.end());
    for (Role role : {Role::client, Role::server})
      if (const auto& v = pair_.side(role).verdict())
        throw std::runtime_error(std::string(role == Role::client ? "client" : "server") +
                                 " failed the handshake: " + describe(*v));
    if (victim().wants().handshake_done && peer().wants().handshake_done) {
      // What the peer sends from now on (tickets) reaches the victim as it is.
      Bytes after = pair_.take_output(peer_role());
      feed_all(victim(), after);
      peer_records_ = 0;
      return;
    }
  }
  throw std::runtime_error("the handshake did not finish");
}

void VictimWriter::close() {
  if (auto e = victim().close()) violation("close() failed: " + e.message());
  drain();
}

void VictimWriter::deliver_to_victim(std::span<const std::byte> bytes) {
  feed_all(victim(), bytes);
  std::byte buf[256];
  while (victim().wants().read_now) {
    auto r = victim().read(buf);
    if (r.status == IoStatus::ok) return violation("the victim read plaintext the peer never sent");
    if (r.status != IoStatus::blocked) return violation("the victim's stream ended: " +
                                                        (victim().verdict() ? describe(*victim().verdict()) : "?"));
  }
}

Forge& VictimWriter::forge() {
  if (forge_) return *forge_;
  auto info = peer().info();
  if (!info) throw std::runtime_error("forge before the handshake: " + info.error().message());
  std::uint64_t first_seq = (version_ == TlsVersion::tls1_2 ? 1 : 0) + peer_records_;  // TLS 1.2: Finished was 0
  auto forge = Forge::create(version_, info->cipher, peer_role(), pair_.keylog_for(peer_role()),
                             pair_.sent_by(Role::server), first_seq);
  if (!forge) throw std::runtime_error("forge: " + forge.error().message());
  return forge_.emplace(std::move(*forge));
}

Script VictimWriter::finish() {
  if (!violations_.empty()) {
    auto found = std::make_shared<std::vector<std::string>>(std::move(violations_));
    auto user = std::move(script_.after);
    script_.after = [found, user](MemoryPair& pair, Connection& victim) -> std::optional<std::string> {
      std::string all;
      for (const auto& v : *found) all += (all.empty() ? "" : "\n") + v;
      if (user)
        if (auto more = user(pair, victim)) all += "\n" + *more;
      return all;
    };
  }
  return std::move(script_);
}

namespace detail {
namespace {

using V = VictimWriter;
using enum Clause;
constexpr auto FIN = TransportEnd::fin;
const std::size_t capacity = Config{}.outbound_capacity;

bool tls13(TlsVersion v, Role) { return v == TlsVersion::tls1_3; }

void expect_write(V& w, std::size_t n, IoStatus status, std::size_t bytes, const char* what) {
  IoResult r = w.write(n);
  if (r.status != status || r.bytes != bytes)
    w.violation(std::string(what) + ": write(" + std::to_string(n) + ") gave status " +
                std::to_string(static_cast<int>(r.status)) + " with " + std::to_string(r.bytes) + " bytes, expected " +
                std::to_string(static_cast<int>(status)) + " with " + std::to_string(bytes));
}

void expect_refusal(V& w, errc expected) {
  std::size_t before = w.victim().output().size();
  IoResult r = w.victim().write(pattern(0, 100));
  if (r.status != IoStatus::refused || r.error != expected)
    w.violation("W07: write() gave " + (r.error ? r.error.message() : "no error") + ", expected " +
                make_error_code(expected).message());
  if (w.victim().output().size() != before) w.violation("W07: a refused write() changed output()");
}

// The fragment length of each record in `wire`.
std::vector<std::size_t> fragments(std::span<const std::byte> wire) {
  std::vector<std::size_t> lengths;
  for (std::size_t at : record_starts(wire))
    if (auto h = record::parse_header(wire.subspan(at))) lengths.push_back(h->length);
  return lengths;
}

}  // namespace

void add_write_rows(Catalogue& catalogue) {
  catalogue.add({.id = "W01", .title = "write 40,000 B before the handshake finishes, then handshake",
                 .clauses = {C10}, .body = WriteScript{.writes = [](V& w) {
                   expect_write(w, 40000, IoStatus::ok, 40000, "W01");
                   w.handshake(), w.close(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W02", .title = "write more than outbound_capacity before the handshake; close() at once after it",
                 .clauses = {C10}, .body = WriteScript{.writes = [](V& w) {
                   expect_write(w, capacity + 10000, IoStatus::ok, capacity, "W02: exactly the capacity is held");
                   expect_write(w, 1, IoStatus::blocked, 0, "W02: the rest is blocked");
                   // Sealing what was held needs more room than the queue has: close()
                   // waits for it and follows it (C10).
                   w.handshake(), w.close(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W03", .title = "write 1 MiB while output() is drained 1 B at a time", .clauses = {C10},
                 .body = WriteScript{.writes = [](V& w) {
                   w.handshake(), w.write_all(1 << 20, 1), w.close(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W04", .title = "writes of 0, 1, 16383, 16384, 16385, 65536 B", .clauses = {C10},
                 .body = WriteScript{.writes = [](V& w) {
                   w.handshake();
                   std::size_t before = w.victim().output().size();
                   expect_write(w, 0, IoStatus::ok, 0, "W04: an empty write is a no-op");
                   if (w.victim().output().size() != before) w.violation("W04: an empty write produced output");
                   for (std::size_t n : {1, 16383, 16384, 16385, 65536}) w.write_all(n, 5000);
                   w.close(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W05", .title = "write, then close() at once, output drained later", .clauses = {C9, C10},
                 .body = WriteScript{.writes = [](V& w) {
                   w.handshake();
                   IoResult r = w.write(capacity);  // more than fits once sealed: accepted partially, exactly
                   if (r.status != IoStatus::ok || r.bytes == 0 || r.bytes >= capacity)
                     w.violation("W05: write(" + std::to_string(capacity) + ") accepted " + std::to_string(r.bytes) +
                                 " bytes; expected a partial, exact count");
                   if (auto e = w.victim().close()) w.violation("W05: close() failed: " + e.message());
                   w.drain(1000), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W06", .title = "T13: write while the peer sends KeyUpdate(update_requested) and tickets",
                 .clauses = {C7, C10}, .applies = tls13, .body = WriteScript{.uses_forge = true, .writes = [](V& w) {
                   w.handshake(), w.write_all(30000), w.drain();
                   Bytes incoming = w.forge().key_update(1);
                   if (w.peer_role() == Role::server)  // tickets come from servers only
                     for (int i = 1; i <= 2; ++i) {
                       Bytes ticket = w.forge().record(record::ContentType::handshake, new_session_ticket(i));
                       incoming.insert(incoming.end(), ticket.begin(), ticket.end());
                     }
                   w.deliver_to_victim(incoming);
                   std::size_t mark = w.wire().size();
                   w.write_all(30000), w.drain();
                   auto lengths = fragments(w.wire().subspan(mark));
                   // KeyUpdate: 4-byte header + 1, the inner type, a 16-byte tag.
                   if (lengths.empty() || lengths.front() != 22)
                     w.violation("W06: the victim's first record after the KeyUpdate(update_requested) is not its own KeyUpdate");
                   w.close(), w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W07a", .title = "write after our close(): refused, nothing half-sent", .clauses = {C10},
                 .body = WriteScript{.writes = [](V& w) {
                   w.handshake(), w.write_all(1000), w.close();
                   expect_refusal(w, errc::write_after_close);
                   w.end(FIN), w.expect(CloseNotify{});
                 }}});
  catalogue.add({.id = "W07b", .title = "write after the transport reset: refused, nothing half-sent",
                 .clauses = {C8, C10}, .body = WriteScript{.writes = [](V& w) {
                   w.handshake(), w.write_all(1000), w.drain();
                   w.victim().feed_reset();
                   expect_refusal(w, errc::write_after_reset);
                   w.end(TransportEnd::rst), w.expect(Reset{0});
                 }}});
  catalogue.add({.id = "W07c", .title = "write after a fatal verdict: refused, nothing half-sent", .clauses = {C10},
                 .body = WriteScript{.writes = [](V& w) {
                   w.handshake(), w.write_all(1000), w.drain();
                   Bytes garbage{std::byte{23}, std::byte{3}, std::byte{3}, std::byte{0}, std::byte{40}};
                   garbage.resize(5 + 40, std::byte{0x5a});  // long enough for any suite; the tag cannot match
                   w.victim().feed(garbage);
                   std::byte buf[64];
                   w.victim().read(buf);
                   if (!w.victim().verdict() || !std::holds_alternative<ProtocolError>(*w.victim().verdict()))
                     w.violation("W07c: the victim did not fail on a bad record");
                   expect_refusal(w, errc::write_after_end);
                   w.victim().consume_output(w.victim().output().size());  // its alert: not what this row checks
                   w.end(FIN), w.expect(Truncated{0});
                 }}});
}

}  // namespace detail
}  // namespace lastbyte::conformance
