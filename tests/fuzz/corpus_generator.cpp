// lastbyte-fuzz-corpus OUTDIR: writes the seed corpora of the fuzz targets,
// made at build time from real sessions (nothing is checked in: the
// certificates and keys are generated per process anyway). One directory
// per fuzz binary, OUTDIR/<binary>/seed-*; each seed is encoded in its
// target's input format (documented at the top of each *_fuzz.cpp):
//
//   fuzz_handshake_<b>  every installed backend's real ClientHello (for
//                       server victims) and real server flights (for client
//                       victims), TLS 1.2 and 1.3, under several deliveries
//   fuzz_session_<b>    the catalogue's shapes (R01-R35 style) as programs,
//                       both roles, both versions
//   fuzz_api_<b>        call sequences of a healthy exchange, early writes,
//                       half-close, back-pressure, zero-copy feeding
//   fuzz_record_gate    real transcripts (both directions of real sessions)
//   fuzz_http_response  responses in every framing (Content-Length, chunked, close-delimited, no body)
//                       under the handshake, TLS 1.2 and TLS 1.3 policies
#include <lastbyte/conformance/harness.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

namespace {

using namespace lastbyte;
using namespace lastbyte::conformance;
namespace fs = std::filesystem;

using Seed = std::vector<std::uint8_t>;

class Corpus {
 public:
  explicit Corpus(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }
  void add(const Seed& seed) {
    std::ofstream out(dir_ / ("seed-" + std::to_string(next_++)), std::ios::binary);
    out.write(reinterpret_cast<const char*>(seed.data()), static_cast<std::streamsize>(seed.size()));
  }
  std::size_t size() const { return next_; }

