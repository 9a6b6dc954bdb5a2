// The two ciphertext queues a Connection owns. Both are flat buffers sized once
// at creation; the per-record path never allocates.
#pragma once

#include <lastbyte/record.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lastbyte::detail {

// A record header the core refuses before the library ever sees the record.
struct GateError {
  Alert alert;
  std::string detail;
};

// Inbound ciphertext, released to the engine one complete record at a time
// (the "record gate"): [begin_, exposed_) is the record being read by the
// engine, [exposed_, end_) is not yet visible to it.
class InboundQueue {
 public:
  explicit InboundQueue(std::size_t capacity);

  std::span<std::byte> space();
  void commit(std::size_t n) { end_ += n; }
  std::size_t append(std::span<const std::byte> bytes);

  std::size_t pull(std::span<std::byte> out);

  // A whole record (or a gate error) is ready for the engine.
  bool record_ready() const;
  std::size_t unconsumed() const { return end_ - begin_; }
  std::size_t room() const { return buf_.size() - unconsumed(); }
  void discard_all() { begin_ = exposed_ = end_ = 0; }

  void set_max_fragment(std::size_t n) { max_fragment_ = n; }
  const std::optional<GateError>& gate_error() const { return gate_error_; }

 private:
  // Refuses a header the contract decides on without the library (C4: same
  // verdict on every backend). Returns the record size, or 0 if incomplete.
  std::size_t complete_record_at(std::size_t pos) const;
  void check_header_at(std::size_t pos);
  void compact();

  std::vector<std::byte> buf_;
  std::size_t begin_ = 0, exposed_ = 0, end_ = 0;
  std::size_t max_fragment_ = record::max_fragment_tls12;
  std::optional<GateError> gate_error_;
};

class OutboundQueue {
 public:
  explicit OutboundQueue(std::size_t capacity);

  void push(std::span<const std::byte> bytes);
  std::span<const std::byte> pending() const { return {buf_.data() + begin_, end_ - begin_}; }
  void consume(std::size_t n);
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }

 private:
  std::vector<std::byte> buf_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace lastbyte::detail
