// The in-memory "network" the direct baselines put between their library's
// I/O callbacks: bytes written by one side, read by the other.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

namespace lastbyte::bench {

class MemoryQueue {
 public:
  explicit MemoryQueue(std::size_t reserve = 96 * 1024) { bytes_.reserve(reserve); }

  void write(const void* data, std::size_t n) {
    if (head_ == bytes_.size()) bytes_.clear(), head_ = 0;
    auto* p = static_cast<const unsigned char*>(data);
    bytes_.insert(bytes_.end(), p, p + n);
  }
  std::size_t capacity() const { return bytes_.capacity(); }
  bool empty() const { return head_ == bytes_.size(); }
  // What is buffered, read in place (a sans-I/O library takes it from
  // here without a copy of ours), then consume()d.
  const unsigned char* data() const { return bytes_.data() + head_; }
  std::size_t size() const { return bytes_.size() - head_; }
  void consume(std::size_t n) { head_ += std::min(n, size()); }
  // 0: nothing buffered (the callback then says "would block").
  std::size_t read(void* out, std::size_t n) {
    n = std::min(n, bytes_.size() - head_);
    std::memcpy(out, bytes_.data() + head_, n);
    head_ += n;
    return n;
  }

 private:
  std::vector<unsigned char> bytes_;
  std::size_t head_ = 0;
};

}  // namespace lastbyte::bench
