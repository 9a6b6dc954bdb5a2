#include "support.hpp"

#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/broken.hpp>
#include <lastbyte/engine/record.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifdef LASTBYTE_FUZZ_HAVE_WOLFSSL
// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/wolfcrypt/ecc.h>
// clang-format on
#endif

namespace lastbyte::fuzz {

// ---- backends ----------------------------------------------------------------

const Backend& backend_named(std::string_view name) {
  auto found = find_backend(name, conformance::installed_backends());
  if (!found) {
    std::fprintf(stderr, "lastbyte-fuzz: %s\n", found.error().message().c_str());
    std::abort();
  }
  return **found;
}

const Backend& victim_backend() {
  static const Backend& backend = [&]() -> const Backend& {
    const Backend& real = backend_named(victim_backend_name());
    const char* breakage = std::getenv("LASTBYTE_FUZZ_BREAK");
    if (!breakage || !*breakage) return real;
    using conformance::Breakage;
    for (auto [name, b] : {std::pair{"drops_held_plaintext", Breakage::drops_held_plaintext},
                           std::pair{"hides_held_plaintext", Breakage::hides_held_plaintext},
                           std::pair{"ends_before_draining", Breakage::ends_before_draining}})
      if (std::string_view(breakage) == name) {
        std::fprintf(stderr, "lastbyte-fuzz: victim is %s wrapped in the broken engine '%s'\n",
                     std::string(real.name).c_str(), name);
        return conformance::broken_backend(b, real);
      }
    std::fprintf(stderr, "lastbyte-fuzz: unknown LASTBYTE_FUZZ_BREAK=%s\n", breakage);
    std::abort();
  }();
  return backend;
}

void reset_library_state() {
#if defined(LASTBYTE_FUZZ_HAVE_WOLFSSL) && defined(FP_ECC)
  if (victim_backend_name() == "wolfssl") wc_ecc_fp_free();
#endif
}

// ---- reporting ---------------------------------------------------------------

namespace {

// LASTBYTE_FUZZ_TRACE=1: every transport read, read() and verdict of a
// delivery on stderr (for reproducing a crash; docs/adversarial.md).
bool tracing() {
  static const bool on = [] {
    const char* v = std::getenv("LASTBYTE_FUZZ_TRACE");
    return v && *v && *v != '0';
  }();
  return on;
}
// A macro so that the arguments (hex dumps, verdict descriptions) are only
// computed when tracing.
#define LASTBYTE_FUZZ_TRACE(...)                     \
  do {                                               \
    if (tracing()) std::fprintf(stderr, __VA_ARGS__); \
  } while (false)

std::string& context_slot() {
  static std::string context;
  return context;
}
}  // namespace

void set_context(std::string context) {
  LASTBYTE_FUZZ_TRACE("input: %s\n", context.c_str());
  context_slot() = std::move(context);
}

void violation(const std::string& what) {
  std::fprintf(stderr, "\n==lastbyte-fuzz== ORACLE VIOLATION (victim backend %s)\n  %s\n  input: %s\n",
               std::string(victim_backend_name()).c_str(), what.c_str(), context_slot().c_str());
  std::fflush(stderr);
  std::abort();
}

std::string hex(std::span<const std::byte> bytes, std::size_t max) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < std::min(bytes.size(), max); ++i) {
    auto b = std::to_integer<unsigned>(bytes[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  if (bytes.size() > max) out += "...";
  return out.empty() ? "(none)" : out;
}

std::vector<RecordSpan> records_of(std::span<const std::byte> wire) {
  std::vector<RecordSpan> out;
  for (std::size_t pos = 0; pos < wire.size();) {
    auto header = record::parse_header(wire.subspan(pos));
    std::size_t size = header ? std::min(header->record_size(), wire.size() - pos) : wire.size() - pos;
    out.push_back({pos, size});
    pos += size;
  }
  return out;
}

// ---- delivery ----------------------------------------------------------------

Delivery Delivery::parse(Input& in) {
  Delivery d;
  std::uint8_t a = in.u8(), b = in.u8(), c = in.u8();
  static constexpr TransportEnd ends[] = {TransportEnd::none, TransportEnd::fin, TransportEnd::rst, TransportEnd::fin};
  d.end = ends[a & 3];
  d.chunking = static_cast<Chunking>(((a >> 2) & 7) % 6);
  d.zero_copy = (a & 0x20) != 0;
  d.release_buffers = (a & 0x40) != 0;
  d.drain_output = (a & 0x80) == 0;
  static constexpr std::size_t sizes[] = {16384, 1, 7, 512, 65536, 0, 2, 100};
  d.read_size = sizes[b & 7];
  d.header_k = ((b >> 3) & 3) + 1;
  d.seed = static_cast<std::uint64_t>(c) << 8 | (b >> 5);
  return d;
}

std::string Delivery::describe() const {
  static constexpr const char* chunkings[] = {"whole", "bytewise", "random-small", "random-large", "header-split", "segments"};
  std::string s = std::string("end=") + (end == TransportEnd::none ? "none" : end == TransportEnd::fin ? "fin" : "rst");
  s += std::string(" chunking=") + chunkings[static_cast<int>(chunking)];
  if (chunking == Chunking::header_split) s += "-" + std::to_string(header_k);
  s += " read_size=" + (read_size ? std::to_string(read_size) : std::string("random"));
  s += " seed=" + std::to_string(seed);
  if (zero_copy) s += " zero-copy";
  if (release_buffers) s += " release_buffers";
  if (!drain_output) s += " output-not-drained";
  return s;
}

namespace {

std::vector<std::size_t> transport_reads(std::span<const std::byte> wire, const Delivery& d, Rng& rng) {
  std::vector<std::size_t> sizes;
  auto push_until = [&](auto next_size) {
    for (std::size_t done = 0; done < wire.size();) {
      std::size_t n = std::min(next_size(), wire.size() - done);
      sizes.push_back(n);
      done += n;
    }
  };
  switch (d.chunking) {
    case Delivery::Chunking::whole:
      if (!wire.empty()) sizes.push_back(wire.size());
      break;
    case Delivery::Chunking::bytewise: push_until([] { return std::size_t{1}; }); break;
    case Delivery::Chunking::random_small: push_until([&] { return rng.in(1, 40); }); break;
    case Delivery::Chunking::random_large: push_until([&] { return rng.in(1, 24000); }); break;
    case Delivery::Chunking::segments: {
      std::size_t segment = rng.in(1, 1460);
      push_until([&] { return segment; });
      break;
    }
    case Delivery::Chunking::header_split: {
      std::size_t from = 0;
      for (const auto& r : records_of(wire)) {
        std::size_t cut = r.offset + static_cast<std::size_t>(d.header_k);
        if (cut <= from || cut >= wire.size()) continue;
        sizes.push_back(cut - from);
        from = cut;
      }
      if (from < wire.size()) sizes.push_back(wire.size() - from);
      break;
    }
  }
  return sizes;
}

class Driver {
 public:
  Driver(Connection& victim, const Delivery& d, std::size_t outbound_capacity)
      : victim_(victim), d_(d), rng_(d.seed * 0x2545f4914f6cdd1dULL + 1), capacity_(outbound_capacity) {}

  void run(std::span<const std::byte> wire) {
    auto sizes = transport_reads(wire, d_, rng_);
    std::size_t at = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      transport_read(wire.subspan(at, sizes[i]), i + 1 == sizes.size());
      at += sizes[i];
    }
    if (sizes.empty() && d_.end != TransportEnd::none) feed_end();
    read_burst();
    if (d_.end != TransportEnd::none && !out_.end_reported)
      violation("C3/C4: the transport ended, read() was called until read_now turned false, and no end was reported");
    if (out_.end_reported) {
      IoResult again = victim_.read(buffer(16384));
      check(again.status == IoStatus::refused && again.error == errc::read_after_end, [&] {
        return "read() after the end must be refused with read_after_end, got status " +
               std::to_string(static_cast<int>(again.status)) + " (" + again.error.message() + ")";
      });
    }
    out_.verdict = victim_.verdict();
    check_verdict_stable();
  }

  Observed take() { return std::move(out_); }

 private:
  std::span<std::byte> buffer(std::size_t size) {
    if (buffer_.size() < size) buffer_.resize(size);
    return std::span(buffer_).first(size);
  }
  std::size_t next_read_size() { return d_.read_size ? d_.read_size : rng_.in(1, 65536); }

  // One transport read: the whole chunk reaches the victim, reading
  // whenever the inbound queue pushes back (a loop that stopped there would
  // stall: C2 promises read_now then).
  void transport_read(std::span<const std::byte> chunk, bool last) {
    LASTBYTE_FUZZ_TRACE("  transport read: %zu bytes %s%s\n", chunk.size(), hex(chunk, 8).c_str(), last ? " (last)" : "");
    while (!chunk.empty()) {
      std::size_t taken = d_.zero_copy && !victim_.verdict() ? commit_some(chunk) : feed_some(chunk);
      chunk = chunk.subspan(taken);
      if (taken == 0 && !read_burst())
        violation("stall: the inbound queue takes no more bytes and read() makes no progress (C2)");
    }
    if (last && d_.end != TransportEnd::none) feed_end();
    read_burst();
    if (d_.release_buffers && rng_.chance(2)) victim_.release_buffers();
  }

  std::size_t feed_some(std::span<const std::byte> chunk) {
    IoResult r = victim_.feed(chunk);
    check(r.status == IoStatus::ok || r.status == IoStatus::blocked, [&] {
      return "feed() of an open transport was refused: " + r.error.message();
    });
    check(r.bytes <= chunk.size(), [&] { return "feed() took more bytes than it was given"; });
    if (victim_.verdict())
      check(r.bytes == chunk.size(), [&] { return "feed() after the verdict must take (and count) every byte"; });
    return r.bytes;
  }

  // Zero-copy: receive into input_space(), commit in one or several pieces
  // of one offer (the space shrinks from the front).
  std::size_t commit_some(std::span<const std::byte> chunk) {
    std::span<std::byte> space = victim_.input_space();
    if (space.empty()) return 0;
    std::size_t n = std::min(space.size(), chunk.size());
    std::size_t done = 0;
    while (done < n) {
      std::size_t piece = rng_.chance(3) ? rng_.in(1, n - done) : n - done;
      std::memcpy(space.data() + done, chunk.data() + done, piece);
      std::error_code e = victim_.commit_input(piece);
      check(!e, [&] { return "commit_input(" + std::to_string(piece) + ") of offered space refused: " + e.message(); });
      done += piece;
    }
    return n;
  }

  void feed_end() {
    LASTBYTE_FUZZ_TRACE("  transport end: %s\n", d_.end == TransportEnd::fin ? "FIN" : "RST");
    std::error_code e = d_.end == TransportEnd::fin ? victim_.feed_eof() : victim_.feed_reset();
    check(!e, [&] { return "feeding the transport end was refused: " + e.message(); });
    ended_transport_ = true;
  }

  // One read(); true if it made visible progress (bytes or the end).
  bool read_once() {
    std::size_t size = next_read_size();
    IoResult r = victim_.read(buffer(size));
    LASTBYTE_FUZZ_TRACE("  read(%zu): %s %zu%s%s\n", size,
          r.status == IoStatus::ok ? "ok" : r.status == IoStatus::blocked ? "blocked" : r.status == IoStatus::end ? "end" : "refused",
          r.bytes, r.status == IoStatus::end ? " " : "", r.status == IoStatus::end ? describe(*victim_.verdict()).c_str() : "");
    switch (r.status) {
      case IoStatus::ok:
        check(r.bytes > 0 && r.bytes <= size, [&] {
          return "read() returned ok with " + std::to_string(r.bytes) + " bytes into a buffer of " + std::to_string(size);
        });
        out_.plaintext.insert(out_.plaintext.end(), buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(r.bytes));
        return true;
      case IoStatus::end:
        check(!out_.end_reported, [] { return "read() reported the end twice"; });
        check(victim_.verdict().has_value(), [] { return "read() reported the end without a verdict"; });
        out_.end_reported = true;
        return true;
      case IoStatus::refused: violation("read() refused before the end: " + r.error.message());
      case IoStatus::blocked: return false;
    }
    return false;
  }

  // What an event loop does after every transport read: read while read_now;
  // then (C2) a probe: with read_now false, read() must produce nothing.
  bool read_burst() {
    bool progress = false;
    int idle = 0;
    while (!out_.end_reported && victim_.wants().read_now) {
      if (read_once()) {
        progress = true;
        idle = 0;
      } else if (++idle > 64) {
        violation("read_now stays true but 64 read() calls in a row made no progress");
      }
      after_call();
    }
    if (!out_.end_reported) {
      check(!victim_.verdict(), [] { return "C2: a verdict is waiting to be reported, yet wants().read_now is false"; });
      std::size_t before = out_.plaintext.size();
      if (read_once())
        violation("C2: wants().read_now was false, yet read() produced " +
                  (out_.end_reported ? std::string("the end") : std::to_string(out_.plaintext.size() - before) + " bytes"));
      after_call();
    }
    if (ended_transport_ && !out_.end_reported)
      violation("C3/C4: the transport ended, yet read_now turned false without an end");
    // Once per burst rather than per call: wants() parses the queue's headers.
    check(victim_.wants().output == !victim_.output().empty(), [] { return "wants().output disagrees with output()"; });
    return progress;
  }

  void after_call() {
    check_verdict_stable();
    auto out = victim_.output();
    check(out.size() <= capacity_, [&] {
      return "output() holds " + std::to_string(out.size()) + " bytes, above outbound_capacity " + std::to_string(capacity_);
    });
    if (d_.drain_output && !out.empty()) {
      std::error_code e = victim_.consume_output(out.size());
      check(!e, [&] { return "consume_output(output().size()) refused: " + e.message(); });
    }
  }

  void check_verdict_stable() {
    const auto& v = victim_.verdict();
    if (!v) {
      check(!seen_verdict_, [] { return "the verdict disappeared"; });
      return;
    }
    if (!seen_verdict_) {
      seen_verdict_ = *v;
      return;
    }
    check(v->index() == seen_verdict_->index(), [&] {
      return "the verdict changed from " + describe(*seen_verdict_) + " to " + describe(*v);
    });
    if (auto* closed = std::get_if<CloseNotify>(&*v)) {
      auto before = std::get<CloseNotify>(*seen_verdict_).ignored_bytes;
      check(closed->ignored_bytes >= before, [] { return "CloseNotify::ignored_bytes went down"; });
    } else {
      check(conformance::same_verdict(*seen_verdict_, *v), [&] {
        return "the verdict changed from " + describe(*seen_verdict_) + " to " + describe(*v);
      });
    }
    seen_verdict_ = *v;
  }

  Connection& victim_;
  const Delivery& d_;
  Rng rng_;
  std::size_t capacity_;
  Bytes buffer_;
  Observed out_;
  bool ended_transport_ = false;
  std::optional<Verdict> seen_verdict_;
};

}  // namespace

Observed deliver(Connection& victim, std::span<const std::byte> wire, const Delivery& delivery,
                 std::size_t outbound_capacity) {
  Driver driver(victim, delivery, outbound_capacity);
  driver.run(wire);
  return driver.take();
}

}  // namespace lastbyte::fuzz
