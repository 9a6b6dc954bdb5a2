// The two ciphertext queues a Connection owns. Both are flat buffers of a
// fixed size, held only while there is traffic; the per-record path never
// allocates.
#pragma once

#include <lastbyte/engine/record.hpp>
#include <lastbyte/verdict.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lastbyte::detail {

// What the record gate knows of the connection: whether the handshake is
// still running, and after it the negotiated version and the suite's record
// expansion. Every decision it takes from this is the same on every backend
// (C4), and no library ever buffers a record the contract refuses anyway.
struct RecordPolicy {
  enum class Phase { handshake, tls12, tls13 } phase = Phase::handshake;
  std::optional<record::Sealing> sealing;  // after the handshake; nullopt: a suite lastbyte does not know
  bool server = false;
};

// Mbed TLS 2.28 refuses the 4th empty record in a row, OpenSSL the 33rd:
// the strictest library sets the one limit every backend reports.
inline constexpr std::size_t max_empty_in_a_row = 3;

// A queue's bytes: allocated without zeroing (every byte is written before
// it is read), only while the connection has traffic. The queue gives them
// back whenever it is idle (Connection::Impl::park_if_idle) and takes them
// again on the next bytes: an idle connection holds none (issue 13). What is
// given back goes to a small cache of the calling thread (take_block,
// give_block), so that a connection going idle and busy again between
// records, or a new one, reuses a block instead of calling malloc.
std::unique_ptr<std::byte[]> take_block(std::size_t size);  // throws std::bad_alloc
void give_block(std::unique_ptr<std::byte[]> block, std::size_t size) noexcept;

class Storage {
 public:
  explicit Storage(std::size_t capacity) : capacity_(capacity) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage() { free(); }
  // Allocates `capacity` bytes unless it holds some.
  void ensure() {
    if (!bytes_) {
      bytes_ = take_block(capacity_);
      size_ = capacity_;
    }
  }
  // Keeps the first `keep` bytes.
  void grow(std::size_t size, std::size_t keep) {
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(size);
    std::memcpy(bigger.get(), bytes_.get(), keep);
    free();
    bytes_ = std::move(bigger);
    size_ = size;
  }
  void free() noexcept {
    // A grown block (a handshake flight larger than the queue) is of no use
    // to another queue: only blocks of the configured size are kept.
    if (size_ == capacity_) give_block(std::move(bytes_), size_);
    bytes_.reset();
    size_ = 0;
  }
  std::byte* data() const { return bytes_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::size_t capacity_;
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
  // Whether space() offers any byte now. False also when the only free bytes
  // are in front of complete records still to be read: read first (C2).
  bool accepts_input() const;
  void discard_all() { begin_ = exposed_ = end_ = 0; }
  // Gives the storage back while nothing is queued; space() takes it again.
  bool release();
  std::size_t storage_bytes() const { return buf_.size(); }

  void set_policy(const RecordPolicy& policy) { policy_ = policy; }
  bool handshake_done() const { return policy_.phase != RecordPolicy::Phase::handshake; }
  // Bytes moved to the front of the buffer so far (tests check that
  // feeding costs O(bytes fed)).
  std::size_t bytes_compacted() const { return bytes_compacted_; }
  // EngineIo could not allocate while the library was inside a call.
  void note_allocation_failure() { allocation_failed_ = true; }
  bool allocation_failed() const { return allocation_failed_; }
  // The verdict the gate reached about the record at the front, once every
  // record before it was consumed.
  const std::optional<Verdict>& gate_verdict() const { return gate_verdict_; }

 private:
  // Judges the records at the front of the queue until one is exposed, one
  // is refused (gate_verdict_), or more bytes are needed; skips the records
  // the gate drops.
  void expose_next();
  void compact();

  std::size_t capacity_;
  Storage buf_;  // capacity_ bytes, or none while released
  std::size_t begin_ = 0, exposed_ = 0, end_ = 0;
  RecordPolicy policy_;
  std::size_t empty_in_a_row_ = 0;  // exposed records with no content, since the last one with some
  std::size_t bytes_compacted_ = 0;
  bool peer_ccs_seen_ = false;       // a ChangeCipherSpec was exposed (judge_in_handshake)
  std::optional<Verdict> gate_verdict_;
  bool allocation_failed_ = false;
};

class OutboundQueue {
 public:
  explicit OutboundQueue(std::size_t capacity);

  void push(std::span<const std::byte> bytes);
  std::span<const std::byte> pending() const { return {buf_.data() + begin_, end_ - begin_}; }
  void consume(std::size_t n);
  // Drops what was pushed after the queue held `size` bytes.
  void truncate(std::size_t size) { end_ = begin_ + std::min(size, end_ - begin_); }
  std::size_t size() const { return end_ - begin_; }
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return begin_ == end_; }
  // Gives the storage back while nothing is queued; push() takes it again.
  bool release();
  std::size_t storage_bytes() const { return buf_.size(); }
  // Our close_notify was pushed: nothing may follow it on the wire (RFC 8446
  // §6.1, RFC 5246 §7.2.1), so later pushes are dropped. OpenSSL and wolfSSL
  // answer a KeyUpdate(update_requested) they read after our close_notify.
  void end_stream() { ended_ = true; }
  void note_allocation_failure() { allocation_failed_ = true; }
  bool allocation_failed() const { return allocation_failed_; }

 private:
  bool ended_ = false;
  std::size_t capacity_;
  Storage buf_;  // at least capacity_ bytes, or none while released
  std::size_t begin_ = 0, end_ = 0;
  bool allocation_failed_ = false;
};

}  // namespace lastbyte::detail
