// The Connection API on every installed backend: misuse errors, back-pressure,
// half-close (C9), early writes, truncation policy, resumption, ALPN, keylog,
// client certificates, and the record gate.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/forge.hpp>
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/engine/record.hpp>
#include <lastbyte/testing/pki.hpp>

#include "backend_params.hpp"
#include "temporary_directory.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <fstream>
#include <sstream>

namespace lastbyte::conformance {
namespace {

std::string text(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// For connections made from shared Contexts (MemoryPair makes its own).
void pump_handshake(Connection& client, Connection& server) {
  for (int i = 0; i < 8; ++i) {
    server.feed(client.output()), client.consume_output(client.output().size()), server.handshake();
    client.feed(server.output()), server.consume_output(server.output().size()), client.handshake();
  }
}

class ConnectionTest : public BackendTest {
 protected:
  MemoryPair established() {
    auto p = pair(client_config(version()), server_config(version()));
    auto error = p.handshake();
    EXPECT_FALSE(error) << *error;
    return p;
  }
  // Reads everything `role` can produce now.
  static std::string drain(Connection& c) {
    std::string out;
    std::byte buf[4096];
    for (;;) {
      auto r = c.read(buf);
      if (r.status != IoStatus::ok) return out;
      out += text(std::span(buf, r.bytes));
    }
  }
};

// Issue 13: a loop that calls read() once per poll iteration with a large
// buffer gets every complete record, not one record's plaintext; the end
// comes after the bytes, from the next read().
TEST_P(ConnectionTest, ReadFillsTheBufferAcrossRecords) {
  auto p = established();
  Bytes body = pattern(0, 3000);
  for (std::size_t at = 0; at < body.size(); at += 1000)  // three records
    ASSERT_EQ(p.server().write(std::span(body).subspan(at, 1000)).bytes, 1000u);
  ASSERT_FALSE(p.server().close());
  auto wire = p.take_output(Role::server);
  ASSERT_GE(record_starts(wire).size(), 4u);
  ASSERT_EQ(p.client().feed(wire).bytes, wire.size());
  std::vector<std::byte> buf(65536);
  auto r = p.client().read(buf);
  ASSERT_EQ(r.status, IoStatus::ok);
  EXPECT_EQ(r.bytes, body.size()) << "one read() takes every record waiting";
  EXPECT_EQ(std::memcmp(buf.data(), body.data(), body.size()), 0);
  // The close_notify behind them is the next read()'s: the caller acts on
  // the bytes first (a TLS 1.2 server may still answer what it just read).
  EXPECT_FALSE(p.client().verdict().has_value());
  EXPECT_TRUE(p.client().wants().read_now);
  EXPECT_EQ(p.client().write(std::string_view("answer")).status, IoStatus::ok);
  r = p.client().read(buf);
  EXPECT_EQ(r.status, IoStatus::end);
  ASSERT_TRUE(p.client().verdict());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.client().verdict())) << describe(*p.client().verdict());
  // A buffer smaller than what waits: full, and the rest follows.
  auto q = established();
  for (std::size_t at = 0; at < body.size(); at += 1000) q.server().write(std::span(body).subspan(at, 1000));
  q.client().feed(q.take_output(Role::server));
  r = q.client().read(std::span(buf).first(1500));
  EXPECT_EQ(r.bytes, 1500u);
  r = q.client().read(buf);
  EXPECT_EQ(r.bytes, 1500u);
  EXPECT_EQ(std::memcmp(buf.data(), body.data() + 1500, 1500), 0);
  EXPECT_EQ(q.client().read(buf).status, IoStatus::blocked);
}

// A record that fails authentication behind good ones: the filling read
// returns the good bytes, and the failure is the connection's at once (the
// library already queued its alert): no write or close may follow it.
TEST_P(ConnectionTest, ReadFillsUpToAFailureAndRecordsItAtOnce) {
  auto p = established();
  Bytes body = pattern(0, 2000);
  ASSERT_EQ(p.server().write(std::span(body).first(1000)).bytes, 1000u);
  ASSERT_EQ(p.server().write(std::span(body).subspan(1000)).bytes, 1000u);
  auto wire = p.take_output(Role::server);
  auto starts = record_starts(wire);
  ASSERT_EQ(starts.size(), 2u);
  wire.back() ^= std::byte{1};  // the second record's tag
  ASSERT_EQ(p.client().feed(wire).bytes, wire.size());
  std::vector<std::byte> buf(65536);
  auto r = p.client().read(buf);
  ASSERT_EQ(r.status, IoStatus::ok);
  EXPECT_EQ(r.bytes, 1000u);
  ASSERT_TRUE(p.client().verdict().has_value()) << "the failure is recorded with the bytes before it";
  EXPECT_FALSE(std::holds_alternative<CloseNotify>(*p.client().verdict()));
  EXPECT_NE(p.client().write(std::string_view("late")).status, IoStatus::ok);
  EXPECT_FALSE(p.client().wants().close_sent);
  (void)p.client().close();
  EXPECT_FALSE(p.client().wants().close_sent) << "no close_notify after a fatal alert";
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
}

// Issue 13's close hook: close(), flush until wants().close_sent, then shut
// the socket down; close_sent is false while anything written (or the
// close_notify itself) is still to be sent.
TEST_P(ConnectionTest, CloseSentOnceOurCloseNotifyLeftTheOutput) {
  auto p = established();
  EXPECT_FALSE(p.client().wants().close_sent);
  Bytes body = pattern(0, 200000);
  std::size_t accepted = 0;
  while (accepted < body.size()) {  // until the queues are full
    auto r = p.client().write(std::span(body).subspan(accepted));
    if (r.status != IoStatus::ok || r.bytes == 0) break;
    accepted += r.bytes;
  }
  ASSERT_GT(accepted, 0u);
  EXPECT_FALSE(p.client().wants().close_sent) << "not closed yet";
  ASSERT_FALSE(p.client().close());
  std::string got;
  std::byte buf[65536];
  int steps = 0;
  while (!p.client().wants().close_sent) {
    ASSERT_LT(++steps, 100000) << "close_sent never came";
    auto out = p.client().output();
    ASSERT_FALSE(out.empty() && p.client().unsent() == 0) << "nothing left to send, yet not close_sent";
    std::size_t n = std::min<std::size_t>(out.size(), 3000);
    ASSERT_EQ(p.server().feed(out.first(n)).bytes, n);
    ASSERT_FALSE(p.client().consume_output(n));
    for (IoResult r; (r = p.server().read(buf)).status == IoStatus::ok;) got += text(std::span(buf, r.bytes));
  }
  EXPECT_TRUE(p.client().output().empty());
  EXPECT_EQ(p.client().unsent(), 0u);
  for (IoResult r; (r = p.server().read(buf)).status == IoStatus::ok;) got += text(std::span(buf, r.bytes));
  ASSERT_EQ(got.size(), accepted) << "every accepted byte arrived before close_sent said so";
  EXPECT_EQ(std::memcmp(got.data(), body.data(), accepted), 0);
  ASSERT_TRUE(p.server().verdict());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.server().verdict())) << describe(*p.server().verdict());
}

TEST_P(ConnectionTest, ReadAfterTheEndIsRefused) {
  auto p = established();
  ASSERT_FALSE(p.server().close());
  p.transfer(Role::server);
  std::byte buf[16];
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
  auto again = p.client().read(buf);
  EXPECT_EQ(again.status, IoStatus::refused);
  EXPECT_EQ(again.error, errc::read_after_end);
  EXPECT_FALSE(p.client().wants().read_now);
}

