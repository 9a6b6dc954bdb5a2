#include "http.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace lastbyte::tools {

std::optional<std::size_t> header_end(std::string_view raw) {
  auto at = raw.find("\r\n\r\n");
  if (at == std::string_view::npos) return std::nullopt;
  return at + 4;
}

std::optional<std::size_t> content_length(std::string_view headers) {
  std::string lower(headers);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return std::nullopt;
  at += 17;
  while (at < lower.size() && lower[at] == ' ') ++at;
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(lower.data() + at, lower.data() + lower.size(), value);
  if (ec != std::errc{} || end == lower.data() + at) return std::nullopt;
  return value;
}

Response parse_response(std::string_view raw) {
  Response r;
  auto end = header_end(raw);
  if (!end) return r;
  r.headers_complete = true;
  std::string_view headers = raw.substr(0, *end);
  if (headers.starts_with("HTTP/1.") && headers.size() > 12) std::from_chars(headers.data() + 9, headers.data() + 12, r.status);
  r.content_length = content_length(headers);
  r.body = raw.substr(*end);
  return r;
}

std::optional<std::size_t> parse_size(std::string_view text) {
  std::size_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  if (suffix.empty()) return value;
  if (suffix == "K" || suffix == "k" || suffix == "KiB") return value * 1024;
  if (suffix == "M" || suffix == "m" || suffix == "MiB") return value * 1024 * 1024;
  return std::nullopt;
}

std::optional<Target> parse_target(std::string_view text) {
  Target t;
  if (text.starts_with("https://")) text.remove_prefix(8);
  else if (text.find("://") != std::string_view::npos) return std::nullopt;  // only https
  auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    t.path = std::string(text.substr(slash));
    text = text.substr(0, slash);
  }
  std::string_view port;
  if (text.starts_with("[")) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
    }
  } else {
    auto colon = text.rfind(':');
    t.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port = text.substr(colon + 1);
  }
  if (t.host.empty()) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
    t.port = static_cast<std::uint16_t>(value);
  }
  return t;
}

}  // namespace lastbyte::tools
