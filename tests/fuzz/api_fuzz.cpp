// (c) API sequences: random calls of every public Connection function on the
// victim of a pair (feed, input_space, commit_input with any n, feed_eof,
// feed_reset, feed_transport_error, output/consume_output with any n, handshake, read and write of
// any size including 0, close, release_buffers, wants, verdict, info), in
// any order, with a peer (any installed backend) fed from the victim's
// output and feeding it back.
//
// Oracle: no crash/ASan report/UB; every refusal is the precise errc the
// contract names for that call in that state, and no call the contract
// allows is refused; output() never exceeds Config::outbound_capacity;
// wants() agrees with output() and the handshake never un-finishes; a
// verdict never changes and the end is reported once; every byte the victim
// reads is the peer's next one (none invented, lost or reordered) and vice
// versa; and when the sequence ends with both sides healthy (no reset, no
// verdict but CloseNotify), a settling exchange delivers every byte either
// write() accepted, in order, before any close_notify.
//
// Input: selector (victim role, version, peer backend, queue sizes,
// resumption), then operations of 2 bytes (call, argument).
#include "support.hpp"

#include <lastbyte/engine/record.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

namespace {

using namespace lastbyte;
using namespace lastbyte::fuzz;

struct Choice {
  Role victim = Role::client;
  TlsVersion version = TlsVersion::tls1_3;
  const Backend* peer = nullptr;
  bool small_queues = false;  // both queues at the smallest legal size: back-pressure everywhere
  bool resume = false;

  int key() const {
    int peer_index = 0;
    auto all = conformance::installed_backends();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i] == peer) peer_index = static_cast<int>(i);
    return (victim == Role::client ? 0 : 1) | (version == TlsVersion::tls1_3 ? 2 : 0) | (small_queues ? 4 : 0) |
           peer_index << 3;
  }
  std::string describe() const {
    return std::string(victim == Role::client ? "client" : "server") + " " + std::string(to_string(version)) +
           " peer " + std::string(peer->name) + (small_queues ? " small queues" : "") + (resume ? " resuming" : "");
  }
};

bool capture_sessions = false;

struct Pair {
  std::optional<Context> victim, peer;
  std::shared_ptr<SessionBlob> session = std::make_shared<SessionBlob>();
  std::size_t inbound_capacity = 0, outbound_capacity = 0;
};

Bytes take_all(Connection& c) {
  auto out = c.output();
  Bytes bytes(out.begin(), out.end());
  c.consume_output(out.size());
  return bytes;
}

void drain(Connection& c) {
  std::byte scratch[4096];
  for (int i = 0; i < 64 && c.wants().read_now; ++i)
    if (c.read(scratch).status == IoStatus::end) return;
}

// A full handshake whose client keeps the session, for the executions that
// resume (no certificate signed or verified: more operations per second).
void prime(Pair& p, const Choice& c) {
  auto victim = Connection::create(*p.victim);
  auto peer = Connection::create(*p.peer);
  if (!victim || !peer) return;
  capture_sessions = true;
  for (int round = 0; round < 12; ++round) {
    peer->feed(take_all(*victim)), peer->handshake(), drain(*peer);
    victim->feed(take_all(*peer)), victim->handshake(), drain(*victim);
  }
  capture_sessions = false;
  (void)c;
}

Pair* pair_for(const Choice& c) {
  static std::map<int, Pair> pairs;
  auto it = pairs.find(c.key());
  if (it != pairs.end()) return &it->second;
  Pair p;
  Config vc = c.victim == Role::client ? conformance::client_config(c.version) : conformance::server_config(c.version);
  Config pc = c.victim == Role::client ? conformance::server_config(c.version) : conformance::client_config(c.version);
  if (c.small_queues) vc.inbound_capacity = vc.outbound_capacity = record::max_record;
  p.inbound_capacity = vc.inbound_capacity;
  p.outbound_capacity = vc.outbound_capacity;
  auto capture = [slot = p.session](std::span<const std::byte> session) {
    if (capture_sessions) slot->assign(session.begin(), session.end());
  };
  (c.victim == Role::client ? vc : pc).on_new_session = capture;
  auto v = Context::create(std::move(vc), victim_backend());
  auto q = Context::create(std::move(pc), *c.peer);
  if (!v || !q) {
    std::fprintf(stderr, "lastbyte-fuzz: %s: %s\n", c.describe().c_str(),
                 (!v ? v.error() : q.error()).message().c_str());
    std::abort();
  }
  p.victim.emplace(std::move(*v));
  p.peer.emplace(std::move(*q));
  prime(p, c);
  return &pairs.emplace(c.key(), std::move(p)).first->second;
}

