// The record gate's rules as docs/decisions.md ("The record gate") and
// docs/scenarios.md state them, written a second time, independently of
// core/src/queues.cpp: the oracle of the record-gate target, and what the
// session target asks when a stream ends in a record whose header alone
// may end it. Where several rules refuse one record the gate may report any
// of them (the order is not part of the contract), so a refusal is a set.
#pragma once

#include <lastbyte/engine/record.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace lastbyte::fuzz::model {

// What an AEAD adds to a record once a suite is negotiated.
struct Sealing {
  std::size_t overhead = 0;      // fragment length of a record with no content
  std::size_t min_fragment = 0;  // explicit nonce + tag: shorter cannot authenticate
};

// TLS 1.3: 16-byte tag + the inner content type; TLS 1.2 AES-GCM: 8-byte
// explicit nonce + tag; ChaCha20-Poly1305: tag only (RFC 8446 §5.2, RFC 5288,
// RFC 7905).
inline std::optional<Sealing> sealing_of(bool tls13, std::string_view iana) {
  bool known = iana.find("AES_128_GCM") != std::string_view::npos || iana.find("AES_256_GCM") != std::string_view::npos ||
               iana.find("CHACHA20_POLY1305") != std::string_view::npos;
  if (!known) return std::nullopt;
  if (tls13) return Sealing{.overhead = 17, .min_fragment = 16};
  if (iana.find("CHACHA20") != std::string_view::npos) return Sealing{.overhead = 16, .min_fragment = 16};
  return Sealing{.overhead = 24, .min_fragment = 24};
}

struct Policy {
  enum class Phase { handshake, tls12, tls13 } phase = Phase::handshake;
  std::optional<Sealing> sealing;  // after the handshake; nullopt: a suite lastbyte does not know
  bool server = false;
};

inline constexpr std::size_t empty_records_allowed_in_a_row = 3;  // R15: the 4th is refused

inline bool is_empty_record(const record::Header& h, const Policy& p) {
  return p.phase != Policy::Phase::handshake && p.sealing && h.type == 23 && h.length == p.sealing->overhead;
}

// Every refusal the header alone calls for (empty: the header passes).
// `empty_before`: records with no content the gate let through in a row
// right before this one.
// `ccs_before`: a ChangeCipherSpec passed before (the handshake phase only).
inline std::vector<Alert> header_refusals(const record::Header& h, const Policy& p, std::size_t empty_before,
                                          bool ccs_before = false) {
  std::vector<Alert> out;
  auto refuse_if = [&](bool cond, Alert a) {
    if (cond) out.push_back(a);
  };
  refuse_if(h.type < 20 || h.type > 23, Alert::unexpected_message);  // R34
  refuse_if((h.version >> 8) != 3, Alert::protocol_version);
  if (p.phase == Policy::Phase::handshake) {
    // Before the handshake: TLS 1.0-1.2 record versions, the TLS 1.2
    // length limit, and an unprotected alert must be exactly one alert.
    refuse_if((h.version >> 8) == 3 && (h.version & 0xff) > 3, Alert::protocol_version);
    refuse_if(h.length > record::max_plaintext + 2048, Alert::record_overflow);  // R19
    // Before a ChangeCipherSpec no alert is protected; after it one of 16
    // bytes or more may be (TLS 1.2), the library's to read.
    refuse_if(h.type == 21 && h.length != 2 && (h.length < 16 || !ccs_before), Alert::decode_error);
    return out;
  }
  bool tls13 = p.phase == Policy::Phase::tls13;
  refuse_if(h.version != 0x0303, Alert::protocol_version);
  std::size_t max = p.sealing ? record::max_plaintext + p.sealing->overhead
                              : record::max_plaintext + (tls13 ? 256 : 2048);
  refuse_if(h.length > max, Alert::record_overflow);                      // R18-R20
  refuse_if(tls13 && h.type != 23, Alert::unexpected_message);           // TLS 1.3 protects every record
  refuse_if(!tls13 && h.type == 20, Alert::unexpected_message);          // CCS: renegotiation refused
  refuse_if(!tls13 && h.type == 22 && p.server, Alert::no_renegotiation);  // R32
  // Too short for the tag: a TLS 1.2 alert or handshake record is plaintext
  // (unexpected_message); application data failed its protection.
  bool short_record = p.sealing && h.length < p.sealing->min_fragment;
  bool tls12_control = !tls13 && (h.type == 21 || h.type == 22);
  refuse_if(short_record && tls12_control, Alert::unexpected_message);
  refuse_if(short_record && !tls12_control, Alert::bad_record_mac);
  refuse_if(is_empty_record(h, p) && empty_before >= empty_records_allowed_in_a_row, Alert::unexpected_message);  // R15
  refuse_if(!tls13 && h.type == 21 && p.sealing && h.length != 2 + p.sealing->overhead, Alert::decode_error);  // R33
  return out;
}

// During the handshake a complete unprotected alert (2 bytes, header passed)
// is decided by the gate: a warning is dropped, a fatal alert or any
// close_notify is PeerAlert (never a clean end: nothing is authenticated),
// another level is illegal_parameter.
struct AlertJudgement {
  enum class Kind { drop, peer_alert, protocol_error } kind = Kind::drop;
  Alert alert = Alert::close_notify;
};
inline bool is_unprotected_alert(const record::Header& h, const Policy& p) {
  return p.phase == Policy::Phase::handshake && h.type == 21 && h.length == 2;
}
inline AlertJudgement judge_unprotected_alert(std::uint8_t level, std::uint8_t code) {
  if (code == 0 || level == 2) return {AlertJudgement::Kind::peer_alert, static_cast<Alert>(code)};
  if (level == 1) return {AlertJudgement::Kind::drop, {}};
  return {AlertJudgement::Kind::protocol_error, Alert::illegal_parameter};
}

}  // namespace lastbyte::fuzz::model
