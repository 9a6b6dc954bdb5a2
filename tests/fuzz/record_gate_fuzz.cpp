// (d) The record gate alone: core/src/queues.{hpp,cpp}'s InboundQueue fed
// arbitrary bytes under every policy (handshake, TLS 1.2, TLS 1.3; client,
// server; each suite's sealing, and an unknown suite), as an engine would
// pull them, against an independent model of the gate (gate_model.hpp).
//
// Input: 2 policy bytes, an operation count N, N operations of 2 bytes
// (kind, argument), then the byte stream the transport delivers (a real
// transcript in the seed corpus). Operations past the list: "append
// everything, pull like an engine until nothing comes".
//
// Oracle: no crash/UB; record_ready() agrees with what pull() then yields
// (ready: bytes or a gate verdict; not ready: nothing); a pull never spans two
// records; pulled bytes are exactly the complete records the rules let through,
// in order; a refused record never reaches pull() and its refusal is one the
// rules call for; room/unconsumed/space() account for every byte, and
// space() always fits a whole record when the queue has that much room.
#include "gate_model.hpp"
#include "queues.hpp"
#include "support.hpp"

#include <cstring>

namespace lastbyte::fuzz {
// The gate links no backend: the name only labels a violation report.
std::string_view victim_backend_name() { return "none (record gate)"; }
}  // namespace lastbyte::fuzz