TEST_P(ConnectionTest, WriteAfterCloseIsRefused) {
  auto p = established();
  ASSERT_FALSE(p.client().close());
  EXPECT_FALSE(p.client().close()) << "close() is idempotent";
  auto r = p.client().write("late");
  EXPECT_EQ(r.status, IoStatus::refused);
  EXPECT_EQ(r.error, errc::write_after_close);
}

TEST_P(ConnectionTest, TransportInputAfterEofIsRefused) {
  auto p = established();
  ASSERT_FALSE(p.client().feed_eof());
  const std::byte one[1] = {};
  EXPECT_EQ(p.client().feed(one).error, errc::input_after_transport_end);
  EXPECT_EQ(p.client().feed_eof(), errc::input_after_transport_end);
  EXPECT_EQ(p.client().feed_reset(), errc::input_after_transport_end);
  EXPECT_TRUE(p.client().input_space().empty());
}

// C8 for a loop that only knows "the socket failed" (issue 13: an event
// loop folds EOF and RST into one error): every complete record is
// delivered, then Reset{eof_or_reset}; never a clean end unless the peer's
// close_notify came first; writes are refused as after a reset.
TEST_P(ConnectionTest, C8_TransportErrorDeliversEveryRecordAndIsNeverClean) {
  for (bool peer_closed : {false, true}) {
    SCOPED_TRACE(peer_closed ? "close_notify, then the error" : "the error alone");
    auto p = established();
    Bytes body = pattern(0, 40000);
    std::size_t written = 0;
    while (written < body.size()) {
      auto r = p.server().write(std::span(body).subspan(written));
      ASSERT_EQ(r.status, IoStatus::ok);
      written += r.bytes;
      p.client().feed(p.take_output(Role::server));
    }
    if (peer_closed) {
      ASSERT_FALSE(p.server().close());
    }
    p.client().feed(p.take_output(Role::server));
    ASSERT_FALSE(p.client().feed_transport_error());
    EXPECT_EQ(p.client().feed_transport_error(), errc::input_after_transport_end);
    EXPECT_TRUE(p.client().wants().read_now) << "the queued records are still to be read";
    std::string got = drain(p.client());
    EXPECT_EQ(got.size(), body.size());
    EXPECT_EQ(std::memcmp(got.data(), body.data(), body.size()), 0);
    ASSERT_TRUE(p.client().verdict().has_value());
    if (peer_closed) {
      EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.client().verdict())) << describe(*p.client().verdict());
      continue;
    }
    auto* reset = std::get_if<Reset>(&*p.client().verdict());
    ASSERT_NE(reset, nullptr) << describe(*p.client().verdict());
    EXPECT_TRUE(reset->eof_or_reset);
    EXPECT_FALSE(reset->during_handshake);
    EXPECT_NE(describe(*p.client().verdict()).find("reset or EOF"), std::string::npos);
    EXPECT_EQ(p.client().write(std::string_view("late")).error, errc::write_after_reset);
  }
}

TEST_P(ConnectionTest, CloseAndInfoDuringTheHandshakeAreRefused) {
  auto p = pair(client_config(version()), server_config(version()));
  EXPECT_EQ(p.client().close(), errc::close_during_handshake);
  EXPECT_EQ(p.client().info().error().code, errc::handshake_not_done);
}

TEST_P(ConnectionTest, OverCommittingQueuesIsRefused) {
  auto p = established();
  auto space = p.client().input_space();
  EXPECT_EQ(p.client().commit_input(space.size() + 1), errc::input_overflow);
  EXPECT_EQ(p.client().consume_output(p.client().output().size() + 1), errc::output_overflow);
  std::byte none[1];
  EXPECT_EQ(p.client().read(std::span(none, 0)).error, errc::empty_buffer);
}

TEST_P(ConnectionTest, WriteAfterAFatalVerdictIsRefused) {
  auto p = established();
  Bytes garbage{std::byte{23}, std::byte{3}, std::byte{3}, std::byte{0}, std::byte{40}};
  garbage.resize(5 + 40, std::byte{0x5a});  // long enough for any AEAD's overhead; the tag cannot match
  p.client().feed(garbage);
  std::byte buf[64];
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
  ASSERT_TRUE(std::holds_alternative<ProtocolError>(*p.client().verdict())) << describe(*p.client().verdict());
  EXPECT_EQ(std::get<ProtocolError>(*p.client().verdict()).alert, Alert::bad_record_mac)
      << describe(*p.client().verdict());
  EXPECT_EQ(p.client().write("x").error, errc::write_after_end);
  EXPECT_TRUE(p.client().wants().output) << "the alert the library sent is waiting in output()";
}

// The peer's ciphertext (more than the inbound queue holds) is offered in
// one go each time: feed() takes what fits, refuses the rest while the
// queue is full, and every byte comes out exactly once, in order.
TEST_P(ConnectionTest, InboundQueueAppliesBackPressure) {
  auto p = established();
  Bytes body = pattern(0, 200 * 1024);
  Bytes wire;
  for (std::span<const std::byte> rest(body); !rest.empty();) {
    auto r = p.server().write(rest);
    ASSERT_EQ(r.status, IoStatus::ok) << r.error.message();
    rest = rest.subspan(r.bytes);
    Bytes out = p.take_output(Role::server);
    wire.insert(wire.end(), out.begin(), out.end());
  }
  ASSERT_GT(wire.size(), 3 * Config{}.inbound_capacity);
  Bytes got;
  int full = 0;
  for (std::span<const std::byte> pending(wire); !pending.empty();) {
    auto f = p.client().feed(pending);
    ASSERT_NE(f.status, IoStatus::refused) << f.error.message();
    pending = pending.subspan(f.bytes);
    if (f.bytes == 0) {
      ++full;
      EXPECT_TRUE(p.client().input_space().empty()) << "a full queue offers no space";
      EXPECT_FALSE(p.client().wants().transport_input) << "a full queue does not ask for input";
      ASSERT_TRUE(p.client().wants().read_now) << "a full queue holds a complete record";
    }
    if (!pending.empty() && f.bytes > 0) continue;  // fill it up before reading
    std::byte buf[16384];
    auto r = p.client().read(buf);  // one record's worth frees room
    ASSERT_EQ(r.status, IoStatus::ok);
    got.insert(got.end(), buf, buf + r.bytes);
  }
  for (std::byte buf[16384];;) {
    auto r = p.client().read(buf);
    if (r.status != IoStatus::ok) break;
    got.insert(got.end(), buf, buf + r.bytes);
  }
  EXPECT_GT(full, 3) << "back-pressure never happened: the test did not test it";
  EXPECT_EQ(first_difference(body, got), std::nullopt) << got.size() << " of " << body.size() << " bytes";
}

TEST_P(ConnectionTest, FeedReturnsPartialCountWhenFull) {
  auto p = established();
  std::string big(100 * 1024, 'y');
  std::string_view rest = big;
  Bytes wire;
  while (!rest.empty()) {
    auto r = p.server().write(rest);
    rest.remove_prefix(r.bytes);
    Bytes out = p.take_output(Role::server);
    wire.insert(wire.end(), out.begin(), out.end());
  }
  auto r = p.client().feed(wire);
  EXPECT_EQ(r.status, IoStatus::ok);
  EXPECT_EQ(r.bytes, Config{}.inbound_capacity) << "the queue takes exactly its capacity";
  EXPECT_TRUE(p.client().input_space().empty());
}

