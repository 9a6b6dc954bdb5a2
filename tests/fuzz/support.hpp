// Shared by the fuzz targets (docs/adversarial.md, "Fuzzing"): reading an
// input as a small program, reporting an oracle violation so that libFuzzer
// keeps the input, the victim's backend, and an event-loop shaped delivery
// that checks the contract (C2, C3/C4, one end) at every step.
#pragma once

#include <lastbyte/conformance/harness.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lastbyte::fuzz {

using conformance::Bytes;
using conformance::TransportEnd;

// The backend this binary fuzzes as the victim. One binary per backend: a
// backend chosen by an input byte would make libFuzzer's coverage feedback
// and corpus mix three libraries (a mutation of that byte lands the input in
// a library where its coverage means nothing), and a per-backend binary is
// what runs on its own core overnight and names the library in a crash.
// LASTBYTE_FUZZ_BREAK=<breakage> (conformance/broken.hpp: drops_held_plaintext,
// hides_held_plaintext, ends_before_draining) wraps it in a deliberately broken
// engine: the oracles must catch it (docs/adversarial.md, "The oracles can fail").
const Backend& victim_backend();
std::string_view victim_backend_name();  // defined by the generated victim_<name>.cpp
const Backend& backend_named(std::string_view name);

// libFuzzer needs an execution to depend on its input alone. Debian's wolfSSL
// keeps a per-thread fixed-point cache of ECC points (FP_ECC) that makes its
// verdict on an off-curve key share depend on which connections came before
// (docs/divergences.md); a target whose oracle compares two deliveries
// releases that cache before each connection, so that what it compares is
// the delivery alone. A no-op for the other libraries.
void reset_library_state();

// What the current input is doing, printed with a violation: set by the
// target before the interesting part of an execution.
void set_context(std::string context);
// An oracle violation: prints it with the context and aborts, so that
// libFuzzer saves the input as a crash artifact.
[[noreturn]] void violation(const std::string& what);
inline void check(bool ok, const std::function<std::string()>& what) {
  if (!ok) violation(what());
}

// An input read front to back; past its end every read yields zeros, so any
// prefix of a meaningful input is itself a meaningful (shorter) program.
class Input {
 public:
  explicit Input(std::span<const std::uint8_t> data) : data_(data) {}
  std::uint8_t u8() { return pos_ < data_.size() ? data_[pos_++] : 0; }
  std::uint16_t u16() {
    std::uint8_t high = u8();  // sequenced: the operands of | are not
    return static_cast<std::uint16_t>(high << 8 | u8());
  }
  std::span<const std::byte> bytes(std::size_t n) {
    n = std::min(n, data_.size() - pos_);
    auto out = std::as_bytes(data_.subspan(pos_, n));
    pos_ += n;
    return out;
  }
  std::span<const std::byte> rest() { return bytes(data_.size() - pos_); }
  bool empty() const { return pos_ >= data_.size(); }

 private:
  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

// splitmix64: the chunking and read sizes of one input, from a seed the
// input carries (libFuzzer mutates the seed, not a long list of sizes).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  std::size_t in(std::size_t lo, std::size_t hi) { return lo + static_cast<std::size_t>(next() % (hi - lo + 1)); }
  bool chance(unsigned one_in) { return next() % one_in == 0; }

 private:
  std::uint64_t state_;
};

// How the transport hands the wire to the victim and how the application
// reads: three input bytes.
struct Delivery {
  enum class Chunking : std::uint8_t { whole, bytewise, random_small, random_large, header_split, segments };
  TransportEnd end = TransportEnd::none;
  Chunking chunking = Chunking::whole;
  int header_k = 1;               // header_split: cut after byte k (1..4) of every record header
  std::uint64_t seed = 0;         // random chunk sizes, random read sizes, partial commits, releases
  std::size_t read_size = 16384;  // 0: a fresh size (1..65536) for every read
  bool zero_copy = false;         // input_space()/commit_input() instead of feed()
  bool release_buffers = false;   // release_buffers() between transport reads when idle
  bool drain_output = true;       // send the victim's output as it appears

  static Delivery parse(Input& in);
  std::string describe() const;
};

struct Observed {
  Bytes plaintext;
  std::optional<Verdict> verdict;  // as it stands after the delivery (ignored bytes keep counting)
  bool end_reported = false;       // read() returned `end` (exactly once: checked)
};

// Feeds `wire` to `victim` as `delivery` cuts it, then the transport end,
// reading after every transport read exactly like an event loop (read while
// wants().read_now, and only then wait). Every breach the loop can see is a
// violation: a C2 probe read (read_now false, yet read() produced something),
// read_now true forever without progress, a transport end without a verdict,
// a second end, a read after the end that is not refused with
// read_after_end, a verdict that changes, a refused feed or commit, an
// output() above the victim's Config::outbound_capacity.
Observed deliver(Connection& victim, std::span<const std::byte> wire, const Delivery& delivery,
                 std::size_t outbound_capacity);

// Offsets where each record of `wire` starts, and its size (the last may be
// incomplete: then size runs to the end of the wire).
struct RecordSpan {
  std::size_t offset = 0, size = 0;
};
std::vector<RecordSpan> records_of(std::span<const std::byte> wire);

std::string hex(std::span<const std::byte> bytes, std::size_t max = 16);

}  // namespace lastbyte::fuzz
