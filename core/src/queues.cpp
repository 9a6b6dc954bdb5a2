#include "queues.hpp"

#include <lastbyte/engine/engine.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <new>

namespace lastbyte::detail {

namespace {

std::string hex16(unsigned v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x0000";
  for (int i = 5; i >= 2; --i, v >>= 4) s[i] = digits[v & 0xf];
  return s;
}

std::string_view type_name(std::uint8_t type) {
  switch (static_cast<record::ContentType>(type)) {
    case record::ContentType::change_cipher_spec: return "ChangeCipherSpec";
    case record::ContentType::alert: return "alert";
    case record::ContentType::handshake: return "handshake";
    case record::ContentType::application_data: return "application data";
  }
  return "unknown";
}

ProtocolError refusal(Alert alert, std::string detail) { return {alert, std::move(detail)}; }

// What the gate does with the record at the front of the queue.
struct Judgement {
  enum class Action { pass, drop, refuse } action = Action::pass;
  Verdict verdict;
};
Judgement pass() { return {}; }
Judgement drop() { return {Judgement::Action::drop, {}}; }
Judgement refuse(Verdict verdict) { return {Judgement::Action::refuse, std::move(verdict)}; }

bool is_empty_record(const record::Header& h, const RecordPolicy& policy) {
  return policy.sealing && h.length == policy.sealing->overhead() &&
         h.type == static_cast<std::uint8_t>(record::ContentType::application_data);
}

// Before the handshake finished nothing is authenticated, and an alert
// record too short to carry a tag is unprotected whoever sent it: the gate
// decides it, identically on every backend, instead of each library's
// idea of where plaintext alerts may appear (docs/decisions.md).
Judgement judge_unprotected_alert(const record::Header& h, std::span<const std::byte> body) {
  if (h.length != 2)
    return refuse(refusal(Alert::decode_error, "unprotected alert record of " + std::to_string(h.length) +
                                                   " bytes during the handshake (an alert is 2 bytes)"));
  if (body.size() < 2) return pass();  // wait for the whole record
  auto level = std::to_integer<unsigned>(body[0]);
  auto code = std::to_integer<std::uint8_t>(body[1]);
  // A close_notify before the handshake finished is no clean end: the
  // stream never authenticated (C4).
  if (code == 0 || level == 2) return refuse(PeerAlert{static_cast<Alert>(code)});
  if (level == 1) return drop();  // a warning (TLS 1.2 unrecognized_name, user_canceled): every library ignores it
  return refuse(refusal(Alert::illegal_parameter, "alert of level " + std::to_string(level)));
}

// `peer_ccs_seen`: a ChangeCipherSpec from the peer passed the gate. Before
// it, no TLS 1.2 record is protected, so an alert record is unprotected
// whatever its length (a TLS 1.3 alert under handshake keys is type 23);
// after it, one of 16 bytes or more may be a protected alert, the library's
// to read.
Judgement judge_in_handshake(const record::Header& h, std::span<const std::byte> body, bool peer_ccs_seen) {
  if ((h.version & 0xff) > 3)
    return refuse(refusal(Alert::protocol_version, "record version " + hex16(h.version) + " is not TLS 1.0-1.2's"));
  if (h.length > record::max_fragment_tls12)
    return refuse(refusal(Alert::record_overflow, "record header claims " + std::to_string(h.length) +
                                                      " bytes; the limit is " + std::to_string(record::max_fragment_tls12)));
  if (static_cast<record::ContentType>(h.type) == record::ContentType::alert && (h.length < 16 || !peer_ccs_seen))
    return judge_unprotected_alert(h, body);
  return pass();
}

// After the handshake every record is protected with the negotiated suite.
Judgement judge_protected(const record::Header& h, const RecordPolicy& policy, std::size_t empty_before) {
  bool tls13 = policy.phase == RecordPolicy::Phase::tls13;
  auto type = static_cast<record::ContentType>(h.type);
  if (h.version != 0x0303)
    return refuse(refusal(Alert::protocol_version, "record version " + hex16(h.version) +
                                                       " after the handshake (every TLS 1.2/1.3 record says 0x0303)"));
  std::size_t max = policy.sealing ? policy.sealing->max_fragment()
                                   : (tls13 ? record::max_fragment_tls13 : record::max_fragment_tls12);
  if (h.length > max)
    return refuse(refusal(Alert::record_overflow,
                          "record header claims " + std::to_string(h.length) + " bytes; the limit is " + std::to_string(max)));
  if (tls13 && type != record::ContentType::application_data)
    return refuse(refusal(Alert::unexpected_message, "unprotected " + std::string(type_name(h.type)) +
                                                         " record after the handshake (TLS 1.3 protects every record)"));
  if (!tls13 && type == record::ContentType::change_cipher_spec)
    return refuse(refusal(Alert::unexpected_message, "ChangeCipherSpec after the handshake (renegotiation is refused)"));
  // A TLS 1.2 alert or handshake record too short for the tag is plaintext:
  // the same class as TLS 1.3's unprotected records above.
  if (!tls13 && type != record::ContentType::application_data && policy.sealing &&
      h.length < policy.sealing->min_fragment())
    return refuse(refusal(Alert::unexpected_message, "unprotected " + std::string(type_name(h.type)) + " record of " +
                                                         std::to_string(h.length) + " bytes after the handshake"));
  if (!tls13 && type == record::ContentType::handshake && policy.server)
    return refuse(refusal(Alert::no_renegotiation,
                          "the client asked to renegotiate; lastbyte refuses renegotiation and ends the connection"));
  if (policy.sealing && h.length < policy.sealing->min_fragment())
    return refuse(refusal(Alert::bad_record_mac, std::to_string(h.length) + "-byte " + std::string(type_name(h.type)) +
                                                     " record is shorter than the suite's nonce and tag (" +
                                                     std::to_string(policy.sealing->min_fragment()) +
                                                     " bytes): it cannot authenticate"));
  if (is_empty_record(h, policy) && empty_before == max_empty_in_a_row)
    return refuse(refusal(Alert::unexpected_message, std::to_string(max_empty_in_a_row + 1) +
                                                         " empty records in a row (a peer wasting our CPU, or a broken one)"));
  // TLS 1.2: one protected alert is exactly 2 bytes plus the overhead; any
  // other length is split or coalesced alerts (R33). TLS 1.3 hides the type.
  std::size_t alert_fragment = policy.sealing ? 2 + policy.sealing->overhead() : 0;
  if (!tls13 && type == record::ContentType::alert && alert_fragment != 0 && h.length != alert_fragment)
    return refuse(refusal(Alert::decode_error, "alert record of " + std::to_string(h.length) +
                                                   " bytes; one protected alert is exactly " + std::to_string(alert_fragment) +
                                                   " (alerts may be neither split nor coalesced)"));
  return pass();
}

// Decisions taken without the library, so that every backend reports them
// identically (R15, R18-R20, R32-R34, I01-I08). `body` is empty while the
// record is incomplete; only unprotected alerts need it.
Judgement judge(const record::Header& h, std::span<const std::byte> body, const RecordPolicy& policy,
                std::size_t empty_before, bool peer_ccs_seen) {
  if (!h.known_type())
    return refuse(refusal(Alert::unexpected_message, "record of unknown content type " + std::to_string(h.type) +
                                                         (h.type >= 'A' && h.type <= 'Z' ? " (is the peer speaking plaintext?)" : "")));
  if ((h.version >> 8) != 3) return refuse(refusal(Alert::protocol_version, "record version " + hex16(h.version) + " is not TLS"));
  if (policy.phase == RecordPolicy::Phase::handshake) return judge_in_handshake(h, body, peer_ccs_seen);
  return judge_protected(h, policy, empty_before);
}

}  // namespace

// ---- the block cache ----------------------------------------------------------

namespace {

// Per thread, so that taking and giving never lock: a connection moved to
// another thread gives its blocks to that thread's cache. Four blocks are
// what a thread's busiest few connections going idle and busy again need
// (two queues each); beyond them, blocks go back to malloc. At most four
// queue sizes' worth (256 KiB with the default 64 KiB queues) stays cached
// per thread, whatever the number of connections.
constexpr std::size_t cached_blocks = 4;
// Queues configured larger than this are freed, not cached: a thread keeps
// at most 4 MiB after its last connection.
constexpr std::size_t max_cached_block = 1024 * 1024;

struct BlockCache {
  struct Slot {
    std::unique_ptr<std::byte[]> block;
    std::size_t size = 0;
  };
  std::array<Slot, cached_blocks> slots;
  ~BlockCache();
};

// Trivially destructible, so still readable after the thread's cache is
// destroyed: queues destroyed later (a static Connection, another
// thread_local) then allocate and free directly.
thread_local bool block_cache_gone = false;

BlockCache::~BlockCache() { block_cache_gone = true; }

BlockCache* block_cache() {
  if (block_cache_gone) return nullptr;
  thread_local BlockCache cache;
  return &cache;
}

}  // namespace

std::unique_ptr<std::byte[]> take_block(std::size_t size) {
  if (BlockCache* cache = block_cache()) {
    BlockCache::Slot* other = nullptr;
    for (auto& slot : cache->slots) {
      if (slot.block && slot.size == size) return std::move(slot.block);
      if (slot.block && !other) other = &slot;
    }
    // A block of another size (another Config's queues) is what this
    // thread used before: it gives its slot up rather than keep it forever.
    if (other) other->block.reset();
  }
  return std::make_unique_for_overwrite<std::byte[]>(size);
}

void give_block(std::unique_ptr<std::byte[]> block, std::size_t size) noexcept {
  if (!block || size > max_cached_block) return;  // `block` is freed here
  if (BlockCache* cache = block_cache())
    for (auto& slot : cache->slots)
      if (!slot.block) {
        slot = {std::move(block), size};
        return;
      }
  // The cache is full (or gone): `block` is freed here.
}

InboundQueue::InboundQueue(std::size_t capacity) : capacity_(capacity), buf_(capacity) {}

std::span<std::byte> InboundQueue::space() {
  buf_.ensure();
  // Moving the unconsumed bytes to the front costs their size, so it is
  // done, when less than a record fits behind them, only where that is
  // cheap: they are no more than the consumed bytes it frees, or no complete
  // record waits to be read (then they are one partial record, at most a
  // record's size, moved once per record). With complete records waiting
  // and no room behind them the caller reads first (C2): compacting
  // whenever less than a record fitted behind them moved a nearly full queue
  // (some 50 KB) for every 64-byte record fed. Feeding costs O(bytes fed).
  if (begin_ == end_) {
    begin_ = exposed_ = end_ = 0;
  } else if (begin_ > 0 && buf_.size() - end_ < record::max_record && (begin_ >= unconsumed() || !record_ready())) {
    compact();
  }
  return {buf_.data() + end_, buf_.size() - end_};
}

bool InboundQueue::accepts_input() const {
  if (buf_.empty() || begin_ == end_ || end_ < buf_.size()) return unconsumed() < capacity_;
  return begin_ > 0 && (begin_ >= unconsumed() || !record_ready());  // space() would compact
}

bool InboundQueue::release() {
  if (unconsumed() != 0) return false;
  buf_.free();
  begin_ = exposed_ = end_ = 0;
  return true;
}

void InboundQueue::compact() {
  bytes_compacted_ += end_ - begin_;
  std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
  exposed_ -= begin_;
  end_ -= begin_;
  begin_ = 0;
}

std::size_t InboundQueue::append(std::span<const std::byte> bytes) {
  auto room = space();
  std::size_t n = std::min(room.size(), bytes.size());
  if (n > 0) std::memcpy(room.data(), bytes.data(), n);
  end_ += n;
  return n;
}

void InboundQueue::expose_next() {
  while (begin_ == exposed_ && !gate_verdict_) {
    auto header = record::parse_header({buf_.data() + begin_, end_ - begin_});
    if (!header) return;
    bool complete = end_ - begin_ >= header->record_size();
    std::span<const std::byte> body;
    if (complete) body = {buf_.data() + begin_ + record::header_size, header->length};
    Judgement j = judge(*header, body, policy_, empty_in_a_row_, peer_ccs_seen_);
    if (j.action == Judgement::Action::refuse) {
      gate_verdict_ = std::move(j.verdict);
      return;
    }
    if (!complete) return;
    if (j.action == Judgement::Action::drop) {
      begin_ = exposed_ = begin_ + header->record_size();
      continue;
    }
    empty_in_a_row_ = is_empty_record(*header, policy_) ? empty_in_a_row_ + 1 : 0;
    if (static_cast<record::ContentType>(header->type) == record::ContentType::change_cipher_spec) peer_ccs_seen_ = true;
    exposed_ += header->record_size();
  }
}

std::size_t InboundQueue::pull(std::span<std::byte> out) {
  expose_next();
  std::size_t n = std::min(out.size(), exposed_ - begin_);
  if (n > 0) std::memcpy(out.data(), buf_.data() + begin_, n);
  begin_ += n;
  return n;
}

bool InboundQueue::record_ready() const {
  if (gate_verdict_ || begin_ < exposed_) return true;
  for (std::size_t pos = begin_;;) {
    auto header = record::parse_header({buf_.data() + pos, end_ - pos});
    if (!header) return false;
    bool complete = end_ - pos >= header->record_size();
    std::span<const std::byte> body;
    if (complete) body = {buf_.data() + pos + record::header_size, header->length};
    Judgement j = judge(*header, body, policy_, empty_in_a_row_, peer_ccs_seen_);
    if (j.action == Judgement::Action::refuse) return true;
    if (!complete) return false;
    if (j.action == Judgement::Action::pass) return true;
    pos += header->record_size();  // dropped: look at the next one
  }
}

OutboundQueue::OutboundQueue(std::size_t capacity) : capacity_(capacity), buf_(capacity) {}

bool OutboundQueue::release() {
  if (!empty()) return false;
  buf_.free();
  begin_ = end_ = 0;
  return true;
}

void OutboundQueue::push(std::span<const std::byte> bytes) {
  if (ended_) return;
  buf_.ensure();
  if (buf_.size() - end_ < bytes.size() && begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // push() must take everything the library hands over. Connection::write()
  // budgets plaintext by its sealed size and keeps a reserve for the records
  // a library sends unasked (a KeyUpdate answer, an alert, close_notify), so
  // application data never grows the buffer; only a handshake flight larger
  // than the queue (a long certificate chain) can.
  if (buf_.size() - end_ < bytes.size()) buf_.grow(end_ + bytes.size(), end_);
  std::memcpy(buf_.data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

void OutboundQueue::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

}  // namespace lastbyte::detail

namespace lastbyte {

// Called from inside the TLS libraries' C code, which cannot unwind: an
// allocation that fails here (the outbound queue growing, the text of a
// gate verdict) is noted, and the core ends the connection once the
// library returns.
std::size_t EngineIo::pull(std::span<std::byte> out) noexcept try {
  return in_.pull(out);
} catch (const std::bad_alloc&) {
  in_.note_allocation_failure();
  return 0;
}

bool EngineIo::handshake_done() const noexcept { return in_.handshake_done(); }

void EngineIo::push(std::span<const std::byte> ciphertext) noexcept try {
  out_.push(ciphertext);
} catch (const std::bad_alloc&) {
  out_.note_allocation_failure();
}

}  // namespace lastbyte