// Finding: input_space(), then feed(), then commit_input() of the old
// offer wrote past the queue (heap overflow); input_space(),
// release_buffers(), commit_input(), read() dereferenced freed storage. An
// offer is only good until the next call that may move the queue.
TEST_P(ConnectionTest, StaleInputSpaceIsRefused) {
  auto p = established();
  Bytes ciphertext(1000, std::byte{0x17});
  ASSERT_FALSE(p.client().input_space().empty());
  ASSERT_EQ(p.client().feed(ciphertext).bytes, ciphertext.size());
  EXPECT_EQ(p.client().commit_input(65536), errc::input_space_stale);
  ASSERT_FALSE(p.server().input_space().empty());
  ASSERT_TRUE(p.server().release_buffers());
  EXPECT_EQ(p.server().commit_input(100), errc::input_space_stale);
  std::byte buf[64];
  EXPECT_EQ(p.server().read(buf).status, IoStatus::blocked) << "nothing was committed";
  // Every other call that touches the queue or the engine also ends the offer.
  for (auto touch : std::vector<std::function<void(Connection&)>>{
           [](Connection& c) { std::byte b[1]; c.read(b); },
           [](Connection& c) { c.write("x"); },
           [](Connection& c) { c.handshake(); },
           [](Connection& c) { c.feed({}); },
       }) {
    ASSERT_FALSE(p.server().input_space().empty());
    touch(p.server());
    EXPECT_EQ(p.server().commit_input(1), errc::input_space_stale);
  }
  // A fresh offer can be committed in several steps, never beyond itself.
  auto space = p.server().input_space();
  ASSERT_GE(space.size(), 2u);
  EXPECT_FALSE(p.server().commit_input(0));
  EXPECT_EQ(p.server().commit_input(space.size() + 1), errc::input_overflow);
  p.server().consume_output(0);  // the output side does not touch the inbound queue
  Bytes record = p.take_output(Role::client);  // nothing pending: commit the peer's next record by hand
  ASSERT_EQ(p.client().write("hello").status, IoStatus::ok);
  record = p.take_output(Role::client);
  space = p.server().input_space();
  ASSERT_GE(space.size(), record.size());
  std::copy(record.begin(), record.end(), space.begin());
  EXPECT_FALSE(p.server().commit_input(3));
  EXPECT_FALSE(p.server().commit_input(record.size() - 3));
  EXPECT_EQ(drain(p.server()), "hello");
}

// Finding: an early write of 40,000 bytes was accepted whole, the Mbed TLS
// peer received 16,384 (one record: mbedtls_ssl_write seals one per call)
// and the verdict was CloseNotify. W01 runs it on every pair and schedule.
TEST_P(ConnectionTest, W01_WritesBeforeTheHandshakeAreNeverDropped) {
  auto p = pair(client_config(version()), server_config(version()));
  Bytes body = pattern(0, 40000);
  auto r = p.client().write(body);
  ASSERT_EQ(r.status, IoStatus::ok);
  ASSERT_EQ(r.bytes, body.size());
  ASSERT_FALSE(p.handshake_without_reading());
  ASSERT_FALSE(p.client().close());
  p.transfer(Role::client);
  std::string got = drain(p.server());
  EXPECT_EQ(got, text(body)) << got.size() << " of " << body.size() << " bytes arrived";
  ASSERT_TRUE(p.server().verdict().has_value());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.server().verdict())) << describe(*p.server().verdict());
}

// C10: what write() accepted but could not seal yet is counted by unsent();
// after a Truncated verdict (the peer's FIN ends only its direction) it is
// still sealed, after a reset it never can be, and the count says exactly
// what was not sent.
TEST_P(ConnectionTest, C10_UnsentCountsWhatIsNotSentYet) {
  const std::size_t capacity = Config{}.outbound_capacity;
  for (bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "reset" : "truncated");
    auto p = pair(client_config(version()), server_config(version()));
    Connection &client = p.client(), &server = p.server();
    Bytes body = pattern(0, capacity);
    ASSERT_EQ(client.write(body).bytes, capacity);
    EXPECT_EQ(client.unsent(), capacity) << "held while the handshake runs";
    for (int round = 0; round < 8 && !client.wants().handshake_done; ++round) {
      server.feed(p.take_output(Role::client)), server.handshake();
      client.feed(p.take_output(Role::server)), client.handshake();
    }
    ASSERT_TRUE(client.wants().handshake_done);
    std::size_t waiting = client.unsent();
    EXPECT_GT(waiting, 0u) << "sealed, the whole capacity does not fit in the outbound queue";
    EXPECT_LT(waiting, capacity);
    // The server's direction ends before all of the client's bytes are out.
    reset ? client.feed_reset() : client.feed_eof();
    std::byte buf[64];
    while (client.read(buf).status == IoStatus::ok) {
    }
    ASSERT_TRUE(client.verdict().has_value());
    EXPECT_EQ(std::holds_alternative<Reset>(*client.verdict()), reset) << describe(*client.verdict());
    // Every byte of output() reaches the server, which reads whenever its
    // queue is full; consuming output seals what is still held, if it can.
    Bytes got;
    for (int stuck = 0; !client.output().empty() && stuck < 4;) {
      auto fed = server.feed(client.output());
      client.consume_output(fed.bytes);
      std::string chunk = drain(server);
      got.insert(got.end(), reinterpret_cast<const std::byte*>(chunk.data()),
                 reinterpret_cast<const std::byte*>(chunk.data()) + chunk.size());
      stuck = fed.bytes == 0 && chunk.empty() ? stuck + 1 : 0;
    }
    EXPECT_TRUE(client.output().empty());
    if (reset) {
      EXPECT_EQ(client.unsent(), waiting) << "nothing can be sealed after a reset";
      EXPECT_EQ(got.size() + client.unsent(), capacity) << "the count is exactly what did not reach output()";
    } else {
      EXPECT_EQ(client.unsent(), 0u) << "after Truncated the accepted bytes are still sealed";
      EXPECT_EQ(got.size(), capacity);
    }
    EXPECT_EQ(first_difference(std::span(body).first(got.size()), got), std::nullopt);
  }
}

// Finding: after writes of 60,000 + 5,448 bytes output() held 65,558 bytes
// against a 65,536 capacity: write() budgeted plaintext, not ciphertext, and
// the queue grew. Application data never grows it now.
TEST_P(ConnectionTest, OutboundQueueNeverGrowsPastItsCapacity) {
  auto p = established();
  const std::size_t capacity = Config{}.outbound_capacity;
  std::size_t accepted = 0;
  for (std::size_t n : {std::size_t{60000}, std::size_t{5448}, std::size_t{1}, std::size_t{16384}, std::size_t{65536}}) {
    auto r = p.client().write(pattern(accepted, n));
    EXPECT_LE(p.client().output().size(), capacity) << "after a write of " << n;
    if (r.status == IoStatus::ok) accepted += r.bytes;
  }
  EXPECT_GT(accepted, 40000u);
  // The rest of the accepted bytes arrive, and the queue stays bounded while
  // the output is drained a little at a time and the writer keeps writing.
  Bytes sent = pattern(0, accepted), got;
  std::size_t target = accepted + 200000;
  while (accepted < target) {
    auto r = p.client().write(pattern(accepted, 30000));
    ASSERT_NE(r.status, IoStatus::refused);
    if (r.status == IoStatus::ok) {
      Bytes more = pattern(accepted, r.bytes);
      sent.insert(sent.end(), more.begin(), more.end());
      accepted += r.bytes;
    }
    ASSERT_LE(p.client().output().size(), capacity);
    auto out = p.client().output();
    std::size_t n = std::min<std::size_t>(out.size(), 7001);
    ASSERT_EQ(p.server().feed(out.first(n)).bytes, n);
    p.client().consume_output(n);
    std::string chunk = drain(p.server());
    got.insert(got.end(), reinterpret_cast<const std::byte*>(chunk.data()),
               reinterpret_cast<const std::byte*>(chunk.data()) + chunk.size());
  }
  p.transfer(Role::client);
  std::string rest = drain(p.server());
  got.insert(got.end(), reinterpret_cast<const std::byte*>(rest.data()),
             reinterpret_cast<const std::byte*>(rest.data()) + rest.size());
  EXPECT_EQ(first_difference(sent, got), std::nullopt) << got.size() << " of " << sent.size();
}

