#include <lastbyte/conformance/harness.hpp>

namespace lastbyte::conformance {
namespace {

class Delivery {
 public:
  Delivery(Connection& victim, std::size_t read_size) : victim_(victim), buffer_(read_size) {}

  // `then_end`: the transport end arrives in the same read as this chunk
  // (docs/scenarios.md: "data and EOF in the same read"), before any read().
  void feed(std::span<const std::byte> chunk, std::optional<TransportEnd> then_end = std::nullopt) {
    while (!chunk.empty()) {
      auto r = victim_.feed(chunk);
      if (r.status == IoStatus::refused) return violation("feed() refused: " + r.error.message());
      chunk = chunk.subspan(r.bytes);
      if (chunk.empty() && then_end) feed_end(*then_end);
      if (r.bytes == 0 && !read_burst()) return violation("stall: inbound queue full and nothing to read");
      if (r.bytes > 0) read_burst();
    }
  }

  void end(TransportEnd end) {
    if (!end_fed_) feed_end(end);
    read_burst();
    if (end != TransportEnd::none && !outcome_.verdict)
      violation("C3/C4: the transport ended but no verdict was reached and read_now is false");
  }

  Outcome take() {
    // The verdict as it stands at the end: bytes after close_notify keep being counted.
    if (outcome_.verdict) outcome_.verdict = victim_.verdict();
    return std::move(outcome_);
  }

 private:
  void violation(std::string what) { outcome_.violations.push_back(std::move(what)); }

  void feed_end(TransportEnd end) {
    end_fed_ = true;
    std::error_code e;
    if (end == TransportEnd::fin) e = victim_.feed_eof();
    if (end == TransportEnd::rst) e = victim_.feed_reset();
    if (e) violation("feeding the transport end was refused: " + e.message());
  }

  // One read(); true if it made visible progress (bytes or the end).
  bool read_once() {
    auto r = victim_.read(buffer_);
    ++outcome_.reads;
    switch (r.status) {
      case IoStatus::ok:
        outcome_.plaintext.insert(outcome_.plaintext.end(), buffer_.begin(), buffer_.begin() + r.bytes);
        return true;
      case IoStatus::end: outcome_.verdict = victim_.verdict(); return true;
      case IoStatus::refused: violation("read() refused: " + r.error.message()); return true;
      case IoStatus::blocked: return false;
    }
    return false;
  }

  // What an event loop does after every transport read: read while read_now,
  // then (C2) a probe: with read_now false, read() must produce nothing.
  bool read_burst() {
    bool progress = false;
    int idle = 0;
    while (!outcome_.verdict && victim_.wants().read_now) {
      if (read_once()) {
        progress = true;
        idle = 0;
      } else if (++idle > 64) {
        violation("read_now stays true but read() makes no progress");
        return progress;
      }
    }
    if (!outcome_.verdict && read_once())
      violation("C2: wants().read_now was false, yet read() produced " +
                std::string(outcome_.verdict ? "the verdict" : "plaintext"));
    return progress;
  }

  Connection& victim_;
  Bytes buffer_;
  Outcome outcome_;
  bool end_fed_ = false;
};

}  // namespace

Outcome deliver(Connection& victim, std::span<const std::byte> wire, TransportEnd end, const Schedule& schedule,
                std::size_t read_size) {
  Delivery delivery(victim, read_size);
  auto reads = cut(wire, schedule);
  for (std::size_t i = 0; i < reads.size(); ++i)
    delivery.feed(reads[i], i + 1 == reads.size() ? std::optional(end) : std::nullopt);
  delivery.end(end);
  return delivery.take();
}

}  // namespace lastbyte::conformance
