// The tools' HTTP/1.1 response parser (tools/http.hpp): every framing, the
// strictness rules, and that any split of the bytes gives the same result
// (tests/fuzz/http_response_fuzz.cpp checks the same on random inputs).
#include "http.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lastbyte::tools {
namespace {

struct Parsed {
  ResponseParser parser;
  std::size_t consumed = 0;
};

// Feeds `raw` in pieces of `piece` bytes (0: all at once), then the end of
// the stream unless `more` (the connection stays open).
Parsed parse(std::string_view raw, std::size_t piece = 0, bool head = false, bool clean_end = true,
             bool more = false) {
  Parsed p{ResponseParser(head)};
  if (piece == 0) piece = raw.size() + 1;
  for (std::size_t at = 0; at < raw.size(); at += piece) {
    auto part = raw.substr(at, piece);
    std::size_t used = p.parser.feed(part);
    p.consumed += used;
    if (used < part.size()) break;
  }
  if (!more && !p.parser.complete()) p.parser.end_of_stream(clean_end);
  return p;
}

TEST(HttpParser, ContentLengthBody) {
  auto p = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 0, false, true, true);
  ASSERT_TRUE(p.parser.complete()) << p.parser.error();
  EXPECT_EQ(p.parser.body(), "hello");
  EXPECT_EQ(p.parser.framing(), Framing::length);
  EXPECT_TRUE(p.parser.keep_alive());
  EXPECT_EQ(p.consumed, std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").size())
      << "the bytes after the body belong to the next response";
}

TEST(HttpParser, ChunkedBodyIsDecodedWithItsTrailers) {
  std::string raw =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "0\r\nX-Sum: 31\r\n\r\n";
  for (std::size_t piece : {0u, 1u, 2u, 7u}) {
    auto p = parse(raw, piece, false, true, true);
    ASSERT_TRUE(p.parser.complete()) << piece << ": " << p.parser.error();
    EXPECT_EQ(p.parser.body(), "helloabcdefghijklmnopqrstuvwxyz");
    ASSERT_EQ(p.parser.trailers().size(), 1u);
    EXPECT_EQ(p.parser.trailers()[0].first, "X-Sum");
    EXPECT_EQ(p.consumed, raw.size());
  }
}

TEST(HttpParser, CloseDelimitedBodyIsCompleteOnlyWithCloseNotify) {
  std::string raw = "HTTP/1.0 200 ok\r\nContent-type: text/plain\r\n\r\nall of it";
  auto clean = parse(raw, 0, false, true);
  ASSERT_TRUE(clean.parser.complete()) << clean.parser.error();
  EXPECT_EQ(clean.parser.body(), "all of it");
  EXPECT_FALSE(clean.parser.keep_alive());
  auto cut = parse(raw, 0, false, false);
  EXPECT_FALSE(cut.parser.complete());
  EXPECT_TRUE(cut.parser.failed());
  EXPECT_EQ(cut.parser.body(), "all of it");
}

TEST(HttpParser, ResponsesWithoutABody) {
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 0, /*head=*/true).parser.complete());
  EXPECT_TRUE(parse("HTTP/1.1 204 No Content\r\n\r\n").parser.complete());
  EXPECT_TRUE(parse("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").parser.complete());
  auto interim = parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(interim.parser.complete()) << interim.parser.error();
  EXPECT_EQ(interim.parser.status(), 200);
  EXPECT_EQ(interim.parser.body(), "ok");
}

TEST(HttpParser, KeepAliveFollowsTheVersionAndConnectionHeader) {
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").parser.keep_alive());
  EXPECT_FALSE(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").parser.keep_alive());
  EXPECT_TRUE(parse("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n").parser.keep_alive());
  // Transfer-Encoding with Content-Length may be request smuggling: not reused.
  EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                   .parser.keep_alive());
}

TEST(HttpParser, MalformedResponsesAreRefusedNotGuessedAround) {
  const char* bad[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      // Found by review: each of these was read, not refused.
      "HTTP/1.1 101 Switching Protocols\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: ,\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\nhello",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\nhi\r\n0\r\n\r\n",
  };
  for (const char* raw : bad) {
    auto p = parse(raw, 0, false, true, true);
    EXPECT_TRUE(p.parser.failed()) << raw;
    EXPECT_FALSE(p.parser.error().empty()) << raw;
  }
  std::string nul = std::string("HTTP/1.1 200 OK\r\nX: a") + '\0' + "b\r\nContent-Length: 0\r\n\r\n";
  EXPECT_TRUE(parse(nul, 0, false, true, true).parser.failed()) << "a NUL in a header value";
  std::string interim;
  for (int i = 0; i < 17; ++i) interim += "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_TRUE(parse(interim + "HTTP/1.1 204 No Content\r\n\r\n").parser.failed()) << "interim responses are bounded";
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 ;x\r\nhi\r\n0\r\n\r\n").parser.complete())
      << "whitespace before a chunk extension is allowed (BWS)";
  std::string huge = "HTTP/1.1 200 OK\r\nX: " + std::string(70000, 'a') + "\r\n\r\n";
  EXPECT_TRUE(parse(huge, 1000, false, true, true).parser.failed()) << "header sections are bounded";
}

TEST(HttpParser, HeadersCompleteOnlyWhenTheyWere) {
  auto garbage = parse("garbage\r\n");
  EXPECT_TRUE(garbage.parser.failed());
  EXPECT_FALSE(garbage.parser.headers_complete());
  auto cut = parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  EXPECT_TRUE(cut.parser.failed());
  EXPECT_TRUE(cut.parser.headers_complete());
}

TEST(HttpParser, TruncatedResponsesAreNeverComplete) {
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf").parser.failed());
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nhalf\r\n").parser.failed());
  EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Le").parser.failed());
  EXPECT_TRUE(parse("").parser.failed());
}

}  // namespace
}  // namespace lastbyte::tools
