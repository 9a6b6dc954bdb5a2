// The HTTP/1.1 the tools speak: requests, a strict incremental response
// parser (RFC 9112 framing: Content-Length, chunked, close-delimited, no
// body), targets and sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lastbyte::tools {

// How a response's body ends (RFC 9112 §6.3).
enum class Framing {
  none,     // HEAD, 1xx, 204, 304: no body
  length,   // Content-Length
  chunked,  // Transfer-Encoding: chunked (decoded; trailers read)
  close,    // until the end of the stream: complete only with close_notify
};
std::string_view to_string(Framing framing);

// One response, fed as it arrives. Strict: a malformed status line, header,
// length or chunk is an error (never guessed around), header sections are
// bounded (64 KiB), conflicting Content-Lengths are refused. Interim 1xx
// responses are skipped.
class ResponseParser {
 public:
  // `head`: the request was HEAD (the response has no body, whatever it says).
  explicit ResponseParser(bool head = false) : head_(head) {}

  // Consumes bytes of the response and returns how many it took: fewer than
  // given once the response is complete (the rest belongs to the next
  // response on the connection) or once it failed.
  std::size_t feed(std::string_view bytes);
  // The stream ended after every byte was fed. A close-delimited body is
  // complete only if `authenticated_end` (the peer's close_notify).
  void end_of_stream(bool authenticated_end);

  bool complete() const { return state_ == State::done; }
  bool failed() const { return state_ == State::failed; }
  const std::string& error() const { return error_; }
  bool headers_complete() const {
    return state_ == State::failed ? framing_known_ : state_ > State::headers;
  }

  int status() const { return status_; }
  Framing framing() const { return framing_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }
  const std::string& body() const { return body_; }  // decoded
  std::size_t body_size() const { return body_size_; }  // decoded bytes, also after discard_body()
  void discard_body() { std::string().swap(body_); }   // for callers that count, not keep
  bool started() const { return started_; }           // any byte of it arrived
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }
  // The connection may carry another request once this response is
  // complete: HTTP/1.1 without "Connection: close" (HTTP/1.0 with
  // "Connection: keep-alive"), and a body not ended by the close.
  bool keep_alive() const { return keep_alive_ && framing_ != Framing::close; }

 private:
  enum class State { status_line, headers, body, chunk_size, chunk_data, chunk_data_end, trailers, done, failed };

  std::size_t fail(std::string why);
  // A whole line (CRLF or LF ended) at the front of `in`, without its end.
  std::optional<std::string_view> take_line(std::string_view in, std::size_t& used);
  bool on_status_line(std::string_view line);
  bool on_header(std::string_view line);
  bool on_headers_end();

  bool head_;
  State state_ = State::status_line;
  std::string error_;
  std::string line_;  // a line split across feeds
  std::size_t header_bytes_ = 0;
  int status_ = 0;
  int interim_ = 0;  // 1xx responses skipped
  bool http11_ = false, keep_alive_ = false, framing_known_ = false;
  bool connection_close_ = false, connection_keep_alive_ = false, chunked_ = false;
  Framing framing_ = Framing::none;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t remaining_ = 0;  // of the body or of the current chunk
  std::string body_;
  std::size_t body_size_ = 0;
  bool started_ = false;
  std::vector<std::pair<std::string, std::string>> trailers_;
};

// Offset just past "\r\n\r\n", or nullopt.
std::optional<std::size_t> header_end(std::string_view raw);
// The Content-Length header's value, if present and numeric.
std::optional<std::size_t> content_length(std::string_view headers);

// host:port[/path] or https://host[:port]/path (IPv6 in brackets).
struct Target {
  std::string host;
  std::uint16_t port = 443;
  std::string path = "/";
};
std::optional<Target> parse_target(std::string_view text);

// Parses a decimal count/size with an optional K/M suffix (KiB, MiB).
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace lastbyte::tools