std::string errc_name(std::error_code e) { return e ? e.message() : "no error"; }

// What the victim may refuse: every errc the contract names for the state.
using Allowed = std::vector<errc>;
bool allowed(const Allowed& a, std::error_code e) {
  return std::any_of(a.begin(), a.end(), [&](errc x) { return e == x; });
}
std::string list(const Allowed& a) {
  std::string s;
  for (errc x : a) s += (s.empty() ? "" : " or ") + make_error_code(x).message();
  return s.empty() ? "success" : s;
}

class Run {
 public:
  Run(Pair& pair, const Choice& choice) : pair_(pair), choice_(choice) {
    ConnectionOptions victim_options, peer_options;
    if (choice.resume) (choice.victim == Role::client ? victim_options : peer_options).resume_session = *pair.session;
    auto v = Connection::create(*pair.victim, victim_options);
    auto p = Connection::create(*pair.peer, peer_options);
    if (!v || !p) violation("Connection::create failed: " + (!v ? v.error() : p.error()).message());
    victim_.emplace(std::move(*v));
    peer_.emplace(std::move(*p));
  }

  void op(std::uint8_t call, std::uint8_t arg) {
    static constexpr std::size_t read_sizes[] = {0, 1, 7, 100, 512, 4096, 16384, 65536};
    static constexpr std::size_t write_sizes[] = {0, 1, 100, 1000, 16384, 16385, 40000, 100000};
    switch (call % 20) {
      case 0: feed(scaled(arg)); break;
      case 1: input_space(); break;
      case 2: commit(arg); break;
      case 3: transport_end(false); break;
      case 4: transport_end(true, arg & 1); break;  // feed_reset or feed_transport_error
      case 5: take_output(scaled(arg)); break;
      case 6: consume_too_much(arg); break;
      case 7: handshake(); break;
      case 8: read(read_sizes[arg % 8]); break;
      case 9: write(write_sizes[arg % 8] + (arg >> 3)); break;
      case 10: close(); break;
      case 11: release_buffers(); break;
      case 12: info(); break;
      case 13: (void)v().verdict(), (void)v().wants(), (void)v().role(); break;
      case 14: peer_exchange(); break;
      case 15: peer_write(write_sizes[arg % 8] + (arg >> 3)); break;
      case 16: peer_close(); break;
      case 17: read_until_blocked(read_sizes[1 + arg % 7]); break;
      case 18: exchange_round(); break;
      case 19: read(read_sizes[arg % 8]), write(write_sizes[arg % 4]); break;
    }
    invariants();
  }

