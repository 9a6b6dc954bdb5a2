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

std::string_view to_string(Framing framing) {
  switch (framing) {
    case Framing::none: return "no body";
    case Framing::length: return "Content-Length";
    case Framing::chunked: return "chunked";
    case Framing::close: return "close-delimited";
  }
  return "?";
}

namespace {

constexpr std::size_t max_header_section = 64 * 1024;

bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The comma-separated, lowercased elements of a list header (RFC 9110 §5.6.1).
std::vector<std::string> list_elements(std::string_view value) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= value.size();) {
    auto comma = std::min(value.find(',', start), value.size());
    auto element = trim(value.substr(start, comma - start));
    if (!element.empty()) out.push_back(lowercase(element));
    start = comma + 1;
  }
  return out;
}

// 1*DIGIT, without overflow.
std::optional<std::uint64_t> decimal(std::string_view s) {
  std::uint64_t value = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

std::size_t ResponseParser::fail(std::string why) {
  state_ = State::failed;
  error_ = std::move(why);
  return 0;
}

std::optional<std::string_view> ResponseParser::take_line(std::string_view in, std::size_t& used) {
  auto lf = in.find('\n');
  std::size_t limit = max_header_section - std::min(header_bytes_, max_header_section);
  if (lf == std::string_view::npos) {
    if (line_.size() + in.size() > limit) return fail("a header section longer than 64 KiB"), std::nullopt;
    line_.append(in);
    used = in.size();
    return std::nullopt;
  }
  if (line_.size() + lf > limit) return fail("a header section longer than 64 KiB"), std::nullopt;
  line_.append(in.substr(0, lf));
  used = lf + 1;
  header_bytes_ += line_.size() + 1;
  // RFC 9112 §2.2: a bare LF may end a line; a CR anywhere else may not.
  if (line_.ends_with('\r')) line_.pop_back();
  if (line_.find('\r') != std::string::npos) return fail("a bare CR inside a line"), std::nullopt;
  return std::string_view(line_);
}

bool ResponseParser::on_status_line(std::string_view line) {
  // HTTP-version SP 3DIGIT SP [reason]
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
      (line.size() > 12 && line[12] != ' '))
    return fail("not an HTTP/1.0 or HTTP/1.1 status line: \"" + std::string(line.substr(0, 64)) + "\""), false;
  auto code = decimal(line.substr(9, 3));
  if (!code || *code < 100 || *code > 599) return fail("status code \"" + std::string(line.substr(9, 3)) + "\""), false;
  status_ = static_cast<int>(*code);
  http11_ = line[7] == '1';
  return true;
}

bool ResponseParser::on_header(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') return fail("an obsolete folded header line (RFC 9112 §5.2)"), false;
  auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return fail("a header line without a name"), false;
  auto name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); }))
    return fail("header name \"" + std::string(name.substr(0, 64)) + "\" (no spaces before the colon, RFC 9112 §5.1)"),
           false;
  auto value = trim(line.substr(colon + 1));
  if (value.find('\0') != std::string_view::npos) return fail("a NUL byte in a header value (RFC 9110 §5.5)"), false;
  std::string key = lowercase(name);
  if (state_ == State::trailers) {
    trailers_.emplace_back(std::string(name), std::string(value));
    return true;
  }
  if (key == "content-length") {
    // A list of identical values is one value (RFC 9110 §8.6); differing ones are refused.
    auto elements = list_elements(value);
    // Every element of the list must be a length: "5," or an empty value is malformed.
    if (elements.empty() || std::count(value.begin(), value.end(), ',') + 1 != static_cast<long>(elements.size()))
      return fail("Content-Length \"" + std::string(value.substr(0, 64)) + "\""), false;
    for (const auto& element : elements) {
      auto length = decimal(element);
      if (!length) return fail("Content-Length \"" + std::string(value.substr(0, 64)) + "\""), false;
      if (content_length_ && *content_length_ != *length) return fail("conflicting Content-Lengths"), false;
      content_length_ = length;
    }
    if (!content_length_) return fail("an empty Content-Length"), false;
  } else if (key == "transfer-encoding") {
    auto codings = list_elements(value);
    if (codings.empty()) return fail("an empty Transfer-Encoding"), false;
    for (const auto& coding : codings) {
      if (chunked_) return fail("a transfer coding after chunked (RFC 9112 §6.1)"), false;
      if (coding != "chunked")
        return fail("transfer coding \"" + coding.substr(0, 32) + "\": this client decodes chunked only"), false;
      chunked_ = true;
    }
  } else if (key == "connection") {
    for (const auto& option : list_elements(value)) {
      connection_close_ = connection_close_ || option == "close";
      connection_keep_alive_ = connection_keep_alive_ || option == "keep-alive";
    }
  }
  return true;
}