namespace {

using namespace lastbyte;
using namespace lastbyte::fuzz;

struct Suite {
  const char* name;
  std::optional<record::Sealing> core;  // what the core's policy carries
};

// The core's sealing values, written as record.hpp's constructor takes them;
// the model derives its own from the suite name.
const Suite suites12[] = {{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", record::Sealing{.tag = 16, .explicit_nonce = 8}},
                          {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", record::Sealing{.tag = 16}},
                          {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", record::Sealing{.tag = 16, .explicit_nonce = 8}},
                          {"TLS_UNKNOWN", std::nullopt}};
const Suite suites13[] = {{"TLS_AES_128_GCM_SHA256", record::Sealing{.tag = 16, .inner_type = 1}},
                          {"TLS_CHACHA20_POLY1305_SHA256", record::Sealing{.tag = 16, .inner_type = 1}},
                          {"TLS_AES_256_GCM_SHA384", record::Sealing{.tag = 16, .inner_type = 1}},
                          {"TLS_UNKNOWN", std::nullopt}};

struct Refusal {
  bool peer_alert = false;
  std::vector<Alert> allowed;  // protocol error: any of these; peer alert: exactly allowed[0]
};

std::string describe_refusal(const Refusal& r) {
  std::string s = r.peer_alert ? "peer_alert(" : "protocol_error(one of";
  for (Alert a : r.allowed) s += " " + std::string(to_string(a));
  return s + ")";
}

// The model's queue: every byte appended, as absolute stream offsets.
class Model {
 public:
  Model(std::size_t capacity, model::Policy policy) : capacity_(capacity), policy_(policy) {}

  std::size_t room() const { return capacity_ - unconsumed(); }
  std::size_t unconsumed() const { return stream_.size() - consumed_; }
  void append(std::span<const std::byte> bytes) { stream_.insert(stream_.end(), bytes.begin(), bytes.end()); }
  void set_policy(const model::Policy& p) { policy_ = p; }
  void discard_all() { consumed_ = exposed_end_ = stream_.size(); }
  const std::optional<Refusal>& refusal() const { return refusal_; }

  // What pull(k) must yield.
  std::span<const std::byte> pull(std::size_t k) {
    Front f = peek();
    consumed_ = f.consumed, exposed_end_ = f.exposed_end, empty_in_a_row_ = f.empty_in_a_row, ccs_seen_ = f.ccs_seen, refusal_ = f.refusal;
    std::size_t n = std::min(k, exposed_end_ - consumed_);
    auto out = std::span(stream_).subspan(consumed_, n);
    consumed_ += n;
    return out;
  }
  // Whether pull() would yield bytes or a refusal.
  bool ready() const {
    Front f = peek();
    return f.refusal || f.exposed_end > f.consumed;
  }
  std::size_t exposed_left() const { return exposed_end_ - consumed_; }

 private:
  struct Front {
    std::size_t consumed, exposed_end, empty_in_a_row;
    bool ccs_seen;
    std::optional<Refusal> refusal;
  };
  // Judges records at the front until one is exposed, one is refused, or more
  // bytes are needed; drops handshake-phase warning alerts.
  Front peek() const {
    Front f{consumed_, exposed_end_, empty_in_a_row_, ccs_seen_, refusal_};
    while (f.consumed == f.exposed_end && !f.refusal) {
      auto header = record::parse_header(std::span(stream_).subspan(f.consumed));
      if (!header) break;
      bool complete = stream_.size() - f.consumed >= header->record_size();
      auto refusals = model::header_refusals(*header, policy_, f.empty_in_a_row, f.ccs_seen);
      if (!refusals.empty()) {
        f.refusal = Refusal{false, refusals};
        break;
      }
      if (!complete) break;
      if (model::is_unprotected_alert(*header, policy_)) {
        auto level = std::to_integer<std::uint8_t>(stream_[f.consumed + 5]);
        auto code = std::to_integer<std::uint8_t>(stream_[f.consumed + 6]);
        auto j = model::judge_unprotected_alert(level, code);
        if (j.kind != model::AlertJudgement::Kind::drop) {
          f.refusal = Refusal{j.kind == model::AlertJudgement::Kind::peer_alert, {j.alert}};
          break;
        }
        f.consumed = f.exposed_end = f.consumed + header->record_size();  // a warning: dropped
        continue;
      }
      f.empty_in_a_row = model::is_empty_record(*header, policy_) ? f.empty_in_a_row + 1 : 0;
      f.ccs_seen = f.ccs_seen || header->type == 20;
      f.exposed_end = f.consumed + header->record_size();
    }
    return f;
  }

  std::size_t capacity_;
  model::Policy policy_;
  Bytes stream_;
  std::size_t consumed_ = 0, exposed_end_ = 0;
  std::size_t empty_in_a_row_ = 0;
  bool ccs_seen_ = false;
  std::optional<Refusal> refusal_;
};

bool matches(const Refusal& r, const Verdict& v) {
  if (r.peer_alert) {
    const auto* p = std::get_if<PeerAlert>(&v);
    return p && p->alert == r.allowed[0];
  }
  const auto* e = std::get_if<ProtocolError>(&v);
  return e && std::find(r.allowed.begin(), r.allowed.end(), e->alert) != r.allowed.end();
}

std::size_t size_of(std::uint8_t arg) {
  // Small sizes one by one (headers, single bytes), large ones by the 300.
  return arg < 128 ? arg : static_cast<std::size_t>(arg - 127) * 300;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(std::span(data, size));
  std::uint8_t a = in.u8(), b = in.u8();
  // a: bits 0-1 phase (handshake, then maybe a switch; TLS 1.2; TLS 1.3),
  //    bit 2 server, bits 3-4 suite, bits 5-6 capacity.
  // b: the operation after which a handshake-phase gate switches to the
  //    post-handshake policy (0: never), and to which version (bit 7).
  static constexpr std::size_t capacities[] = {record::max_record, record::max_record + 1, 2 * record::max_record,
                                               64 * 1024};
  std::size_t capacity = capacities[(a >> 5) & 3];
  int phase = a & 3;
  bool server = (a & 4) != 0;
  int suite = (a >> 3) & 3;
  bool switch_to_13 = phase == 3 ? true : phase == 2 ? false : (b & 0x80) != 0;
  std::size_t switch_at = phase == 1 || phase == 0 ? (b & 0x7f) : 0;
  const Suite& s = switch_to_13 ? suites13[suite] : suites12[suite];

  detail::RecordPolicy core_post{.phase = switch_to_13 ? detail::RecordPolicy::Phase::tls13 : detail::RecordPolicy::Phase::tls12,
                                 .sealing = s.core,
                                 .server = server};
  model::Policy model_post{.phase = switch_to_13 ? model::Policy::Phase::tls13 : model::Policy::Phase::tls12,
                           .sealing = model::sealing_of(switch_to_13, s.name),
                           .server = server};
  bool post_now = phase >= 2;

  detail::InboundQueue queue(capacity);
  Model m(capacity, model::Policy{.phase = model::Policy::Phase::handshake, .sealing = std::nullopt, .server = server});
  queue.set_policy(detail::RecordPolicy{.phase = detail::RecordPolicy::Phase::handshake, .sealing = std::nullopt, .server = server});
  if (post_now) {
    queue.set_policy(core_post);
    m.set_policy(model_post);
  }

  std::size_t ops = in.u8() % 64;
  Bytes op_bytes;
  for (auto byte : in.bytes(ops * 2)) op_bytes.push_back(byte);
  ops = op_bytes.size() / 2;
  std::span<const std::byte> stream = in.rest();
  set_context("capacity=" + std::to_string(capacity) + " phase=" + std::to_string(phase) + " server=" +
              std::to_string(server) + " suite=" + s.name + " switch_at=" + std::to_string(switch_at) + " ops=" +
              std::to_string(ops) + " stream=" + std::to_string(stream.size()) + " bytes");

  std::size_t fed = 0;
  auto feed = [&](std::size_t n, bool zero_copy) {
    n = std::min(n, stream.size() - fed);
    if (zero_copy) {
      // With no complete record waiting, the queue offers a whole record's
      // room (or all it has); with records waiting it may offer only what is
      // behind them (read first, C2), and then says so.
      bool waiting = queue.record_ready();
      bool accepts = queue.accepts_input();
      auto space = queue.space();
      check(space.size() <= queue.room(), [&] { return "space() offers more than room()"; });
      check(waiting || space.size() >= std::min(queue.room(), record::max_record), [&] {
        return "space() offers " + std::to_string(space.size()) + " bytes with room() " + std::to_string(queue.room()) +
               " and no record waiting: a whole record may not fit";
      });
      check(accepts == !space.empty(), [&] {
        return std::string("accepts_input() says ") + (accepts ? "yes" : "no") + ", space() offers " +
               std::to_string(space.size()) + " bytes";
      });
      n = std::min(n, space.size());
      if (n > 0) std::memcpy(space.data(), stream.data() + fed, n);
      queue.commit(n);
    } else {
      std::size_t expected = std::min(n, m.room());
      bool waiting = m.ready();
      std::size_t took = queue.append(stream.subspan(fed, n));
      // All that fits, unless records wait to be read: then what fits behind
      // them, and the queue says it takes no more until they are read.
      check(took == expected || (waiting && took < expected && !queue.accepts_input()), [&] {
        return "append() took " + std::to_string(took) + " of " + std::to_string(n) + " bytes with room " +
               std::to_string(m.room()) + (waiting ? " (records waiting)" : "");
      });
      n = took;
    }
    m.append(stream.subspan(fed, n));
    fed += n;
  };

  auto pull = [&](std::size_t k) {
    bool ready = queue.record_ready();
    check(ready == m.ready(), [&] {
      return "record_ready() says " + std::string(ready ? "ready" : "not ready") + ", the rules say otherwise";
    });
    bool had_verdict = queue.gate_verdict().has_value();
    std::size_t in_record = m.exposed_left();
    Bytes out(k);
    std::size_t n = queue.pull(out);
    auto expected = m.pull(k);
    check(n == expected.size() && std::equal(expected.begin(), expected.end(), out.begin()), [&] {
      return "pull(" + std::to_string(k) + ") yielded " + std::to_string(n) + " bytes (" + hex(std::span(out).first(n)) +
             "), the rules let through " + std::to_string(expected.size()) + " (" + hex(expected) + ")";
    });
    if (k > 0) {
      check(!ready || n > 0 || queue.gate_verdict(), [] { return "record_ready() was true, yet pull() yielded nothing"; });
      check(ready || (n == 0 && !queue.gate_verdict()), [] {
        return "record_ready() was false, yet pull() yielded bytes or a verdict";
      });
    }
    if (in_record > 0) check(n <= in_record, [] { return "a pull spanned two records"; });
    if (had_verdict) check(n == 0, [] { return "bytes were pulled after the gate's verdict"; });
    const auto& gate = queue.gate_verdict();
    const auto& refusal = m.refusal();
    check(gate.has_value() == refusal.has_value(), [&] {
      return gate ? "the gate refused a record (" + describe(*gate) + ") the rules let through"
                  : "the gate let through a record the rules refuse: " + describe_refusal(*refusal);
    });
    if (gate) check(matches(*refusal, *gate), [&] {
      return "the gate's verdict " + describe(*gate) + " is not what the rules call for: " + describe_refusal(*refusal);
    });
    return n;
  };

  // An engine: a header, then its body, then the next header.
  auto pull_like_an_engine = [&] {
    while (pull(5) + pull(record::max_record) > 0) {
    }
  };

  auto invariants = [&] {
    check(queue.unconsumed() == m.unconsumed(), [&] {
      return "unconsumed() is " + std::to_string(queue.unconsumed()) + ", expected " + std::to_string(m.unconsumed());
    });
    check(queue.room() == m.room(), [&] { return "room() disagrees with the bytes appended and pulled"; });
    check(queue.record_ready() == m.ready(), [] { return "record_ready() disagrees with the rules"; });
    check(queue.room() > 0 || queue.record_ready(), [] { return "the queue is full and no record is ready: a stall"; });
  };

  for (std::size_t i = 0; i < ops; ++i) {
    if (switch_at != 0 && i == switch_at && !post_now) {
      queue.set_policy(core_post);
      m.set_policy(model_post);
      post_now = true;
    }
    auto kind = std::to_integer<std::uint8_t>(op_bytes[2 * i]);
    auto arg = std::to_integer<std::uint8_t>(op_bytes[2 * i + 1]);
    switch (kind % 8) {
      case 0: feed(arg == 0 ? stream.size() : size_of(arg), false); break;
      case 1: feed(arg == 0 ? stream.size() : size_of(arg), true); break;
      case 2: pull(size_of(arg)); break;
      case 3: pull_like_an_engine(); break;
      case 4: pull(arg % 2); break;  // pull(0) still judges the front record
      case 5:
        if (!post_now) {
          queue.set_policy(core_post);
          m.set_policy(model_post);
          post_now = true;
        }
        break;
      case 6: {
        bool released = queue.release();
        check(released == (m.unconsumed() == 0), [&] {
          return "release() returned " + std::string(released ? "true" : "false") + " with " +
                 std::to_string(m.unconsumed()) + " bytes queued";
        });
        break;
      }
      case 7: queue.discard_all(), m.discard_all(); break;
    }
    invariants();
  }
  // Past the list: the rest arrives like a transport delivers it, and is
  // drained like an engine reads, until nothing moves.
  for (int round = 0; round < 1024; ++round) {
    std::size_t fed_before = fed, queued_before = m.unconsumed();
    feed(stream.size() - fed, false);
    pull_like_an_engine();
    invariants();
    if (fed == fed_before && m.unconsumed() == queued_before) break;
  }
  return 0;
}