 private:
  fs::path dir_;
  std::size_t next_ = 0;
};

void append(Seed& seed, std::span<const std::byte> bytes) {
  for (auto b : bytes) seed.push_back(std::to_integer<std::uint8_t>(b));
}

// support.hpp's Delivery: end (0 none, 1 fin, 2 rst), chunking (0 whole,
// 1 bytewise, 2 random-small, 3 random-large, 4 header-split, 5 segments),
// read size index (0: 16384, 1: 1, 2: 7, 3: 512, 4: 65536, 5: random).
struct DeliveryBytes {
  int end = 1, chunking = 0, read_size = 0, header_k = 1;
  bool zero_copy = false;
  std::uint8_t seed = 7;
  void put(Seed& s) const {
    s.push_back(static_cast<std::uint8_t>(end | chunking << 2 | (zero_copy ? 0x20 : 0)));
    s.push_back(static_cast<std::uint8_t>(read_size | (header_k - 1) << 3));
    s.push_back(seed);
  }
};
const DeliveryBytes deliveries[] = {
    {.end = 1, .chunking = 0, .read_size = 0},
    {.end = 1, .chunking = 1, .read_size = 1},
    {.end = 0, .chunking = 4, .read_size = 2, .header_k = 3},
    {.end = 2, .chunking = 2, .read_size = 5, .zero_copy = true},
    {.end = 1, .chunking = 5, .read_size = 3, .zero_copy = true},
};

Bytes take(Connection& c) {
  auto out = c.output();
  Bytes bytes(out.begin(), out.end());
  c.consume_output(out.size());
  return bytes;
}

// ---- fuzz_handshake ------------------------------------------------------------

// Selector: bit 0 server victim, bits 1-2 versions (0: 1.2, 1: 1.3, 2: both).
void handshake_seeds(Corpus& corpus) {
  for (const Backend* client_backend : installed_backends())
    for (const Backend* server_backend : installed_backends())
      for (TlsVersion version : {TlsVersion::tls1_2, TlsVersion::tls1_3}) {
        if (!client_backend->supports(version) || !server_backend->supports(version)) continue;
        int versions = version == TlsVersion::tls1_2 ? 0 : 1;
        auto client = Context::create(client_config(version), *client_backend);
        auto server = Context::create(server_config(version), *server_backend);
        if (!client || !server) continue;
        auto c = Connection::create(*client);
        auto s = Connection::create(*server);
        Bytes hello = take(*c);
        s->feed(hello), s->handshake();
        Bytes flight = take(*s);
        for (const auto& d : deliveries) {
          if (server_backend == installed_backends()[0]) {  // one copy of each ClientHello
            Seed seed{static_cast<std::uint8_t>(1 | versions << 1)};
            d.put(seed), append(seed, hello), corpus.add(seed);
            Seed both{static_cast<std::uint8_t>(1 | 2 << 1)};
            d.put(both), append(both, hello), corpus.add(both);
          }
          Seed seed{static_cast<std::uint8_t>(0 | versions << 1)};
          d.put(seed), append(seed, flight), corpus.add(seed);
        }
      }
}

// ---- fuzz_session --------------------------------------------------------------

// A shape record: kind (0: D<64, 1: D<1024, 2: D<=16384, 3: D<8, 4: KeyUpdate,
// 5: ticket / HelloRequest, 6: close_notify (from 0xf000: a fatal alert, the
// low byte its description), 7: D with TLS 1.3 padding), u16.
struct Op {
  int kind;
  unsigned value;
};
struct Mutation {
  int op;  // 0 flip, 1 cut, 2 fake header, 3 drop, 4 duplicate, 5 swap, 6 control record, 7 raw, 8 set, 9 length
  unsigned x;
  unsigned y;
};
struct Shape {
  std::vector<Op> ops;
  std::vector<Mutation> mutations;
  bool no_final_close_notify = false;
};

void session_seeds(Corpus& corpus) {
  const Op d100{1, 100}, d16k{2, 16384}, d0{3, 0}, cn{6, 0}, ku1{4, 1}, ku0{4, 0}, nst{5, 1}, padded{7, 100 | 8 << 9};
  const std::vector<Shape> shapes = {
      {{d100, cn}, {}},                                     // R01
      {{d100, d100, d100, cn}, {}},                         // R03
      {{d100, d100, d100}, {}, true},                       // R04: FIN without close_notify
      {{d100, d100}, {{1, 0xf000, 0}}, true},               // R05/R06: a cut inside the last record
      {{d100, cn}, {{1, 0xfc00, 0}}},                       // R07: half of the close_notify
      {{d100, cn}, {{7, 0xffff, 36}}},                      // R10: bytes after close_notify
      {{d100, cn, d100}, {}},                               // R11: data after close_notify
      {{d100, d100, d100, d100}, {{0, 0xa000, 1}}},         // R13: a flipped byte
      {{{0, 10}, d0, d0, d0, {0, 10}, cn}, {}},             // R14: three empty records
      {{d16k, cn}, {}},                                     // R17
      {{d100}, {{2, 0x4001, 1}}, true},                     // R19: a header claiming a huge record
      {{padded, padded, cn}, {}},                           // R20/R21: TLS 1.3 padding
      {{d100, ku1, d100, cn}, {}},                          // R22
      {{nst, {0, 50}, nst, {0, 50}, cn}, {}},               // R25
      {{d100, nst, d100, cn}, {}},                          // R31: HelloRequest (TLS 1.2 client)
      {{d100, d100}, {{6, 1, 1}}},                          // a plaintext alert between records
      {{d100, d100}, {{6, 1, 0}}},                          // a ChangeCipherSpec between records
      {{d100, d100, d100}, {{3, 1, 0}}},                    // a dropped record
      {{d100, d100, d100}, {{4, 1, 0}}},                    // a duplicated record
      {{d100, d100, d100}, {{5, 0, 0}}},                    // swapped records
      {{d100, ku0, d100, ku1, d100, cn}, {{9, 2, 120}}},    // a length field moved
      {{d16k, d16k, d16k, d16k, cn}, {}},                   // 64 KiB: back-pressure in small queues
      {{d100, {6, 0xf000 | 80}}, {}},                       // R12: a fatal alert (internal_error)
      {{d100, d100, {6, 0xf000 | 255}}, {}},                // a fatal alert of a description nobody defined
      {{{0, 10}, {6, 0xf000 | 40}, d100}, {}},              // a fatal alert, then data nobody reads
  };
  for (int selector_low = 0; selector_low < 4; ++selector_low)  // role, version
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& shape = shapes[i];
      int suite = static_cast<int>(i % 3);
      bool small = i % 4 == 3;
      Seed seed{static_cast<std::uint8_t>(selector_low | suite << 2 | (small ? 0x10 : 0) |
                                          (shape.no_final_close_notify ? 0x20 : 0))};
      deliveries[i % std::size(deliveries)].put(seed);
      seed.push_back(static_cast<std::uint8_t>(shape.ops.size()));
      for (const Op& op : shape.ops) {
        seed.push_back(static_cast<std::uint8_t>(op.kind));
        seed.push_back(static_cast<std::uint8_t>(op.value >> 8));
        seed.push_back(static_cast<std::uint8_t>(op.value));
      }
      seed.push_back(static_cast<std::uint8_t>(shape.mutations.size()));
      for (const Mutation& m : shape.mutations)
        seed.insert(seed.end(), {static_cast<std::uint8_t>(m.op), static_cast<std::uint8_t>(m.x >> 8),
                                 static_cast<std::uint8_t>(m.x), static_cast<std::uint8_t>(m.y)});
      for (int r = 0; r < 40; ++r) seed.push_back(static_cast<std::uint8_t>(r * 37));  // raw bytes for insertions
      corpus.add(seed);
    }
}

