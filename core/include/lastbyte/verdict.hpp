// The end of a TLS stream is a type, not a convention (contract C4).
//
// Exactly one Verdict ends every Connection. It is reported by read() only
// after every authenticated byte received before the transport end has been
// delivered (C1, C3), and the same wire bytes give the same Verdict on every
// backend.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace lastbyte {

// TLS alert descriptions (RFC 8446 §6, RFC 5246 §7.2). Backends map their
// native errors onto these; compare *classes* of alerts, not library codes.
enum class Alert : std::uint8_t {
  close_notify = 0,
  unexpected_message = 10,
  bad_record_mac = 20,
  record_overflow = 22,
  handshake_failure = 40,
  bad_certificate = 42,
  unsupported_certificate = 43,
  certificate_revoked = 44,
  certificate_expired = 45,
  certificate_unknown = 46,
  illegal_parameter = 47,
  unknown_ca = 48,
  access_denied = 49,
  decode_error = 50,
  decrypt_error = 51,
  protocol_version = 70,
  insufficient_security = 71,
  internal_error = 80,
  inappropriate_fallback = 86,
  user_canceled = 90,
  no_renegotiation = 100,
  missing_extension = 109,
  unsupported_extension = 110,
  unrecognized_name = 112,
  unknown_psk_identity = 115,
  certificate_required = 116,
  no_application_protocol = 120,
};

std::string_view to_string(Alert alert);

// Why a handshake was refused, as one class shared by all backends.
enum class RejectReason {
  expired,            // certificate outside its validity period (either side)
  hostname,           // certificate does not name the requested server
  untrusted,          // no chain to a trust anchor (self-signed, unknown CA)
  usage,              // key usage / extended key usage forbids this role
  bad_certificate,    // unparsable, bad signature, unsupported algorithm
  protocol_version,   // no TLS version in common (TLS 1.2/1.3 only)
  no_shared_cipher,   // no cipher suite, group or signature algorithm in common
  no_application_protocol,  // ALPN lists do not overlap
  certificate_required,     // server demanded a client certificate
  protocol,           // malformed or unexpected handshake message
};

std::string_view to_string(RejectReason reason);

// The reason class of a handshake that failed with `alert` (sent or
// received), for adapters whose library reports no finer reason.
RejectReason reject_reason_for_alert(Alert alert);

// ---- the verdicts ----------------------------------------------------------

// The peer closed cleanly. Bytes that arrived after its close_notify were
// ignored and are counted here (the count grows if more arrive).
struct CloseNotify {
  std::uint64_t ignored_bytes = 0;
};

// The transport ended (EOF) without close_notify. `leftover_bytes` is the size
// of the incomplete record that was never delivered. `accepted` is true only
// when Config::accept_truncation opted in; the verdict still says truncated.
struct Truncated {
  std::uint64_t leftover_bytes = 0;
  bool during_handshake = false;
  bool accepted = false;
};

// The transport was reset. Complete records received before the reset were
// delivered first (C8); `leftover_bytes` of an incomplete record were dropped.
struct Reset {
  std::uint64_t leftover_bytes = 0;
  bool during_handshake = false;
  // Connection::feed_transport_error(): the caller knew only that the
  // transport failed, an EOF or a reset. Unclean either way.
  bool eof_or_reset = false;
};

// The peer sent a fatal alert.
struct PeerAlert {
  Alert alert;
};

// The peer broke the protocol; `alert` is the class lastbyte reports (and,
// where the library sends one, the alert sent back).
struct ProtocolError {
  Alert alert;
  std::string detail;
};

// The handshake was refused locally (certificate or negotiation failure).
struct HandshakeRejected {
  RejectReason reason;
  std::string detail;
};

// Something failed on our side (the TLS library, allocation, a callback).
struct LocalError {
  std::string detail;
};

using Verdict = std::variant<CloseNotify, Truncated, Reset, PeerAlert, ProtocolError,
                             HandshakeRejected, LocalError>;

// True for a clean close, or a truncation the configuration opted to accept.
bool is_acceptable_end(const Verdict& verdict);

// One line, stable enough for logs and tests: "close_notify", "truncated
// (3 leftover bytes)", "protocol_error(bad_record_mac)", ...
std::string describe(const Verdict& verdict);

// The verdict's kind as a short word: close_notify, truncated, reset,
// peer_alert, protocol_error, handshake_rejected, local_error.
std::string_view kind_name(const Verdict& verdict);

}  // namespace lastbyte
