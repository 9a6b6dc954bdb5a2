#include "queues.hpp"

#include <lastbyte/engine.hpp>

#include <algorithm>
#include <cstring>

namespace lastbyte::detail {

namespace {

std::string hex16(unsigned v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s = "0x0000";
  for (int i = 5; i >= 2; --i, v >>= 4) s[i] = digits[v & 0xf];
  return s;
}

bool is_empty_record(const record::Header& h, const RecordPolicy& policy) {
  return policy.empty_fragment != 0 && h.length == policy.empty_fragment &&
         h.type == static_cast<std::uint8_t>(record::ContentType::application_data);
}

// Decisions taken from the header alone, so that every backend reports them
// identically (R15, R19, R32, R33, R34) and no library buffers an oversized record.
std::optional<GateError> refuse(const record::Header& h, const RecordPolicy& policy, std::size_t empty_before) {
  if (!h.known_type())
    return GateError{Alert::unexpected_message,
                     "record of unknown content type " + std::to_string(h.type) +
                         (h.type >= 'A' && h.type <= 'Z' ? " (is the peer speaking plaintext?)" : "")};
  if ((h.version >> 8) != 3)
    return GateError{Alert::protocol_version, "record version " + hex16(h.version) + " is not TLS"};
  if (h.length > policy.max_fragment)
    return GateError{Alert::record_overflow, "record header claims " + std::to_string(h.length) +
                                                 " bytes; the limit is " + std::to_string(policy.max_fragment)};
  if (is_empty_record(h, policy) && empty_before == max_empty_in_a_row)
    return GateError{Alert::unexpected_message, std::to_string(max_empty_in_a_row + 1) +
                                                    " empty records in a row (a peer wasting our CPU, or a broken one)"};
  auto type = static_cast<record::ContentType>(h.type);
  if (type == record::ContentType::alert && policy.alert_fragment != 0 && h.length != policy.alert_fragment)
    return GateError{Alert::decode_error, "alert record of " + std::to_string(h.length) +
                                              " bytes; one protected alert is exactly " +
                                              std::to_string(policy.alert_fragment) +
                                              " (alerts may be neither split nor coalesced)"};
  if (type == record::ContentType::handshake && policy.refuse_handshake_records)
    return GateError{Alert::no_renegotiation,
                     "the client asked to renegotiate; lastbyte refuses renegotiation and ends the connection"};
  return std::nullopt;
}

}  // namespace

InboundQueue::InboundQueue(std::size_t capacity) : capacity_(capacity), buf_(capacity) {}

std::span<std::byte> InboundQueue::space() {
  if (buf_.empty()) buf_.allocate(capacity_);  // after release(): once, not per record
  if (begin_ == end_)
    begin_ = exposed_ = end_ = 0;
  else if (begin_ > 0 && buf_.size() - end_ < record::max_record)
    compact();
  return {buf_.data() + end_, buf_.size() - end_};
}

bool InboundQueue::release() {
  if (unconsumed() != 0) return false;
  buf_.free();
  begin_ = exposed_ = end_ = 0;
  return true;
}

void InboundQueue::compact() {
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

std::size_t InboundQueue::complete_record_at(std::size_t pos) const {
  auto header = record::parse_header({buf_.data() + pos, end_ - pos});
  if (!header || end_ - pos < header->record_size()) return 0;
  return header->record_size();
}

void InboundQueue::check_header_at(std::size_t pos) {
  auto header = record::parse_header({buf_.data() + pos, end_ - pos});
  if (!header) return;
  gate_error_ = refuse(*header, policy_, empty_in_a_row_);
  if (!gate_error_ && end_ - pos >= header->record_size())
    empty_in_a_row_ = is_empty_record(*header, policy_) ? empty_in_a_row_ + 1 : 0;
}

std::size_t InboundQueue::pull(std::span<std::byte> out) {
  if (begin_ == exposed_ && !gate_error_) {
    check_header_at(exposed_);
    if (!gate_error_) exposed_ += complete_record_at(exposed_);
  }
  std::size_t n = std::min(out.size(), exposed_ - begin_);
  if (n > 0) std::memcpy(out.data(), buf_.data() + begin_, n);
  begin_ += n;
  return n;
}

bool InboundQueue::record_ready() const {
  if (gate_error_ || begin_ < exposed_) return true;
  auto header = record::parse_header({buf_.data() + exposed_, end_ - exposed_});
  if (!header) return false;
  return refuse(*header, policy_, empty_in_a_row_).has_value() || end_ - exposed_ >= header->record_size();
}

OutboundQueue::OutboundQueue(std::size_t capacity) : capacity_(capacity), buf_(capacity) {}

bool OutboundQueue::release() {
  if (!empty()) return false;
  buf_.free();
  begin_ = end_ = 0;
  return true;
}

void OutboundQueue::push(std::span<const std::byte> bytes) {
  if (buf_.empty()) buf_.allocate(capacity_);  // after release(): once, not per record
  if (buf_.size() - end_ < bytes.size() && begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Only a write larger than the configured capacity grows the buffer.
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

std::size_t EngineIo::pull(std::span<std::byte> out) { return in_.pull(out); }
void EngineIo::push(std::span<const std::byte> ciphertext) { out_.push(ciphertext); }

}  // namespace lastbyte
