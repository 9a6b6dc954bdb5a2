// (e) The tools' HTTP/1.1 response parser (tools/http.hpp), fuzzed like the
// record gate: any bytes, cut anywhere, must give the same result as fed
// whole, never a body longer than the input, and a length-framed body that
// is complete has exactly its Content-Length. Input: byte 0 = flags (HEAD
// request, a clean end of stream, the cut points' seed), the rest = the
// response bytes.
#include "http.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

using lastbyte::tools::Framing;
using lastbyte::tools::ResponseParser;

struct Outcome {
  ResponseParser parser;
  std::size_t consumed = 0;
};

Outcome run(std::string_view raw, bool head, bool clean_end, unsigned seed) {
  Outcome o{ResponseParser(head)};
  std::size_t at = 0;
  while (at < raw.size()) {
    std::size_t piece = seed == 0 ? raw.size() : 1 + (seed = seed * 1103515245u + 12345u) % 97;
    auto part = raw.substr(at, piece);
    std::size_t used = o.parser.feed(part);
    if (used > part.size()) std::abort();
    o.consumed += used;
    at += part.size();
    if (used < part.size()) break;
  }
  if (!o.parser.complete()) o.parser.end_of_stream(clean_end);
  return o;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  bool head = data[0] & 1, clean_end = data[0] & 2;
  unsigned seed = data[0] >> 2;
  std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);
  Outcome whole = run(raw, head, clean_end, 0);
  Outcome cut = run(raw, head, clean_end, seed | 1);
  check(whole.parser.complete() == cut.parser.complete());
  check(whole.parser.failed() == cut.parser.failed());
  check(whole.parser.body() == cut.parser.body());
  check(whole.parser.status() == cut.parser.status());
  check(whole.parser.framing() == cut.parser.framing());
  check(whole.parser.keep_alive() == cut.parser.keep_alive());
  // Where a failure is found depends on the cut (a header section's limit
  // is crossed inside a line or at its end); after it nothing is read.
  if (!whole.parser.failed()) {
    check(whole.consumed == cut.consumed);
    check(whole.parser.headers_complete() == cut.parser.headers_complete());
    check(whole.parser.trailers() == cut.parser.trailers());
  }
  check(whole.parser.complete() != whole.parser.failed());  // after the end of the stream, one or the other
  check(whole.parser.body().size() <= raw.size());
  if (whole.parser.complete() && whole.parser.framing() == Framing::length)
    check(whole.parser.body().size() == *whole.parser.content_length());
  if (whole.parser.complete() && whole.parser.framing() == Framing::close) check(clean_end);
  return 0;
}