// Finding: a client fed the 7 plaintext bytes of a close_notify alert
// before its handshake finished, then EOF, reported CloseNotify on every
// backend (and a wolfSSL server did too): a stream that never
// authenticated ended "cleanly". Now PeerAlert{close_notify} everywhere.
TEST_P(ConnectionTest, UnauthenticatedCloseNotifyIsNeverACleanEnd) {
  const Bytes close_notify{std::byte{21}, std::byte{3}, std::byte{3}, std::byte{0}, std::byte{2}, std::byte{1},
                           std::byte{0}};
  for (Role victim : {Role::client, Role::server}) {
    SCOPED_TRACE(victim == Role::client ? "client" : "server");
    auto p = pair(client_config(version()), server_config(version()));
    Connection& c = p.side(victim);
    c.feed(close_notify);
    c.feed_eof();
    std::byte buf[64];
    EXPECT_EQ(c.read(buf).status, IoStatus::end);
    ASSERT_TRUE(c.verdict().has_value());
    EXPECT_FALSE(is_acceptable_end(*c.verdict())) << describe(*c.verdict());
    auto* alert = std::get_if<PeerAlert>(&*c.verdict());
    ASSERT_NE(alert, nullptr) << describe(*c.verdict());
    EXPECT_EQ(alert->alert, Alert::close_notify);
  }
}

// fuzz_handshake_gnutls: a 151-byte alert record before the ClientHello
// (a close_notify followed by junk) was read as close_notify when it came in
// pieces and refused as an unexpected packet when it came whole (C6). No
// alert is protected before the peer's ChangeCipherSpec: the gate refuses
// any length but 2, whatever the cut, on every backend and role.
TEST_P(ConnectionTest, OverlongPlaintextAlertGetsOneVerdictWhateverTheCut) {
  Bytes record{std::byte{21}, std::byte{3}, std::byte{3}, std::byte{0}, std::byte{151}, std::byte{1}, std::byte{0}};
  record.resize(5 + 151, std::byte{0x42});
  for (Role victim : {Role::client, Role::server}) {
    for (std::size_t piece : {record.size(), std::size_t{3}, std::size_t{1}}) {
      SCOPED_TRACE(std::string(victim == Role::client ? "client" : "server") + ", pieces of " + std::to_string(piece));
      auto p = pair(client_config(version()), server_config(version()));
      Connection& c = p.side(victim);
      std::byte buf[64];
      for (std::size_t at = 0; at < record.size() && !c.verdict(); at += piece) {
        c.feed(std::span(record).subspan(at, std::min(piece, record.size() - at)));
        c.read(buf);
      }
      ASSERT_TRUE(c.verdict().has_value());
      auto* error = std::get_if<ProtocolError>(&*c.verdict());
      ASSERT_NE(error, nullptr) << describe(*c.verdict());
      EXPECT_EQ(error->alert, Alert::decode_error) << describe(*c.verdict());
    }
  }
}

// Finding: with record version 0x032f Mbed TLS refused the record the
// others accepted. The gate has one rule: before the handshake finished a
// record version is 0x0300-0x0303, after it exactly 0x0303.
TEST_P(ConnectionTest, RecordVersionsFollowOneRule) {
  const Bytes odd_version{std::byte{21}, std::byte{3}, std::byte{0x2f}, std::byte{0}, std::byte{2}, std::byte{2},
                          std::byte{40}};
  auto p = pair(client_config(version()), server_config(version()));
  p.client().feed(odd_version);
  std::byte buf[64];
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
  auto* error = std::get_if<ProtocolError>(&*p.client().verdict());
  ASSERT_NE(error, nullptr) << describe(*p.client().verdict());
  EXPECT_EQ(error->alert, Alert::protocol_version);
  auto q = established();
  ASSERT_EQ(q.server().write("x").status, IoStatus::ok);
  Bytes record = q.take_output(Role::server);
  record[2] = std::byte{1};  // 0x0301 after the handshake
  q.client().feed(record);
  EXPECT_EQ(q.client().read(buf).status, IoStatus::end);
  error = std::get_if<ProtocolError>(&*q.client().verdict());
  ASSERT_NE(error, nullptr) << describe(*q.client().verdict());
  EXPECT_EQ(error->alert, Alert::protocol_version);
}

TEST_P(ConnectionTest, EarlyWritesAreSentWhenTheHandshakeFinishes) {
  auto p = pair(client_config(version()), server_config(version()));
  auto r = p.client().write("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(r.status, IoStatus::ok);
  ASSERT_FALSE(p.handshake_without_reading()) << "handshake";
  p.transfer(Role::client);
  EXPECT_EQ(drain(p.server()), "GET / HTTP/1.1\r\n\r\n");
}

TEST_P(ConnectionTest, C9_HalfCloseFollowsTheVersionPolicy) {
  auto p = established();
  ASSERT_FALSE(p.server().close());
  p.transfer(Role::server);
  std::byte buf[16];
  ASSERT_EQ(p.client().read(buf).status, IoStatus::end);
  ASSERT_TRUE(std::holds_alternative<CloseNotify>(*p.client().verdict()));
  auto r = p.client().write("after your close_notify");
  if (version() == TlsVersion::tls1_3) {
    // R27: TLS 1.3 half-close: we may still write, and the peer receives it.
    ASSERT_EQ(r.status, IoStatus::ok);
    ASSERT_FALSE(p.client().close());
    p.transfer(Role::client);
    EXPECT_EQ(drain(p.server()), "after your close_notify");
    EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.server().verdict()));
  } else {
    // R28: RFC 5246 §7.2.1: answer close_notify at once, no more data.
    EXPECT_EQ(r.error, errc::write_after_peer_close_tls12);
    EXPECT_TRUE(p.client().wants().output) << "our close_notify answer is queued";
    p.transfer(Role::client);
    drain(p.server());
    ASSERT_TRUE(p.server().verdict().has_value());
    EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.server().verdict())) << describe(*p.server().verdict());
  }
}

TEST_P(ConnectionTest, R29_BothSidesCloseAtOnce) {
  auto p = established();
  ASSERT_FALSE(p.client().close());
  ASSERT_FALSE(p.server().close());
  p.transfer(Role::client);
  p.transfer(Role::server);
  std::byte buf[16];
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
  EXPECT_EQ(p.server().read(buf).status, IoStatus::end);
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.client().verdict())) << describe(*p.client().verdict());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.server().verdict())) << describe(*p.server().verdict());
}

TEST_P(ConnectionTest, R30_DataAfterOurCloseNotifyIsStillDelivered) {
  auto p = established();
  ASSERT_FALSE(p.client().close());
  // The server wrote before it saw our close_notify (on TLS 1.3 it could also
  // write after); then it closes: on TLS 1.2 by answering automatically.
  EXPECT_EQ(p.server().write(std::string(100, 'z')).bytes, 100u);
  p.transfer(Role::client);
  drain(p.server());
  ASSERT_TRUE(p.server().verdict().has_value());
  ASSERT_FALSE(p.server().close());
  p.transfer(Role::server);
  EXPECT_EQ(drain(p.client()), std::string(100, 'z'));
  ASSERT_TRUE(p.client().verdict().has_value());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*p.client().verdict())) << describe(*p.client().verdict());
}

