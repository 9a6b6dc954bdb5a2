// The two ciphertext queues a Connection owns. Both are flat buffers sized once
// at creation; the per-record path never allocates.
#pragma once

#include <lastbyte/record.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <cstring>
#include <memory>
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

// What the gate decides from a record header once the handshake is done, so
// that every backend gives the same verdict (C4) and no library buffers a
// record the contract refuses anyway.
struct RecordPolicy {
  std::size_t max_fragment = record::max_fragment_tls12;  // longer: record_overflow (R19)
  // TLS 1.2: the only length a protected alert record can have (one alert,
  // neither split nor coalesced: R33); 0 = not checked (TLS 1.3 hides the type).
  std::size_t alert_fragment = 0;
  // The length of a protected record with no content (0: unknown suite).
  // More than max_empty_in_a_row of them in a row is refused (R15): they cost
  // a decryption each and deliver nothing.
  std::size_t empty_fragment = 0;
  // TLS 1.2 server: a handshake record after the handshake is a ClientHello
  // asking to renegotiate (R32).
  bool refuse_handshake_records = false;
};

// Mbed TLS 2.28 refuses the 4th empty record in a row, OpenSSL the 33rd:
// the strictest library sets the one limit every backend reports.
inline constexpr std::size_t max_empty_in_a_row = 3;

// A queue's bytes: allocated without zeroing (a connection's four queues
// are 256 KiB by default, and every byte is written before it is read), and
// freed while a connection is parked (Connection::release_buffers).
class Storage {
 public:
  explicit Storage(std::size_t size) { allocate(size); }
  void allocate(std::size_t size) {
    bytes_ = std::make_unique_for_overwrite<std::byte[]>(size);
    size_ = size;
  }
  // Keeps the first `keep` bytes.
  void grow(std::size_t size, std::size_t keep) {
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(size);
    std::memcpy(bigger.get(), bytes_.get(), keep);
    bytes_ = std::move(bigger);
    size_ = size;
  }
  void free() {
    bytes_.reset();
    size_ = 0;
  }
  std::byte* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::unique_ptr<std::byte[]> bytes_;
  std::size_t size_ = 0;
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
  std::size_t room() const { return capacity_ - unconsumed(); }
  void discard_all() { begin_ = exposed_ = end_ = 0; }
  // Frees the storage while nothing is queued; space() allocates it again.
  bool release();

  void set_policy(const RecordPolicy& policy) { policy_ = policy; }
  const std::optional<GateError>& gate_error() const { return gate_error_; }

 private:
  // Refuses a header the contract decides on without the library (C4: same
  // verdict on every backend). Returns the record size, or 0 if incomplete.
  std::size_t complete_record_at(std::size_t pos) const;
  void check_header_at(std::size_t pos);
  void compact();

  std::size_t capacity_;
  Storage buf_;  // capacity_ bytes, or none while released
  std::size_t begin_ = 0, exposed_ = 0, end_ = 0;
  RecordPolicy policy_;
  std::size_t empty_in_a_row_ = 0;  // exposed records with no content, since the last one with some
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
  // Frees the storage while nothing is queued; push() allocates it again.
  bool release();

 private:
  std::size_t capacity_;
  Storage buf_;  // at least capacity_ bytes, or none while released
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace lastbyte::detail
