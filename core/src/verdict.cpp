#include <lastbyte/config.hpp>
#include <lastbyte/verdict.hpp>

#include <string>

namespace lastbyte {

std::string_view to_string(Alert alert) {
  switch (alert) {
    case Alert::close_notify: return "close_notify";
    case Alert::unexpected_message: return "unexpected_message";
    case Alert::bad_record_mac: return "bad_record_mac";
    case Alert::record_overflow: return "record_overflow";
    case Alert::handshake_failure: return "handshake_failure";
    case Alert::bad_certificate: return "bad_certificate";
    case Alert::unsupported_certificate: return "unsupported_certificate";
    case Alert::certificate_revoked: return "certificate_revoked";
    case Alert::certificate_expired: return "certificate_expired";
    case Alert::certificate_unknown: return "certificate_unknown";
    case Alert::illegal_parameter: return "illegal_parameter";
    case Alert::unknown_ca: return "unknown_ca";
    case Alert::access_denied: return "access_denied";
    case Alert::decode_error: return "decode_error";
    case Alert::decrypt_error: return "decrypt_error";
    case Alert::protocol_version: return "protocol_version";
    case Alert::insufficient_security: return "insufficient_security";
    case Alert::internal_error: return "internal_error";
    case Alert::inappropriate_fallback: return "inappropriate_fallback";
    case Alert::user_canceled: return "user_canceled";
    case Alert::no_renegotiation: return "no_renegotiation";
    case Alert::missing_extension: return "missing_extension";
    case Alert::unsupported_extension: return "unsupported_extension";
    case Alert::unrecognized_name: return "unrecognized_name";
    case Alert::unknown_psk_identity: return "unknown_psk_identity";
    case Alert::certificate_required: return "certificate_required";
    case Alert::no_application_protocol: return "no_application_protocol";
  }
  return "unknown_alert";
}

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::expired: return "expired";
    case RejectReason::hostname: return "hostname";
    case RejectReason::untrusted: return "untrusted";
    case RejectReason::usage: return "usage";
    case RejectReason::bad_certificate: return "bad_certificate";
    case RejectReason::protocol_version: return "protocol_version";
    case RejectReason::no_shared_cipher: return "no_shared_cipher";
    case RejectReason::no_application_protocol: return "no_application_protocol";
    case RejectReason::certificate_required: return "certificate_required";
    case RejectReason::protocol: return "protocol";
  }
  return "unknown";
}

RejectReason reject_reason_for_alert(Alert alert) {
  switch (alert) {
    case Alert::protocol_version: return RejectReason::protocol_version;
    case Alert::handshake_failure:
    case Alert::insufficient_security: return RejectReason::no_shared_cipher;
    case Alert::no_application_protocol: return RejectReason::no_application_protocol;
    case Alert::certificate_required: return RejectReason::certificate_required;
    case Alert::bad_certificate:
    case Alert::unsupported_certificate: return RejectReason::bad_certificate;
    case Alert::certificate_expired: return RejectReason::expired;
    case Alert::unknown_ca: return RejectReason::untrusted;
    default: return RejectReason::protocol;
  }
}

std::string_view to_string(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? "TLSv1.3" : "TLSv1.2";
}

bool is_acceptable_end(const Verdict& verdict) {
  if (std::holds_alternative<CloseNotify>(verdict)) return true;
  auto* truncated = std::get_if<Truncated>(&verdict);
  return truncated && truncated->accepted;
}

std::string_view kind_name(const Verdict& verdict) {
  static constexpr std::string_view names[] = {"close_notify",   "truncated",          "reset",
                                               "peer_alert",     "protocol_error",     "handshake_rejected",
                                               "local_error"};
  return names[verdict.index()];
}

namespace {

std::string with_detail(std::string text, const std::string& detail) {
  return detail.empty() ? text : text + ": " + detail;
}

struct Describe {
  std::string operator()(const CloseNotify& v) const {
    return v.ignored_bytes ? "close_notify (" + std::to_string(v.ignored_bytes) + " trailing bytes ignored)"
                           : "close_notify";
  }
  std::string operator()(const Truncated& v) const {
    std::string s = "truncated (" + std::to_string(v.leftover_bytes) + " leftover bytes";
    if (v.during_handshake) s += ", during handshake";
    if (v.accepted) s += ", accepted by policy";
    return s + ")";
  }
  std::string operator()(const Reset& v) const {
    return std::string(v.eof_or_reset ? "reset or EOF, the transport failed (" : "reset (") +
           std::to_string(v.leftover_bytes) + " leftover bytes" + (v.during_handshake ? ", during handshake)" : ")");
  }
  std::string operator()(const PeerAlert& v) const {
    return "peer_alert(" + std::string(to_string(v.alert)) + ")";
  }
  std::string operator()(const ProtocolError& v) const {
    return with_detail("protocol_error(" + std::string(to_string(v.alert)) + ")", v.detail);
  }
  std::string operator()(const HandshakeRejected& v) const {
    return with_detail("handshake_rejected(" + std::string(to_string(v.reason)) + ")", v.detail);
  }
  std::string operator()(const LocalError& v) const { return with_detail("local_error", v.detail); }
};

}  // namespace

std::string describe(const Verdict& verdict) { return std::visit(Describe{}, verdict); }

}  // namespace lastbyte