TEST_P(ConnectionTest, AcceptedTruncationStillSaysTruncated) {
  Config client = client_config(version());
  client.accept_truncation = true;
  auto p = pair(client, server_config(version()));
  ASSERT_FALSE(p.handshake());
  p.server().write("body");
  p.transfer(Role::server);
  p.client().feed_eof();
  EXPECT_EQ(drain(p.client()), "body");
  auto* truncated = std::get_if<Truncated>(&*p.client().verdict());
  ASSERT_NE(truncated, nullptr);
  EXPECT_TRUE(truncated->accepted);
  EXPECT_TRUE(is_acceptable_end(*p.client().verdict()));
  EXPECT_EQ(describe(*p.client().verdict()), "truncated (0 leftover bytes, accepted by policy)");
}

TEST_P(ConnectionTest, TruncationIsNotAcceptableByDefault) {
  auto p = established();
  p.client().feed_eof();
  drain(p.client());
  EXPECT_FALSE(is_acceptable_end(*p.client().verdict()));
  EXPECT_EQ(kind_name(*p.client().verdict()), "truncated");
}

TEST_P(ConnectionTest, EofDuringTheHandshakeIsTruncatedDuringHandshake) {
  auto p = pair(client_config(version()), server_config(version()));
  p.take_output(Role::client);
  p.client().feed_eof();
  std::byte buf[8];
  EXPECT_EQ(p.client().read(buf).status, IoStatus::end);
  auto* truncated = std::get_if<Truncated>(&*p.client().verdict());
  ASSERT_NE(truncated, nullptr) << describe(*p.client().verdict());
  EXPECT_TRUE(truncated->during_handshake);
}

TEST_P(ConnectionTest, SessionsResume) {
  std::vector<SessionBlob> sessions;
  Config client = client_config(version());
  client.on_new_session = [&](std::span<const std::byte> s) { sessions.emplace_back(s.begin(), s.end()); };
  Config server = server_config(version());
  auto server_context = Context::create(server, backend());
  auto client_context = Context::create(client, backend());
  ASSERT_TRUE(server_context && client_context);

  // Both sides say the same: the server's info too (rustls 0.20 tells a
  // TLS 1.2 server's resumption nowhere; the shim reads it from its flight).
  auto run = [&](ConnectionOptions options) -> SessionInfo {
    auto c = Connection::create(*client_context, options);
    auto s = Connection::create(*server_context);
    pump_handshake(*c, *s);
    std::byte buf[16];
    c->read(buf);  // TLS 1.3 tickets arrive after the handshake
    EXPECT_TRUE(c->wants().handshake_done);
    EXPECT_EQ(c->info()->resumed, s->info()->resumed) << "the client and the server disagree";
    return *c->info();
  };
  EXPECT_FALSE(run({}).resumed);
  ASSERT_FALSE(sessions.empty()) << "no session was surfaced to on_new_session";
  EXPECT_TRUE(run({.resume_session = sessions.back()}).resumed);
  // Connections above were dropped without close(): the blob stays usable
  // (OpenSSL marks the session object of an unclosed connection not resumable).
  EXPECT_TRUE(run({.resume_session = sessions.front()}).resumed);
  EXPECT_TRUE(run({.resume_session = sessions.front()}).resumed);
}

TEST_P(ConnectionTest, ForeignSessionBlobIsRejectedClearly) {
  auto context = Context::create(client_config(version()), backend());
  auto c = Connection::create(*context, {.resume_session = {std::byte{1}, std::byte{2}}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, errc::invalid_config);
}

TEST_P(ConnectionTest, AlpnWithoutOverlapIsRefused) {
  Config client = client_config(version());
  client.alpn = {"h2"};
  Config server = server_config(version());
  server.alpn = {"http/1.1"};
  auto p = pair(client, server);
  EXPECT_TRUE(p.handshake().has_value());
  ASSERT_TRUE(p.server().verdict().has_value());
  auto* rejected = std::get_if<HandshakeRejected>(&*p.server().verdict());
  ASSERT_NE(rejected, nullptr) << describe(*p.server().verdict());
  EXPECT_EQ(rejected->reason, RejectReason::no_application_protocol);
}

TEST_P(ConnectionTest, KeylogLinesAreNssFormat) {
  std::vector<std::string> lines;
  Config client = client_config(version());
  client.keylog = [&](std::string_view line) { lines.emplace_back(line); };
  auto context = Context::create(client, backend());
  if (!backend().exports_secrets(version())) {
    // A key log that would silently miss connections is refused up front.
    ASSERT_FALSE(context);
    EXPECT_EQ(context.error().code, errc::unsupported_by_backend);
    EXPECT_NE(context.error().message().find("cannot export"), std::string::npos) << context.error().message();
    return;
  }
  auto server_context = Context::create(server_config(version()), backend());
  auto c = Connection::create(*context);
  auto s = Connection::create(*server_context);
  pump_handshake(*c, *s);
  ASSERT_TRUE(c->wants().handshake_done);
  std::string expected_label = version() == TlsVersion::tls1_3 ? "CLIENT_TRAFFIC_SECRET_0 " : "CLIENT_RANDOM ";
  bool found = false;
  for (const auto& line : lines) {
    found |= line.starts_with(expected_label);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 2) << line;
  }
  EXPECT_TRUE(found) << "no " << expected_label << "line";
}

// SSLKEYLOGFILE is lastbyte's to honour or not: GnuTLS writes it by itself
// (read the first time a secret is logged) unless the adapter installs its
// key log function on every session, also without Config::keylog. Run
// alone (as ctest does) this fails without that; after other GnuTLS
// handshakes in the same process GnuTLS may have read the variable already.
TEST_P(ConnectionTest, SslKeyLogFileIsLeftAloneWhenNotHonoured) {
  lastbyte_test::TemporaryDirectory directory("lastbyte-keylog");
  std::string path = directory.file("ignored.txt");
  ::setenv("SSLKEYLOGFILE", path.c_str(), 1);
  Config client = client_config(version()), server = server_config(version());  // honour_sslkeylogfile = false
  auto client_context = Context::create(client, backend());
  auto server_context = Context::create(server, backend());
  ASSERT_TRUE(client_context && server_context);
  auto c = Connection::create(*client_context);
  auto s = Connection::create(*server_context);
  ASSERT_TRUE(c && s);
  pump_handshake(*c, *s);
  ::unsetenv("SSLKEYLOGFILE");
  EXPECT_TRUE(c->wants().handshake_done);
  std::ifstream in(path);
  EXPECT_FALSE(in.good()) << path << " was written although honour_sslkeylogfile is false";
}

TEST_P(ConnectionTest, SslKeyLogFileIsHonoured) {
  if (!backend().exports_secrets(version()))
    GTEST_SKIP() << "unsupported by this library: " << backend().library_version() << " cannot export "
                 << to_string(version()) << " secrets (KeylogLinesAreNssFormat checks the error)";
  lastbyte_test::TemporaryDirectory directory("lastbyte-keylog");
  std::string path = directory.file("keylog.txt");
  ::setenv("SSLKEYLOGFILE", path.c_str(), 1);
  Config client = client_config(version());
  client.honour_sslkeylogfile = true;
  auto p = pair(client, server_config(version()));
  ::unsetenv("SSLKEYLOGFILE");
  ASSERT_FALSE(p.handshake());
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_NE(content.str().find(version() == TlsVersion::tls1_3 ? "CLIENT_TRAFFIC_SECRET_0 " : "CLIENT_RANDOM "),
            std::string::npos)
      << content.str();
}

