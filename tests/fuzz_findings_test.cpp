// What the fuzz targets (tests/fuzz, docs/adversarial.md) found, as
// regression tests. A finding that waits for a contract decision, or that
// is a library's own behaviour no adapter can change, is pinned as it is
// today: the test fails the day it stops diverging, so that its entry in
// docs/divergences.md and docs/adversarial.md is updated (the same rule as
// the catalogue's known divergences).
#include <lastbyte/conformance/scenarios.hpp>
#include <lastbyte/engine/record.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

Bytes bytes_of(std::initializer_list<int> values) {
  Bytes out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// ---- two HelloRequests to a TLS 1.2 client (fuzz_session_wolfssl) -------------

// R31 decided that a TLS 1.2 client ignores a HelloRequest and the stream goes
// on. A second one is no different on OpenSSL and Mbed TLS; wolfSSL 5.5
// remembers the first (msgsReceived.got_hello_request, never cleared after the
// handshake, and not reachable through its installed headers) and refuses the
// second as a duplicate: ProtocolError{unexpected_message} and the data after
// it lost. Open question (docs/adversarial.md, "Findings"): the verdict is the
// contract's to decide, so this pins what each backend does today.
TEST(FuzzFindings, Tls12ClientIgnoresEveryHelloRequest) {
  Scenario twice{.id = "R31-twice",
                 .title = "T12: two HelloRequests between D(100) and D(100)",
                 .applies = [](TlsVersion v, Role victim) { return v == TlsVersion::tls1_2 && victim == Role::client; },
                 .body = ReadScript{.uses_forge = true, .build = [](ScriptWriter& w) {
                   w.data(100), w.forge();
                   const Bytes hello_request(4);
                   for (int i = 0; i < 2; ++i) w.raw(w.forge().record(record::ContentType::handshake, hello_request));
                   w.data(100), w.close_notify(), w.end(TransportEnd::fin), w.expect(CloseNotify{});
                 }}};
  int cells = 0;
  for (const Backend* victim : installed_backends())
    for (const Backend* peer : installed_backends())
      for (const Cell& cell : cells_for(twice, *victim, *peer, 7)) {
        if (cell.schedule.kind != Schedule::Kind::whole && cell.schedule.kind != Schedule::Kind::bytewise) continue;
        if (cell.read_size != 512) continue;
        CellResult result = run_cell(cell);
        if (result.status == CellResult::Status::unsupported) continue;
        ++cells;
        if (victim->name == "wolfssl") {
          EXPECT_EQ(result.status, CellResult::Status::fail)
              << cell.name() << ": wolfSSL now ignores both HelloRequests: update docs/adversarial.md and this test";
          EXPECT_NE(result.message.find("Duplicate HandShake"), std::string::npos) << cell.name() << "\n" << result.message;
        } else {
          EXPECT_EQ(result.status, CellResult::Status::pass) << cell.name() << "\n" << result.message;
        }
      }
  EXPECT_GT(cells, 0);
}

// ---- nine KeyUpdates in a row (fuzz_session_gnutls) ---------------------------
// RFC 8446 §4.6.3 sets no limit; GnuTLS 3.7 refuses a 9th KeyUpdate within a
// second (lib/tls13/key_update.c: KEY_UPDATES_PER_WINDOW 8 per 1000 ms,
// GNUTLS_E_TOO_MANY_HANDSHAKE_PACKETS): a defence against a peer that makes
// it rekey forever. OpenSSL and wolfSSL read on. A library's own policy no
// adapter can change (the limit is GnuTLS's state): pinned as it is.
TEST(FuzzFindings, GnuTlsRefusesANinthKeyUpdateWithinASecond) {
  Scenario nine{.id = "R22-nine",
                .title = "T13: nine KeyUpdates between D(100) and D(100)",
                .applies = [](TlsVersion v, Role) { return v == TlsVersion::tls1_3; },
                .body = ReadScript{.uses_forge = true, .build = [](ScriptWriter& w) {
                  w.data(100), w.forge();
                  for (int i = 0; i < 9; ++i) w.raw(w.forge().key_update(0));
                  w.data(100), w.close_notify(), w.end(TransportEnd::fin), w.expect(CloseNotify{});
                }}};
  int cells = 0;
  for (const Backend* victim : installed_backends())
    for (const Backend* peer : installed_backends())
      for (const Cell& cell : cells_for(nine, *victim, *peer, 7)) {
        if (cell.schedule.kind != Schedule::Kind::whole || cell.read_size != 512) continue;
        CellResult result = run_cell(cell);
        if (result.status == CellResult::Status::unsupported) continue;
        ++cells;
        if (victim->name == "gnutls") {
          EXPECT_EQ(result.status, CellResult::Status::fail)
              << cell.name() << ": GnuTLS now takes nine KeyUpdates: update docs/divergences.md and this test";
          EXPECT_NE(result.message.find("Too many handshake packets"), std::string::npos) << cell.name() << "\n"
                                                                                          << result.message;
          // The peer's doing, not ours: a protocol error, never LocalError
          // (GnuTLS's alert table falls back to internal_error for it).
          EXPECT_NE(result.message.find("got protocol_error(internal_error)"), std::string::npos)
              << cell.name() << "\n" << result.message;
        } else {
          EXPECT_EQ(result.status, CellResult::Status::pass) << cell.name() << "\n" << result.message;
        }
      }
  EXPECT_GT(cells, 0);
}

// ---- an off-curve key share (fuzz_handshake_wolfssl) ---------------------------

// A TLS 1.3 ServerHello choosing TLS_AES_128_GCM_SHA256 and secp256r1, whose
// key share (X = 0x11.., Y = 0) is not a point of the curve.
Bytes server_hello_with_off_curve_share() {
  Bytes point = bytes_of({4});
  point.resize(1 + 32, std::byte{0x11});
  point.resize(1 + 64, std::byte{0});
  Bytes extensions = bytes_of({0, 43, 0, 2, 3, 4,  // supported_versions: TLS 1.3
                               0, 51, 0, 69, 0, 23, 0, 65});  // key_share: secp256r1, 65 bytes
  extensions.insert(extensions.end(), point.begin(), point.end());
  Bytes body = bytes_of({3, 3});
  body.resize(2 + 32, std::byte{0x5a});                  // random
  Bytes rest = bytes_of({0, 0x13, 0x01, 0, 0, static_cast<int>(extensions.size())});  // no session id, suite, no compression
  body.insert(body.end(), rest.begin(), rest.end());
  body.insert(body.end(), extensions.begin(), extensions.end());
  Bytes message = bytes_of({2, 0, 0, static_cast<int>(body.size())});
  message.insert(message.end(), body.begin(), body.end());
  Bytes out = bytes_of({22, 3, 3, 0, static_cast<int>(message.size())});
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

// The same bytes must end a fresh connection the same way every time (C4).
// Debian's wolfSSL 5.5 (FP_ECC) accepts the off-curve point on its first use
// (it computes a shared secret from it and waits for the rest of the flight:
// Truncated at EOF) and rejects it (MP_VAL) when its per-thread fixed-point
// cache holds the point: the verdict depends on which connections the thread
// made before. A library defect no adapter can see (the key share never
// leaves wolfSSL); pinned here and in docs/divergences.md.
TEST(FuzzFindings, OffCurveKeyShareGetsTheSameVerdictEveryTime) {
  const Bytes hello = server_hello_with_off_curve_share();
  for (const Backend* backend : installed_backends()) {
    if (!backend->supports(TlsVersion::tls1_3)) continue;
    auto context = Context::create(client_config(TlsVersion::tls1_3), *backend);
    ASSERT_TRUE(context) << context.error().message();
    std::vector<std::string> verdicts;
    for (int i = 0; i < 4; ++i) {
      auto c = Connection::create(*context);
      ASSERT_TRUE(c) << c.error().message();
      c->consume_output(c->output().size());
      c->feed(hello);
      c->feed_eof();
      std::byte buf[64];
      while (c->read(buf).status == IoStatus::blocked) {
      }
      ASSERT_TRUE(c->verdict());
      verdicts.push_back(describe(*c->verdict()));
    }
    bool same = std::all_of(verdicts.begin(), verdicts.end(), [&](const auto& v) { return v == verdicts[0]; });
    std::string all;
    for (const auto& v : verdicts) all += "\n  " + v;
    if (backend->name == "wolfssl")
      EXPECT_FALSE(same) << "wolfSSL now judges the off-curve share the same way every time: update "
                            "docs/divergences.md and this test:" << all;
    else
      EXPECT_TRUE(same) << backend->name << ":" << all;
  }
}

}  // namespace
}  // namespace lastbyte::conformance