bool ResponseParser::on_headers_end() {
  framing_known_ = true;
  if (status_ == 101) return fail("101 Switching Protocols: no upgrade was asked for"), false;
  if (status_ < 200) {  // an interim response: the real one follows
    int interim = interim_ + 1;
    if (interim > 16) return fail("more than 16 interim (1xx) responses"), false;
    *this = ResponseParser(head_);
    interim_ = interim;
    started_ = true;
    return true;
  }
  keep_alive_ = http11_ ? !connection_close_ : connection_keep_alive_ && !connection_close_;
  bool no_body = head_ || status_ == 204 || status_ == 304;
  if (no_body) {
    framing_ = Framing::none;
    state_ = State::done;
  } else if (chunked_) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length.
    framing_ = Framing::chunked;
    if (content_length_) keep_alive_ = false;  // §6.1: such a message may be smuggling
    state_ = State::chunk_size;
  } else if (content_length_) {
    framing_ = Framing::length;
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::done : State::body;
  } else {
    framing_ = Framing::close;
    state_ = State::body;
  }
  return true;
}

std::size_t ResponseParser::feed(std::string_view in) {
  std::size_t taken = 0;
  started_ = started_ || !in.empty();
  while (taken < in.size() && state_ != State::done && state_ != State::failed) {
    std::string_view rest = in.substr(taken);
    switch (state_) {
      case State::status_line:
      case State::headers:
      case State::chunk_size:
      case State::chunk_data_end:
      case State::trailers: {
        std::size_t used = 0;
        auto line = take_line(rest, used);
        taken += used;
        if (!line) break;
        std::string copy = std::exchange(line_, {});
        std::string_view text = copy;
        if (state_ == State::status_line) {
          if (on_status_line(text)) state_ = State::headers;
        } else if (state_ == State::headers || state_ == State::trailers) {
          if (!text.empty()) on_header(text);
          else if (state_ == State::trailers) state_ = State::done;
          else on_headers_end();
        } else if (state_ == State::chunk_data_end) {
          if (!text.empty()) return taken + fail("chunk data longer than its size");
          state_ = State::chunk_size;
        } else {  // chunk-size [; chunk-ext]
          // chunk-size = 1*HEXDIG, then BWS before a ";" extension only.
          auto semicolon = text.find(';');
          auto size_text = text.substr(0, semicolon);
          if (semicolon != std::string_view::npos)
            while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t')) size_text.remove_suffix(1);
          std::uint64_t size = 0;
          auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
          if (size_text.empty() || ec != std::errc{} || end != size_text.data() + size_text.size())
            return taken + fail("chunk size \"" + std::string(text.substr(0, 32)) + "\"");
          remaining_ = size;
          header_bytes_ = 0;  // each chunk line and the trailer section are bounded on their own
          state_ = size == 0 ? State::trailers : State::chunk_data;
        }
        break;
      }
      case State::body:
      case State::chunk_data: {
        std::size_t n = rest.size();
        if (framing_ != Framing::close) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, remaining_));
        body_.append(rest.substr(0, n));
        body_size_ += n;
        taken += n;
        if (framing_ == Framing::close) break;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::chunk_data ? State::chunk_data_end : State::done;
        break;
      }
      case State::done:
      case State::failed: break;
    }
  }
  return taken;
}

void ResponseParser::end_of_stream(bool authenticated_end) {
  if (state_ == State::done || state_ == State::failed) return;
  if (state_ == State::body && framing_ == Framing::close) {
    if (authenticated_end) state_ = State::done;
    else fail("the stream ended without close_notify: a close-delimited body may be truncated");
    return;
  }
  if (state_ == State::status_line && line_.empty() && header_bytes_ == 0)
    return void(fail("the stream ended before a response"));
  fail(std::string("the stream ended inside the response (") +
       (state_ <= State::headers ? "its headers" : "its body, " + std::to_string(body_size_) + " bytes read") + ")");
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