// ---- fuzz_api ----------------------------------------------------------------------

// Calls (api_fuzz.cpp): 0 feed, 1 input_space, 2 commit_input, 3 feed_eof,
// 4 feed_reset, 5 take output, 6 consume too much, 7 handshake, 8 read,
// 9 write, 10 close, 11 release_buffers, 12 info, 13 queries, 14 peer
// exchange, 15 peer write, 16 peer close, 17 read until blocked, 18 round.
void api_seeds(Corpus& corpus) {
  using Calls = std::vector<std::pair<int, int>>;
  const Calls round{{18, 0}};
  const std::vector<Calls> sequences = {
      {{18, 0}, {18, 0}, {18, 0}, {9, 2}, {18, 0}, {15, 3}, {18, 0}, {17, 6}, {10, 0}, {18, 0}},  // exchange, close
      {{9, 3}, {9, 4}, {18, 0}, {18, 0}, {18, 0}, {17, 6}},                                    // early writes
      {{18, 0}, {18, 0}, {16, 0}, {18, 0}, {17, 6}, {9, 2}, {10, 0}, {18, 0}},                 // half-close
      {{18, 0}, {18, 0}, {9, 7}, {9, 7}, {9, 7}, {5, 255}, {9, 7}, {11, 0}, {18, 0}},          // back-pressure
      {{1, 0}, {5, 255}, {14, 0}, {1, 0}, {2, 20}, {2, 250}, {7, 0}, {5, 255}, {14, 0}, {1, 0}, {2, 255}, {7, 0}},  // zero-copy
      {{18, 0}, {18, 0}, {15, 5}, {14, 0}, {0, 40}, {3, 0}, {17, 1}, {8, 0}, {8, 3}},         // EOF mid-record
      {{18, 0}, {18, 0}, {15, 5}, {14, 0}, {0, 200}, {4, 0}, {17, 2}, {9, 1}, {10, 0}},       // reset
      {{10, 0}, {12, 0}, {6, 3}, {8, 0}, {18, 0}, {18, 0}, {12, 0}, {11, 0}, {13, 0}},        // misuse
  };
  for (int selector = 0; selector < 16; ++selector)  // role, version, small queues, resume
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      if ((selector + static_cast<int>(i)) % 2) continue;  // half of the product is plenty
      Seed seed{static_cast<std::uint8_t>(selector | (static_cast<int>(i) % 3) << 4)};
      for (auto [call, arg] : sequences[i]) seed.push_back(static_cast<std::uint8_t>(call)), seed.push_back(static_cast<std::uint8_t>(arg));
      corpus.add(seed);
    }
}

// ---- fuzz_record_gate --------------------------------------------------------------