TEST_P(ConnectionTest, ClientCertificatesAreRequiredAndVerified) {
  Config server = server_config(version());
  server.client_auth = ClientAuth::required;
  server.ca_pem = testing::test_pki().ca.cert_pem;
  {
    auto p = pair(client_config(version()), server);
    EXPECT_TRUE(p.handshake().has_value());
    ASSERT_TRUE(p.server().verdict().has_value());
    auto* rejected = std::get_if<HandshakeRejected>(&*p.server().verdict());
    ASSERT_NE(rejected, nullptr) << describe(*p.server().verdict());
    EXPECT_EQ(rejected->reason, RejectReason::certificate_required);
  }
  Config client = client_config(version());
  client.cert_chain_pem = testing::test_pki().client.cert_pem;
  client.private_key_pem = testing::test_pki().client.key_pem;
  auto p = pair(client, server);
  auto error = p.handshake();
  EXPECT_FALSE(error.has_value()) << error.value_or("");
}

TEST_P(ConnectionTest, PlaintextHttpToATlsServerIsAClearProtocolError) {
  auto p = pair(client_config(version()), server_config(version()));
  std::string_view http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  p.server().feed(std::as_bytes(std::span(http)));
  std::byte buf[8];
  EXPECT_EQ(p.server().read(buf).status, IoStatus::end);
  auto* error = std::get_if<ProtocolError>(&*p.server().verdict());
  ASSERT_NE(error, nullptr) << describe(*p.server().verdict());
  EXPECT_EQ(error->alert, Alert::unexpected_message);
  EXPECT_NE(error->detail.find("plaintext"), std::string::npos) << error->detail;
}

TEST_P(ConnectionTest, ReleasedBuffersAreAllocatedAgainOnUse) {
  auto p = established();
  p.client().write("held");
  EXPECT_FALSE(p.client().release_buffers()) << "output() still holds the write";
  EXPECT_FALSE(p.client().wants().transport_input && p.client().output().empty());
  p.transfer(Role::client);
  EXPECT_FALSE(p.server().release_buffers()) << "the record is received but unread";
  EXPECT_EQ(drain(p.server()), "held");
  ASSERT_TRUE(p.client().release_buffers());
  ASSERT_TRUE(p.server().release_buffers());
  EXPECT_TRUE(p.server().wants().transport_input) << "a released queue still offers its full capacity";
  EXPECT_EQ(p.server().input_space().size(), server_config(version()).inbound_capacity);
  // A whole 64 KiB round trip after release, in both directions.
  std::string big(64 * 1024, 'r'), got;
  for (std::size_t sent = 0; sent < big.size();) {
    auto w = p.server().write(std::string_view(big).substr(sent, 16 * 1024));
    ASSERT_EQ(w.status, IoStatus::ok);
    sent += w.bytes;
    p.transfer(Role::server);
    got += drain(p.client());
  }
  EXPECT_EQ(got, big);
  p.client().write("back");
  p.transfer(Role::client);
  EXPECT_EQ(drain(p.server()), "back");
}

TEST_P(ConnectionTest, CipherSuitesAreHonouredOnBothSides) {
  bool tls13 = version() == TlsVersion::tls1_3;
  for (std::string suite : tls13 ? std::vector<std::string>{"TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
                                                            "TLS_AES_256_GCM_SHA384"}
                                 : std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                                                            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                                            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}) {
    Config client = client_config(version()), server = server_config(version());
    client.cipher_suites = server.cipher_suites = {suite};
    auto p = pair(client, server);
    auto error = p.handshake();
    ASSERT_FALSE(error) << suite << ": " << *error;
    EXPECT_EQ(p.client().info()->cipher, suite);
    EXPECT_EQ(p.server().info()->cipher, suite);
  }
}

TEST_P(ConnectionTest, ServerCipherPreferenceWins) {
  Config client = client_config(version()), server = server_config(version());
  bool tls13 = version() == TlsVersion::tls1_3;
  std::string aes = tls13 ? "TLS_AES_128_GCM_SHA256" : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
  std::string chacha = tls13 ? "TLS_CHACHA20_POLY1305_SHA256" : "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
  client.cipher_suites = {aes, chacha};
  server.cipher_suites = {chacha, aes};
  auto p = pair(client, server);
  auto error = p.handshake();
  ASSERT_FALSE(error) << *error;
  EXPECT_EQ(p.server().info()->cipher, chacha);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ConnectionTest, ::testing::ValuesIn(all_params()), param_name);

// ---- configuration errors (backend-independent messages) -------------------

class ConfigErrors : public ::testing::TestWithParam<const Backend*> {};

TEST_P(ConfigErrors, ServerWithoutCertificate) {
  Config c;
  c.role = Role::server;
  auto context = Context::create(c, *GetParam());
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error().code, errc::invalid_config);
  EXPECT_NE(context.error().message().find("certificate chain"), std::string::npos);
}

TEST_P(ConfigErrors, VersionRangeUpsideDown) {
  Config c;
  c.min_version = TlsVersion::tls1_3;
  c.max_version = TlsVersion::tls1_2;
  EXPECT_EQ(Context::create(c, *GetParam()).error().code, errc::invalid_config);
}

TEST_P(ConfigErrors, InboundQueueSmallerThanARecord) {
  Config c = client_config(TlsVersion::tls1_2);
  c.inbound_capacity = record::max_record - 1;
  auto context = Context::create(c, *GetParam());
  ASSERT_FALSE(context);
  EXPECT_NE(context.error().message().find("18437"), std::string::npos) << context.error().message();
}

TEST_P(ConfigErrors, ClientWithoutServerName) {
  Config c = client_config(TlsVersion::tls1_2);
  c.server_name.clear();
  auto context = Context::create(c, *GetParam());
  ASSERT_TRUE(context);
  auto connection = Connection::create(*context);
  ASSERT_FALSE(connection);
  EXPECT_NE(connection.error().message().find("server_name"), std::string::npos);
}

TEST_P(ConfigErrors, UnreadableFilesAndBadPem) {
  Config c = server_config(TlsVersion::tls1_2);
  c.cert_chain_pem = "not a certificate";
  EXPECT_EQ(Context::create(c, *GetParam()).error().code, errc::backend_failure);
  c = server_config(TlsVersion::tls1_2);
  c.cert_chain_pem.clear();
  c.cert_chain_file = "/nonexistent/chain.pem";
  auto context = Context::create(c, *GetParam());
  ASSERT_FALSE(context);
  EXPECT_NE(context.error().message().find("/nonexistent/chain.pem"), std::string::npos);
  Config client = client_config(TlsVersion::tls1_2);
  client.ca_pem = "garbage";
  EXPECT_EQ(Context::create(client, *GetParam()).error().code, errc::backend_failure);
}

TEST_P(ConfigErrors, MismatchedKey) {
  Config c = server_config(TlsVersion::tls1_2);
  c.private_key_pem = testing::test_pki().client.key_pem;
  auto context = Context::create(c, *GetParam());
  ASSERT_FALSE(context);
  EXPECT_EQ(context.error().code, errc::backend_failure);
}

TEST_P(ConfigErrors, ClientAuthOnAClient) {
  Config c = client_config(TlsVersion::tls1_2);
  c.client_auth = ClientAuth::required;
  EXPECT_EQ(Context::create(c, *GetParam()).error().code, errc::invalid_config);
}

