// Just enough HTTP/1.1 for the tools: one request, one Content-Length response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lastbyte::tools {

struct Response {
  int status = 0;
  std::optional<std::size_t> content_length;
  std::string body;
  bool headers_complete = false;

  // Complete: headers seen and exactly Content-Length body bytes.
  bool complete() const { return headers_complete && content_length && body.size() == *content_length; }
};

Response parse_response(std::string_view raw);

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