  // With both sides healthy, a settling exchange must deliver everything.
  void settle() {
    // Until nothing moves: a long sequence can leave megabytes in the pipes.
    for (int round = 0; round < 100000; ++round) {
      std::size_t before = moved_;
      take_output(v().output().size());
      peer_exchange();
      if (!v_transport_ended_) feed(to_victim_.size());
      if (!v().verdict()) handshake();
      read_until_blocked(16384);
      invariants();
      // A handshake() step moves nothing by itself, but leaves output.
      if (moved_ == before && v().output().empty() && p().output().empty()) break;
    }
    bool victim_healthy = !v_reset_ && (!v().verdict() || std::holds_alternative<CloseNotify>(*v().verdict()));
    bool peer_healthy = !p().verdict() || std::holds_alternative<CloseNotify>(*p().verdict());
    check(peer_healthy || !victim_healthy, [&] {
      return "the peer, fed only what the victim sent, ended with " + describe(*p().verdict());
    });
    if (!victim_healthy || !peer_healthy) return;
    if (!v_transport_ended_) {
      check(v().wants().handshake_done && p().wants().handshake_done, [] {
        return "both sides healthy and the transport open, yet the handshake did not finish";
      });
    }
    if (!v().wants().handshake_done) return;
    check(peer_read_ == victim_written_, [&] {
      return "C10: the victim's write() accepted " + std::to_string(victim_written_) + " bytes, the peer received " +
             std::to_string(peer_read_);
    });
    // close() queued close_notify after every accepted byte (C9, C10).
    if (closed_)
      check(p().verdict() && std::holds_alternative<CloseNotify>(*p().verdict()), [&] {
        return "the victim closed, yet the peer's verdict is " + (p().verdict() ? describe(*p().verdict()) : "none");
      });
    // The peer's close_notify, if any, came after all of its data (C1).
    if (!v_transport_ended_)
      check(victim_read_ == peer_written_, [&] {
        return "the peer's write() accepted " + std::to_string(peer_written_) + " bytes, the victim received " +
               std::to_string(victim_read_);
      });
  }

 private:
  Connection& v() { return *victim_; }
  Connection& p() { return *peer_; }
  std::size_t scaled(std::uint8_t arg) const {
    return arg < 64 ? arg : arg < 128 ? std::size_t{arg - 63u} * 64 : std::size_t{arg - 127u} * 1024;
  }

  // Any call but commit_input(), output(), consume_output() and the const
  // queries retires an input_space() offer.
  void retire_offer() { offer_ = {}, offer_valid_ = false; }

  void refusal(const char* call, std::error_code got, const Allowed& a) {
    check(a.empty() ? !got : allowed(a, got), [&] {
      return std::string(call) + " returned " + errc_name(got) + "; the contract says " + list(a) + " (" + state() + ")";
    });
  }
  std::string state() {
    const auto& verdict = v().verdict();
    return std::string("handshake ") + (v().wants().handshake_done ? "done" : "running") + ", transport " +
           (v_reset_ ? "reset" : v_transport_ended_ ? "ended" : "open") + ", verdict " +
           (verdict ? describe(*verdict) : "none") + (closed_ ? ", closed" : "") + (end_reported_ ? ", end reported" : "");
  }
  bool fatal_verdict() {
    const auto& verdict = v().verdict();
    return verdict && !std::holds_alternative<CloseNotify>(*verdict);
  }

  // ---- the victim's transport side ----