TEST_P(ConfigErrors, CipherSuitesOutsideTheAllowedSetAreRefused) {
  Config c = client_config(TlsVersion::tls1_2);
  for (std::string bad : {"TLS_RSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_128_CCM_SHA256"}) {
    c.cipher_suites = {bad};
    auto context = Context::create(c, *GetParam());
    ASSERT_FALSE(context) << bad;
    EXPECT_EQ(context.error().code, errc::invalid_config);
    EXPECT_NE(context.error().message().find(bad), std::string::npos) << context.error().message();
    EXPECT_NE(context.error().message().find("TLS_AES_128_GCM_SHA256"), std::string::npos)
        << "the message lists the allowed names: " << context.error().message();
  }
}

TEST_P(ConfigErrors, CipherSuitesDisableAVersionLeftWithout) {
  Config c = client_config(TlsVersion::tls1_2);
  c.min_version = TlsVersion::tls1_3;
  c.max_version = TlsVersion::tls1_3;
  c.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  EXPECT_EQ(Context::create(c, *GetParam()).error().code, errc::invalid_config);
  c.min_version = TlsVersion::tls1_2;
  c.cipher_suites = {"TLS_AES_128_GCM_SHA256"};  // TLS 1.3 only
  auto context = Context::create(c, *GetParam());
  if (GetParam()->supports(TlsVersion::tls1_3)) {
    ASSERT_TRUE(context) << context.error().message();
    EXPECT_EQ(context->config().min_version, TlsVersion::tls1_3);
  } else {
    ASSERT_FALSE(context);
    EXPECT_EQ(context.error().code, errc::unsupported_by_backend) << context.error().message();
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, ConfigErrors, ::testing::ValuesIn(installed_backends()),
                         [](const ::testing::TestParamInfo<const Backend*>& p) { return std::string(p.param->name); });

TEST(Backends, UnknownBackendNameSaysWhatExists) {
  auto found = find_backend("bogus", installed_backends());
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, errc::unknown_backend);
  EXPECT_NE(found.error().message().find(std::string(installed_backends()[0]->name)), std::string::npos);
  EXPECT_NE(found.error().message().find("-DLASTBYTE_BACKEND"), std::string::npos);
  EXPECT_EQ(*find_backend(installed_backends()[0]->name, installed_backends()), installed_backends()[0]);
}

// All installed libraries in one process, each against each, both versions
// where both can: bytes both ways and a clean close.
TEST(Backends, EveryPairInteroperatesInOneProcess) {
  int pairs = 0;
  for (const Backend* client : installed_backends())
    for (const Backend* server : installed_backends())
      for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
        if (!client->supports(v) || !server->supports(v)) continue;
        if (const PairLimit* limit = pair_limit(*client, *server, v)) {
          std::cout << describe(*limit) << "\n";
          continue;
        }
        SCOPED_TRACE(std::string(client->name) + " client, " + std::string(server->name) + " server, " +
                     std::string(to_string(v)));
        auto p = MemoryPair::create(*client, client_config(v), *server, server_config(v));
        ASSERT_TRUE(p) << p.error().message();
        ASSERT_FALSE(p->handshake().has_value());
        EXPECT_EQ(p->client().info()->version, v);
        EXPECT_EQ(p->client().info()->cipher, p->server().info()->cipher);
        p->client().write(std::string(1000, 'c'));
        p->server().write(std::string(1000, 's'));
        p->transfer(Role::client), p->transfer(Role::server);
        std::string to_server, to_client;
        std::byte buf[4096];
        for (IoResult r; (r = p->server().read(buf)).status == IoStatus::ok;) to_server.append(reinterpret_cast<char*>(buf), r.bytes);
        for (IoResult r; (r = p->client().read(buf)).status == IoStatus::ok;) to_client.append(reinterpret_cast<char*>(buf), r.bytes);
        EXPECT_EQ(to_server, std::string(1000, 'c'));
        EXPECT_EQ(to_client, std::string(1000, 's'));
        ++pairs;
      }
  EXPECT_GE(pairs, 1);
  std::cout << pairs << " backend pairs interoperated in one process\n";
}

// Each pair_limits() entry still fails as it says, with the harness's
// configurations: a pair that talks again must leave the list (its cells
// would be unsupported for nothing).
TEST(PairLimits, EachStillHolds) {
  int checked = 0;
  for (const PairLimit& limit : pair_limits()) {
    auto client = find_backend(limit.client_backend, installed_backends());
    auto server = find_backend(limit.server_backend, installed_backends());
    if (!client || !server) {
      std::cout << "not built here: " << describe(limit) << "\n";
      continue;
    }
    SCOPED_TRACE(describe(limit));
    auto p = MemoryPair::create(**client, client_config(limit.version), **server, server_config(limit.version));
    ASSERT_TRUE(p) << p.error().message();
    EXPECT_TRUE(p->handshake().has_value()) << "the pair talks now: remove it from pair_limits() and "
                                               "docs/divergences.md";
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no pair_limits() entry has both its libraries built here";
  std::cout << checked << " pair limits checked\n";
}

// OpenSSL's SSL_get_error() misreads "would block" as a failure when the
// thread's error queue holds an error someone else left there; the adapter
// empties it before each call (and only looks first, for speed).
TEST(Backends, OpenSslIgnoresErrorsOthersLeftInTheQueue) {
  auto found = find_backend("openssl", installed_backends());
  ASSERT_TRUE(found) << found.error().message();
  for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    auto p = MemoryPair::create(**found, client_config(version), **found, server_config(version));
    ASSERT_TRUE(p);
    ASSERT_FALSE(p->handshake());
    std::byte buf[64];
    ERR_put_error(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR, __FILE__, __LINE__);
    EXPECT_EQ(p->client().read(buf).status, IoStatus::blocked) << "a stale error ended the stream";
    EXPECT_FALSE(p->client().verdict().has_value());
    ERR_put_error(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR, __FILE__, __LINE__);
    ASSERT_EQ(p->server().write("after").status, IoStatus::ok);
    p->transfer(Role::server);
    ERR_put_error(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR, __FILE__, __LINE__);
    auto r = p->client().read(buf);
    ASSERT_EQ(r.status, IoStatus::ok);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), r.bytes), "after");
  }
  ERR_clear_error();
}

