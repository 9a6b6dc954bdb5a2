#include <lastbyte/policy.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

namespace lastbyte::policy {

ServerName classify_server_name(std::string_view name) {
  ServerName result{.text = std::string(name)};
  if (name.empty()) return result;
  if (::inet_pton(AF_INET, result.text.c_str(), result.address.data()) == 1)
    result.kind = ServerName::Kind::ipv4;
  else if (::inet_pton(AF_INET6, result.text.c_str(), result.address.data()) == 1)
    result.kind = ServerName::Kind::ipv6;
  else
    result.kind = ServerName::Kind::dns;
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

// A trailing dot names the same host (RFC 1034 §3.1).
std::string_view without_root(std::string_view name) {
  return name.ends_with('.') ? name.substr(0, name.size() - 1) : name;
}

bool dns_name_matches(std::string_view pattern, std::string_view host) {
  pattern = without_root(pattern);
  host = without_root(host);
  if (pattern.empty() || host.empty()) return false;
  if (pattern.starts_with("*.")) {
    // One whole label, and never the last two (no "*.com").
    std::string_view suffix = pattern.substr(1);
    if (suffix.find('.', 1) == std::string_view::npos) return false;
    auto dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && iequals(suffix, host.substr(dot));
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

void SessionCache::remember(std::span<const std::byte> blob, Session session) {
  if (!session || capacity_ == 0) return;
  SessionBlob copy(blob.begin(), blob.end());
  std::lock_guard lock(mutex_);
  if (entries_.size() == capacity_) entries_.erase(entries_.begin());
  entries_.push_back({std::move(copy), std::move(session)});
}

SessionCache::Session SessionCache::find(std::span<const std::byte> blob) const {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
    if (std::ranges::equal(it->blob, blob)) return it->session;
  return nullptr;
}

}  // namespace lastbyte::policy