// Policy bytes (record_gate_fuzz.cpp): a = phase (0: handshake, 2: TLS 1.2,
// 3: TLS 1.3) | server << 2 | suite << 3 | capacity << 5; b = the operation
// after which a handshake-phase gate switches (0: never) | to TLS 1.3 << 7.
void gate_seeds(Corpus& corpus) {
  for (const Backend* backend : installed_backends())
    for (TlsVersion version : {TlsVersion::tls1_2, TlsVersion::tls1_3}) {
      if (!backend->supports(version)) continue;
      auto pair = MemoryPair::create(*backend, client_config(version), *backend, server_config(version));
      if (!pair || pair->handshake()) continue;
      std::size_t handshake_bytes[2] = {pair->sent_by(Role::client).size(), pair->sent_by(Role::server).size()};
      for (Role role : {Role::client, Role::server}) {
        pair->side(role).write(std::string(3000, 'x'));
        pair->side(role).write(std::string(20000, 'y'));
        pair->side(role).close();
        pair->take_output(role);
      }
      bool tls13 = version == TlsVersion::tls1_3;
      for (Role sender : {Role::client, Role::server}) {
        const Bytes& wire = pair->sent_by(sender);
        std::uint8_t receiver_is_server = sender == Role::client ? 4 : 0;
        // The whole transcript under the handshake policy (default operations).
        Seed all{receiver_is_server, 0, 0};
        append(all, wire), corpus.add(all);
        // What follows the handshake under the negotiated version's policy.
        std::size_t from = handshake_bytes[sender == Role::client ? 0 : 1];
        Seed post{static_cast<std::uint8_t>((tls13 ? 3 : 2) | receiver_is_server), 0, 0};
        append(post, std::span(wire).subspan(from)), corpus.add(post);
        // Fed in pieces, pulled like an engine, the policy switching midway.
        Seed ops{static_cast<std::uint8_t>(receiver_is_server | 1 << 5), static_cast<std::uint8_t>(6 | (tls13 ? 0x80 : 0)), 8,
                 0, 3, 3, 0, 1, 200, 2, 5, 2, 100, 3, 0, 0, 0, 3, 0};
        append(ops, wire), corpus.add(ops);
      }
    }
}

// ---- fuzz_http_response -----------------------------------------------------

// Byte 0: flags (1 HEAD, 2 a clean end, the rest seeds the cut points),
// then a response in each framing the tools meet.
void http_seeds(Corpus& corpus) {
  const char* responses[] = {
      "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nhello world!",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n5;x=y\r\nhello\r\n7\r\n world!\r\n0\r\nX: 1\r\n\r\n",
      "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nthe body ends with the stream",
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
      "HTTP/1.1 200 OK\nContent-Length: 3\n\nabcHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
  };
  for (const char* response : responses)
    for (std::uint8_t flags : {std::uint8_t{2}, std::uint8_t{0}, std::uint8_t{3}, std::uint8_t{0x56}}) {
      Seed seed{flags};
      for (const char* c = response; *c; ++c) seed.push_back(static_cast<std::uint8_t>(*c));
      corpus.add(seed);
    }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lastbyte-fuzz-corpus OUTDIR\n");
    return 2;
  }
  fs::path out = argv[1];
  std::map<std::string, std::size_t> written;
  for (const Backend* backend : installed_backends()) {
    std::string name(backend->name);
    Corpus handshake(out / ("fuzz_handshake_" + name)), session(out / ("fuzz_session_" + name)),
        api(out / ("fuzz_api_" + name));
    handshake_seeds(handshake), session_seeds(session), api_seeds(api);
    written["fuzz_handshake_" + name] = handshake.size();
    written["fuzz_session_" + name] = session.size();
    written["fuzz_api_" + name] = api.size();
  }
  Corpus gate(out / "fuzz_record_gate");
  gate_seeds(gate);
  written["fuzz_record_gate"] = gate.size();
  Corpus http(out / "fuzz_http_response");
  http_seeds(http);
  written["fuzz_http_response"] = http.size();
  for (const auto& [dir, n] : written) std::printf("lastbyte-fuzz-corpus: %s: %zu seeds\n", dir.c_str(), n);
  return 0;
}