  void feed(std::size_t n) {
    retire_offer();
    n = std::min(n, to_victim_.size());
    std::span<const std::byte> bytes(to_victim_.data(), n);
    bool had_verdict = v().verdict().has_value();
    IoResult r = v().feed(bytes);
    if (v_transport_ended_) {
      check(r.status == IoStatus::refused && r.error == errc::input_after_transport_end, [&] {
        return "feed() after the transport end must be refused with input_after_transport_end, got " + errc_name(r.error);
      });
      return;
    }
    check(r.status != IoStatus::refused, [&] { return "feed() refused: " + errc_name(r.error) + " (" + state() + ")"; });
    check(r.bytes <= n, [] { return "feed() took more than it was given"; });
    if (had_verdict) check(r.bytes == n, [] { return "feed() after the verdict must take (and count) every byte"; });
    check(r.status == IoStatus::ok || (n > 0 && r.bytes == 0), [] { return "feed() blocked while taking bytes"; });
    to_victim_.erase(to_victim_.begin(), to_victim_.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    moved_ += r.bytes;
  }

  void input_space() {
    offer_ = v().input_space();
    offer_valid_ = !offer_.empty();
    offer_used_ = 0;
    if (v_transport_ended_ || v().verdict())
      check(offer_.empty(), [] { return "input_space() offered room after the transport end or the verdict"; });
    check(offer_.size() <= pair_.inbound_capacity, [] { return "input_space() offered more than inbound_capacity"; });
  }

  void commit(std::uint8_t arg) {
    std::size_t left = offer_.size() - offer_used_;
    bool overflow = arg >= 200;  // ask for more than was offered
    std::size_t n = overflow ? left + 1 + (arg - 200u) : std::min<std::size_t>({scaled(arg), left, to_victim_.size()});
    Allowed a;
    if (v_transport_ended_) a.push_back(errc::input_after_transport_end);
    if (n > 0 && !offer_valid_) a.push_back(errc::input_space_stale);
    if (n > 0 && offer_valid_ && n > left) a.push_back(errc::input_overflow);
    if (a.empty() && n > 0) std::memcpy(offer_.data() + offer_used_, to_victim_.data(), n);
    std::error_code e = v().commit_input(n);
    refusal("commit_input", e, a);
    if (e || n == 0) return;
    offer_used_ += n;
    to_victim_.erase(to_victim_.begin(), to_victim_.begin() + static_cast<std::ptrdiff_t>(n));
    moved_ += n;
  }

  // `reset`: feed_reset(), or with `unknown` feed_transport_error() (the
  // same contract: writes refused, Reset unless close_notify came first).
  void transport_end(bool reset, bool unknown = false) {
    retire_offer();
    Allowed a;
    if (v_transport_ended_) a.push_back(errc::input_after_transport_end);
    std::error_code e = !reset ? v().feed_eof() : unknown ? v().feed_transport_error() : v().feed_reset();
    refusal(!reset ? "feed_eof" : unknown ? "feed_transport_error" : "feed_reset", e, a);
    if (!e) v_transport_ended_ = true, v_reset_ = reset;
  }

  void take_output(std::size_t n) {
    auto out = v().output();
    n = std::min(n, out.size());
    to_peer_.insert(to_peer_.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    std::error_code e = v().consume_output(n);
    refusal("consume_output", e, {});
    moved_ += n;
  }

  void consume_too_much(std::uint8_t arg) {
    std::size_t size = v().output().size();
    std::error_code e = v().consume_output(size + 1 + arg);
    refusal("consume_output beyond output()", e, {errc::output_overflow});
    check(v().output().size() == size, [] { return "a refused consume_output() consumed output"; });
  }

  // ---- the victim's application side ----

  void handshake() {
    retire_offer();
    IoResult r = v().handshake();
    switch (r.status) {
      case IoStatus::ok: check(v().wants().handshake_done && r.bytes == 0, [] { return "handshake() ok, yet not done"; }); break;
      case IoStatus::blocked: check(!v().wants().handshake_done && !v().verdict(), [] { return "handshake() blocked, yet done or ended"; }); break;
      case IoStatus::end: check(v().verdict().has_value() && !v().wants().handshake_done, [] { return "handshake() end without a verdict"; }); break;
      case IoStatus::refused: violation("handshake() refused: " + errc_name(r.error));
    }
  }

  void read(std::size_t size) {
    retire_offer();
    Allowed a;
    if (end_reported_) a.push_back(errc::read_after_end);
    if (size == 0) a.push_back(errc::empty_buffer);
    buffer_.resize(std::max<std::size_t>(size, 1));
    IoResult r = v().read(std::span(buffer_).first(size));
    if (!a.empty() || r.status == IoStatus::refused) {
      check(r.status == IoStatus::refused, [&] { return "read() must be refused with " + list(a) + " (" + state() + ")"; });
      refusal("read", r.error, a);
      return;
    }
    if (r.status == IoStatus::end) {
      check(v().verdict().has_value(), [] { return "read() reported the end without a verdict"; });
      end_reported_ = true;
      return;
    }
    if (r.status == IoStatus::blocked) return;
    check(r.bytes > 0 && r.bytes <= size, [] { return "read() ok with a byte count outside the buffer"; });
    Bytes expected = conformance::pattern(victim_read_, r.bytes);
    check(victim_read_ + r.bytes <= peer_written_ && std::equal(expected.begin(), expected.end(), buffer_.begin()), [&] {
      return "the victim read " + std::to_string(r.bytes) + " bytes at offset " + std::to_string(victim_read_) +
             " that are not the peer's next bytes (the peer wrote " + std::to_string(peer_written_) + ")";
    });
    victim_read_ += r.bytes;
    moved_ += r.bytes;
  }

  void read_until_blocked(std::size_t size) {
    for (int i = 0; i < 256 && !end_reported_ && v().wants().read_now; ++i) read(size);
  }

  void write(std::size_t size) {
    retire_offer();
    Allowed a;
    bool tls12 = choice_.version == TlsVersion::tls1_2;
    const auto& verdict = v().verdict();
    if (closed_) a.push_back(errc::write_after_close);
    if (v_reset_) a.push_back(errc::write_after_reset);
    if (fatal_verdict()) a.push_back(errc::write_after_end);
    if (verdict && std::holds_alternative<CloseNotify>(*verdict) && tls12) {
      a.push_back(errc::write_after_peer_close_tls12);
      a.push_back(errc::write_after_close);  // the core answered the peer's close_notify with its own
    }
    Bytes plaintext = conformance::pattern(victim_written_, size);
    IoResult r = v().write(plaintext);
    if (!a.empty() || r.status == IoStatus::refused) {
      check(r.status == IoStatus::refused, [&] {
        return "write() must be refused with " + list(a) + ", got status " + std::to_string(static_cast<int>(r.status)) +
               " (" + state() + ")";
      });
      refusal("write", r.error, a);
      return;
    }
    switch (r.status) {
      case IoStatus::ok:
        check(r.bytes <= size && (r.bytes > 0 || size == 0), [] { return "write() ok with a byte count outside the buffer"; });
        victim_written_ += r.bytes;
        break;
      case IoStatus::blocked: check(size > 0, [] { return "an empty write() blocked"; }); break;
      case IoStatus::end: check(fatal_verdict(), [] { return "write() reported the end without a fatal verdict"; }); break;
      case IoStatus::refused: break;
    }
  }

  void close() {
    retire_offer();
    bool dead = fatal_verdict();
    bool running = !v().wants().handshake_done;
    Allowed a;
    if (running && !closed_ && !dead) a.push_back(errc::close_during_handshake);
    std::error_code e = v().close();
    if (running && dead && e) a.push_back(errc::close_during_handshake);  // both rules apply: either answer
    refusal("close", e, a);
    if (!e && !running && !dead) closed_ = true;
  }

  void release_buffers() {
    retire_offer();
    bool had_output = !v().output().empty();
    bool released = v().release_buffers();
    check(!(released && had_output), [] { return "release_buffers() freed the queues while output() held bytes"; });
  }

  void info() {
    auto i = v().info();
    if (!v().wants().handshake_done) {
      check(!i && i.error().code == errc::handshake_not_done, [] { return "info() before the handshake must be handshake_not_done"; });
      return;
    }
    check(i.has_value(), [&] { return "info() after the handshake failed: " + i.error().message(); });
    check(i->version == choice_.version && !i->cipher.empty() && i->backend == victim_backend().name, [] {
      return "info() describes another session";
    });
  }

  // ---- the peer (driven like a careful application) ----

  void peer_exchange() {
    std::span<const std::byte> rest(to_peer_);
    while (!rest.empty()) {
      IoResult r = p().feed(rest);
      rest = rest.subspan(r.bytes);
      if (r.status == IoStatus::refused) break;
      if (r.bytes == 0) {
        std::size_t before = peer_read_;
        peer_read_all();
        if (peer_read_ == before) break;
      }
    }
    moved_ += to_peer_.size() - rest.size();
    to_peer_.erase(to_peer_.begin(), to_peer_.end() - static_cast<std::ptrdiff_t>(rest.size()));
    if (!p().verdict()) p().handshake();
    peer_read_all();
    Bytes out = take_all(p());
    moved_ += out.size();
    to_victim_.insert(to_victim_.end(), out.begin(), out.end());
  }

  void peer_read_all() {
    std::byte buf[16384];
    for (int i = 0; i < 1024 && p().wants().read_now; ++i) {
      IoResult r = p().read(buf);
      if (r.status != IoStatus::ok) {
        if (r.status == IoStatus::end || r.status == IoStatus::refused) return;
        continue;
      }
      Bytes expected = conformance::pattern(peer_read_, r.bytes);
      check(peer_read_ + r.bytes <= victim_written_ && std::equal(expected.begin(), expected.end(), buf), [&] {
        return "the peer read " + std::to_string(r.bytes) + " bytes at offset " + std::to_string(peer_read_) +
               " that are not what the victim's write() accepted (" + std::to_string(victim_written_) + " bytes)";
      });
      peer_read_ += r.bytes;
      moved_ += r.bytes;
    }
  }

  void peer_write(std::size_t size) {
    Bytes plaintext = conformance::pattern(peer_written_, size);
    IoResult r = p().write(plaintext);
    if (r.status == IoStatus::ok) peer_written_ += r.bytes;
    Bytes out = take_all(p());
    to_victim_.insert(to_victim_.end(), out.begin(), out.end());
  }

  void peer_close() {
    p().close();
    Bytes out = take_all(p());
    to_victim_.insert(to_victim_.end(), out.begin(), out.end());
  }

  void exchange_round() {
    take_output(v().output().size());
    peer_exchange();
    feed(to_victim_.size());
    handshake();
  }

  void invariants() {
    auto out = v().output();
    check(out.size() <= pair_.outbound_capacity, [&] {
      return "output() holds " + std::to_string(out.size()) + " bytes, above outbound_capacity (" + state() + ")";
    });
    Wants w = v().wants();
    check(w.output == !out.empty(), [] { return "wants().output disagrees with output()"; });
    check(w.handshake_done || !handshake_seen_, [] { return "the handshake un-finished"; });
    handshake_seen_ |= w.handshake_done;
    if (end_reported_) check(!w.read_now, [] { return "read_now after the end was reported"; });
    check(v().role() == choice_.victim, [] { return "role() changed"; });
    const auto& verdict = v().verdict();
    if (seen_verdict_) {
      check(verdict && verdict->index() == seen_verdict_->index(), [&] {
        return "the verdict changed from " + describe(*seen_verdict_) + " to " + (verdict ? describe(*verdict) : "none");
      });
    }
    if (verdict) seen_verdict_ = *verdict;
  }

  Pair& pair_;
  const Choice& choice_;
  std::optional<Connection> victim_, peer_;
  Bytes to_victim_, to_peer_;  // the two directions of the transport
  std::span<std::byte> offer_;
  bool offer_valid_ = false;
  std::size_t offer_used_ = 0;
  bool v_transport_ended_ = false, v_reset_ = false;
  bool closed_ = false, end_reported_ = false, handshake_seen_ = false;
  std::size_t victim_written_ = 0, victim_read_ = 0, peer_written_ = 0, peer_read_ = 0;
  std::size_t moved_ = 0;
  Bytes buffer_;
  std::optional<Verdict> seen_verdict_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(std::span(data, size));
  std::uint8_t selector = in.u8();
  Choice choice{.victim = (selector & 1) ? Role::server : Role::client,
                .version = (selector & 2) ? TlsVersion::tls1_2 : TlsVersion::tls1_3,
                .small_queues = (selector & 4) != 0,
                .resume = (selector & 8) != 0};
  if (!victim_backend().supports(choice.version)) choice.version = TlsVersion::tls1_2;
  std::vector<const Backend*> peers;
  for (const Backend* b : conformance::installed_backends())
    if (b->supports(choice.version)) peers.push_back(b);
  choice.peer = peers[(selector >> 4) % peers.size()];
  set_context(choice.describe());
  Pair* pair = pair_for(choice);
  Run run(*pair, choice);
  std::string ops;
  for (int i = 0; i < 256 && !in.empty(); ++i) {
    std::uint8_t call = in.u8(), arg = in.u8();
    ops += std::to_string(call % 20) + ":" + std::to_string(arg) + " ";
    set_context(choice.describe() + "; calls " + ops);
    run.op(call, arg);
  }
  run.settle();
  return 0;
}
