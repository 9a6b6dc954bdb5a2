#include <lastbyte/engine/policy.hpp>

#include <lastbyte/engine/engine.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

namespace lastbyte::policy {

namespace {

bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (std::size_t start = 0; start <= name.size();) {
    auto dot = std::min(name.find('.', start), name.size());
    auto label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 ||
        !std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; }))
      return false;
    start = dot + 1;
  }
  return true;
}

}  // namespace

ServerName classify_server_name(std::string_view name) {
  ServerName result{.text = std::string(name)};
  if (name.empty()) return result;
  if (::inet_pton(AF_INET, result.text.c_str(), result.address.data()) == 1) {
    result.kind = ServerName::Kind::ipv4;
  } else if (::inet_pton(AF_INET6, result.text.c_str(), result.address.data()) == 1) {
    result.kind = ServerName::Kind::ipv6;
  } else {
    if (result.text.ends_with('.')) result.text.pop_back();  // the root
    result.kind = is_host_name(result.text) ? ServerName::Kind::dns : ServerName::Kind::invalid;
  }
  return result;
}

Verify verify_mode(const Config& config) {
  if (config.role == Role::client) return config.dangerously_disable_certificate_verification ? Verify::none : Verify::required;
  switch (config.client_auth) {
    case ClientAuth::none: return Verify::none;
    case ClientAuth::optional: return Verify::optional;
    case ClientAuth::required: return Verify::required;
  }
  return Verify::required;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_ldh(std::string_view label) {
  return std::all_of(label.begin(), label.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

// `host` is a classified DNS name (no trailing dot, no empty label).
bool dns_name_matches(std::string_view pattern, std::string_view host) {
  if (pattern.empty() || host.empty()) return false;
  if (pattern.starts_with("*.")) {
    // One whole label of letters, digits and hyphens, and never directly
    // under a top-level domain (no "*.com").
    std::string_view suffix = pattern.substr(1);
    if (suffix.find('.', 1) == std::string_view::npos) return false;
    auto dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && is_ldh(host.substr(0, dot)) && iequals(suffix, host.substr(dot));
  }
  return pattern.find('*') == std::string_view::npos && iequals(pattern, host);
}

}  // namespace

bool names_match(const ServerName& name, const SubjectAltNames& names) {
  if (name.is_ip())
    return std::any_of(names.ip.begin(), names.ip.end(),
                       [&](const auto& ip) { return std::ranges::equal(ip, name.ip_bytes()); });
  if (name.kind != ServerName::Kind::dns) return false;
  return std::any_of(names.dns.begin(), names.dns.end(),
                     [&](const std::string& pattern) { return dns_name_matches(pattern, name.text); });
}

std::optional<RejectReason> reason_for(CertificateFaults faults) {
  static constexpr std::pair<CertificateFault, RejectReason> order[] = {
      {CertificateFault::missing, RejectReason::certificate_required},
      {CertificateFault::untrusted, RejectReason::untrusted},
      {CertificateFault::usage, RejectReason::usage},
      {CertificateFault::hostname, RejectReason::hostname},
      {CertificateFault::expired, RejectReason::expired},
      {CertificateFault::bad_certificate, RejectReason::bad_certificate},
  };
  for (auto [fault, reason] : order)
    if (faults & static_cast<unsigned>(fault)) return reason;
  return std::nullopt;
}

std::vector<unsigned char> alpn_wire(std::span<const std::string> protocols) {
  std::vector<unsigned char> wire;
  for (const auto& protocol : protocols) {
    wire.push_back(static_cast<unsigned char>(protocol.size()));  // 1..255, checked by Context::create
    wire.insert(wire.end(), protocol.begin(), protocol.end());
  }
  return wire;
}

std::optional<std::span<const unsigned char>> select_alpn(std::span<const std::string> ours,
                                                          std::span<const unsigned char> offered) {
  for (const auto& protocol : ours)
    for (std::size_t i = 0; i < offered.size() && i + 1 + offered[i] <= offered.size(); i += 1u + offered[i]) {
      auto name = offered.subspan(i + 1, offered[i]);
      if (std::ranges::equal(name, protocol, [](unsigned char a, char b) { return a == static_cast<unsigned char>(b); }))
        return name;
    }
  return std::nullopt;
}

void SessionCache::remember(std::span<const std::byte> blob, Session session) noexcept try {
  if (!session || capacity_ == 0) return;
  SessionBlob copy(blob.begin(), blob.end());
  std::lock_guard lock(mutex_);
  if (entries_.size() == capacity_) entries_.erase(entries_.begin());
  entries_.push_back({std::move(copy), std::move(session)});
} catch (const std::bad_alloc&) {
  // A cache only: a session it cannot keep is parsed from its blob when it
  // is resumed, and the application still gets the blob.
}

SessionCache::Session SessionCache::find(std::span<const std::byte> blob) const {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (std::ranges::equal(it->blob, blob)) return it->session;
  return nullptr;
}

Verdict verdict_for_failure(const EngineFailure& failure, bool during_handshake) {
  // The order is stated (and why) beside the declaration, in engine.hpp.
  if (failure.callback_failed) return LocalError{.detail = failure.callback_failed};
  if (failure.out_of_memory) return out_of_memory_error(failure.detail);
  if (failure.alert_received) return PeerAlert{.alert = *failure.alert_received};
  if (failure.library_internal || failure.alert_sent == Alert::internal_error)
    return LocalError{.detail = failure.detail.empty() ? "the TLS library failed on its own" : failure.detail};
  if (during_handshake) {
    if (auto reason = reason_for(failure.certificate_faults)) {
      std::string detail = failure.detail;
      if (!failure.certificate_detail.empty())
        detail += (detail.empty() ? "certificate: " : "; certificate: ") + failure.certificate_detail;
      return HandshakeRejected{.reason = *reason, .detail = std::move(detail)};
    }
    RejectReason reason = failure.handshake_reason   ? *failure.handshake_reason
                          : failure.alert_sent ? reject_reason_for_alert(*failure.alert_sent)
                                               : RejectReason::protocol;
    return HandshakeRejected{.reason = reason, .detail = failure.detail};
  }
  if (auto alert = failure.protocol_alert ? failure.protocol_alert : failure.alert_sent)
    return ProtocolError{.alert = *alert, .detail = failure.detail};
  return LocalError{.detail = failure.detail.empty() ? "the TLS library failed without a reason" : failure.detail};
}

}  // namespace lastbyte::policy