// A close_notify protected under the handshake's keys, in place of the
// peer's next handshake record: the library decrypts it (the record gate
// only decides unprotected alerts), and the stream, never authenticated,
// ends as PeerAlert{close_notify} (docs/decisions.md), or is refused, never
// a clean end. GnuTLS reports it as GNUTLS_E_SESSION_EOF from
// gnutls_handshake, which the adapter took for a failure (HandshakeRejected).
TEST(Backends, ProtectedCloseNotifyDuringTheHandshakeIsAPeerAlert) {
  auto forger = find_backend("openssl", installed_backends());  // exports every secret
  ASSERT_TRUE(forger) << forger.error().message();
  for (const Backend* victim_backend : installed_backends())
    for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2})
      for (Role victim : {Role::client, Role::server}) {
        if (!victim_backend->supports(v)) continue;
        SCOPED_TRACE(std::string(victim_backend->name) + (victim == Role::client ? " client" : " server") +
                     (v == TlsVersion::tls1_3 ? ", TLS 1.3" : ", TLS 1.2"));
        bool tls13 = v == TlsVersion::tls1_3;
        Config client = client_config(v), server = server_config(v);
        client.cipher_suites = server.cipher_suites = {tls13 ? "TLS_AES_128_GCM_SHA256"
                                                             : "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
        bool client_victim = victim == Role::client;
        auto p = MemoryPair::create(client_victim ? *victim_backend : **forger, client,
                                    client_victim ? **forger : *victim_backend, server);
        ASSERT_TRUE(p) << p.error().message();
        // The peer's flight that ends the victim's handshake: the TLS 1.3
        // server's after the ClientHello, the client's after that; in TLS 1.2
        // the client's after the ServerHelloDone, the server's after that.
        Role peer = client_victim ? Role::server : Role::client;
        p->transfer(Role::client);
        p->server().handshake();
        if (!(tls13 && client_victim)) {
          p->transfer(Role::server);
          p->client().handshake();
          if (!tls13 && client_victim) p->transfer(Role::client), p->server().handshake();
        }
        Bytes flight = p->take_output(peer);
        // Keep its unprotected records (ServerHello, ClientKeyExchange, CCS) up
        // to the first protected one; put a protected close_notify there.
        std::size_t keep = 0;
        for (std::size_t start : record_starts(flight)) {
          if (keep != start || (tls13 && flight[start] != std::byte{22} && flight[start] != std::byte{20})) break;
          std::size_t length = std::to_integer<std::size_t>(flight[start + 3]) << 8 | std::to_integer<std::size_t>(flight[start + 4]);
          keep = start + 5 + length;
          if (!tls13 && flight[start] == std::byte{20}) break;  // TLS 1.2: protected from the CCS on
        }
        ASSERT_LT(keep, flight.size()) << "no protected record in the peer's flight";
        std::vector<std::string> keylog = p->keylog(peer);
        for (auto& line : keylog)  // TLS 1.3: the forge protects with the handshake secret
          if (line.starts_with(peer == Role::server ? "SERVER_HANDSHAKE_TRAFFIC_SECRET " : "CLIENT_HANDSHAKE_TRAFFIC_SECRET "))
            line = std::string(peer == Role::server ? "SERVER" : "CLIENT") + "_TRAFFIC_SECRET_0" + line.substr(line.find(' '));
          else if (line.find("TRAFFIC_SECRET_0") != std::string::npos)
            line.clear();
        auto forge = Forge::create(v, client.cipher_suites[0], peer, keylog, p->sent_by(Role::server), 0);
        ASSERT_TRUE(forge) << forge.error().message();
        Bytes wire(flight.begin(), flight.begin() + static_cast<long>(keep));
        Bytes close_notify = forge->record(record::ContentType::alert, std::vector{std::byte{1}, std::byte{0}});
        wire.insert(wire.end(), close_notify.begin(), close_notify.end());
        Connection& c = p->side(victim);
        c.feed(wire);
        std::byte buf[64];
        EXPECT_EQ(c.read(buf).status, IoStatus::end);
        ASSERT_TRUE(c.verdict().has_value()) << "no verdict after the close_notify";
        EXPECT_FALSE(is_acceptable_end(*c.verdict())) << describe(*c.verdict());
        if (victim_backend->name == "openssl" && !tls13) {
          // OpenSSL refuses the record itself: "data between ccs and finished".
          EXPECT_TRUE(std::holds_alternative<HandshakeRejected>(*c.verdict())) << describe(*c.verdict());
          continue;
        }
        const auto* alert = std::get_if<PeerAlert>(&*c.verdict());
        ASSERT_NE(alert, nullptr) << describe(*c.verdict());
        EXPECT_EQ(alert->alert, Alert::close_notify);
      }
}

// Config::cipher_suites is the exact set a connection may negotiate. A
// GnuTLS priority string names ciphers and key exchanges, not suites: TLS
// 1.3 AES-128-GCM with TLS 1.2 ECDHE-ECDSA-ChaCha20 also allows TLS 1.2
// ECDHE-ECDSA-AES-128-GCM, which a GnuTLS server preferred and a GnuTLS
// client offered until the adapter refused it at the ServerHello.
TEST(Backends, CipherSuitesOutsideTheConfiguredSetAreNeverNegotiated) {
  const std::vector<std::string> uneven = {"TLS_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  const std::vector<std::string> tls12 = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
  int refused = 0;
  for (const Backend* client_backend : installed_backends())
    for (const Backend* server_backend : installed_backends())
      for (bool server_uneven : {true, false}) {
        SCOPED_TRACE(std::string(client_backend->name) + " client, " + std::string(server_backend->name) + " server, " +
                     (server_uneven ? "the server's" : "the client's") + " set uneven");
        Config client = client_config(TlsVersion::tls1_2), server = server_config(TlsVersion::tls1_2);
        (server_uneven ? server : client).max_version = TlsVersion::tls1_3;
        (server_uneven ? server : client).cipher_suites = uneven;
        (server_uneven ? client : server).cipher_suites = tls12;  // AES-128-GCM first
        auto p = MemoryPair::create(*client_backend, client, *server_backend, server);
        ASSERT_TRUE(p) << p.error().message();
        if (auto error = p->handshake()) {
          // A library that cannot choose exactly refuses: never a suite outside the set.
          Connection& judge = server_uneven ? p->server() : p->client();
          ASSERT_TRUE(judge.verdict().has_value()) << *error;
          const auto* rejected = std::get_if<HandshakeRejected>(&*judge.verdict());
          ASSERT_NE(rejected, nullptr) << describe(*judge.verdict());
          EXPECT_EQ(rejected->reason, RejectReason::no_shared_cipher);
          ++refused;
          continue;
        }
        EXPECT_EQ(p->client().info()->cipher, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
        EXPECT_EQ(p->server().info()->cipher, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
      }
  std::cout << refused << " pairs refused a suite their priority string could not exclude\n";
}

// A TLS 1.3 server takes a group the client sent a key share for: one round
// trip, no HelloRetryRequest. OpenSSL clients send X25519 only, wolfSSL
// clients P-256 only; a GnuTLS server with its own preference first asked
// one of them to retry (and R26's final flight then never came).
TEST(Backends, Tls13ServersUseAKeyShareTheClientSent) {
  for (const Backend* client_backend : installed_backends())
    for (const Backend* server_backend : installed_backends()) {
      if (!client_backend->supports(TlsVersion::tls1_3) || !server_backend->supports(TlsVersion::tls1_3)) continue;
      SCOPED_TRACE(std::string(client_backend->name) + " client, " + std::string(server_backend->name) + " server");
      auto p = MemoryPair::create(*client_backend, client_config(TlsVersion::tls1_3), *server_backend,
                                  server_config(TlsVersion::tls1_3));
      ASSERT_TRUE(p) << p.error().message();
      p->transfer(Role::client);  // ClientHello
      p->server().handshake();
      p->transfer(Role::server);  // the server's whole flight
      p->client().handshake();
      EXPECT_TRUE(p->client().wants().handshake_done) << "the server did not answer with its ServerHello";
    }
}

TEST(Backends, DefaultBackendIsTheConfiguredOne) {
  EXPECT_EQ(default_backend().name, LASTBYTE_CONFIGURED_BACKEND);
}

TEST(Verdicts, DescribeIsStable) {
  EXPECT_EQ(describe(CloseNotify{}), "close_notify");
  EXPECT_EQ(describe(CloseNotify{37}), "close_notify (37 trailing bytes ignored)");
  EXPECT_EQ(describe(Truncated{3}), "truncated (3 leftover bytes)");
  EXPECT_EQ(describe(Reset{0, true}), "reset (0 leftover bytes, during handshake)");
  EXPECT_EQ(describe(PeerAlert{Alert::internal_error}), "peer_alert(internal_error)");
  EXPECT_EQ(describe(ProtocolError{Alert::bad_record_mac, "x"}), "protocol_error(bad_record_mac): x");
  EXPECT_EQ(describe(HandshakeRejected{RejectReason::hostname, {}}), "handshake_rejected(hostname)");
  EXPECT_EQ(kind_name(LocalError{}), "local_error");
}

}  // namespace
}  // namespace lastbyte::conformance
