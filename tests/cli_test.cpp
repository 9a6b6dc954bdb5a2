// lastbyte-server and lastbyte-client over loopback TCP: every --close mode
// ends with the exact verdict and exit status, and a server that closes right
// after its response never costs a byte of the body.
#include <lastbyte/backend.hpp>
#include <lastbyte/socket_driver.hpp>
#include <lastbyte/testing/pki.hpp>

#include <gtest/gtest.h>

#include "tool_processes.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <utility>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using namespace lastbyte_test;

class CloseModes : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto version = GetParam() == "1.3" ? lastbyte::TlsVersion::tls1_3 : lastbyte::TlsVersion::tls1_2;
    if (!lastbyte::default_backend().supports(version))
      GTEST_SKIP() << "unsupported by this library: the tools' backend "
                   << lastbyte::default_backend().library_version() << " has no TLS " << GetParam();
  }
};

const char* const framings[] = {"length", "chunked", "close"};
const std::string warning = "warning: the stream ended without close_notify";

// X01-X03: close_notify ends every framing cleanly; the chunked body comes out de-chunked.
TEST_P(CloseModes, CloseNotifyIsCleanAndComplete) {
  for (std::string framing : framings) {
    SCOPED_TRACE(framing);
    Server server("close_notify", 100000, 1, GetParam(), framing);
    Ran r = client({"--cafile", server.ca(), server.target()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, generated_body(100000));
    EXPECT_NE(r.err.find("body 100000 bytes (complete)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("verdict: close_notify\n"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("TLSv" + GetParam()), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(warning), std::string::npos) << r.err;
  }
}

// X04: a close-delimited body ended by FIN alone may be cut anywhere: a
// failure, although every record sent was delivered. X07: a body its
// framing completes is whole: success with a warning (a failure with
// --require-close-notify).
TEST_P(CloseModes, FinIsTruncatedYetEveryRecordIsDelivered) {
  for (std::string framing : framings) {
    SCOPED_TRACE(framing);
    Server server("fin", 100000, 2, GetParam(), framing);
    Ran r = client({"--cafile", server.ca(), server.target()});
    EXPECT_EQ(r.exit_code, framing == "close" ? 3 : 0) << r.err;
    EXPECT_EQ(r.out, generated_body(100000));
    EXPECT_NE(r.err.find("verdict: truncated (0 leftover bytes)\n"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(warning) != std::string::npos, framing != "close") << r.err;
    Ran strict = client({"--require-close-notify", "--quiet", "--cafile", server.ca(), server.target()});
    EXPECT_EQ(strict.exit_code, 3) << strict.err;
  }
}

// X09: a reset after the whole body: the body, and success only where its
// framing proves it whole.
TEST_P(CloseModes, RstIsResetAfterEveryReceivedRecord) {
  for (std::string framing : framings) {
    SCOPED_TRACE(framing);
    Server server("rst", 100000, 1, GetParam(), framing);
    Ran r = client({"--cafile", server.ca(), server.target()});
    EXPECT_EQ(r.exit_code, framing == "close" ? 4 : 0) << r.err;
    EXPECT_EQ(r.out, generated_body(100000));
    EXPECT_NE(r.err.find("verdict: reset (0 leftover bytes)\n"), std::string::npos) << r.err;
  }
}

TEST_P(CloseModes, MidRecordIsTruncatedAndThePartialRecordIsNeverDelivered) {
  constexpr std::size_t body = 40000;
  Server server("mid-record", body, 1, GetParam());
  Ran r = client({"--cafile", server.ca(), server.target()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  std::size_t headers = std::string("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                                    std::to_string(body) + "\r\nConnection: close\r\n\r\n")
                            .size();
  std::size_t last_plaintext = (headers + body) % 16384;
  EXPECT_EQ(r.out, generated_body(body - last_plaintext)) << "exactly the complete records";
  if (GetParam() == "1.3") {  // every TLS 1.3 AEAD adds 16 bytes of tag and 1 of content type
    std::size_t leftover = (5 + last_plaintext + 17) / 2;
    EXPECT_NE(r.err.find("verdict: truncated (" + std::to_string(leftover) + " leftover bytes)"), std::string::npos)
        << r.err;
  } else {
    EXPECT_NE(r.err.find("verdict: truncated ("), std::string::npos) << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(Tls, CloseModes, ::testing::Values("1.3", "1.2"),
                         [](const auto& p) { return p.param == "1.3" ? "tls13" : "tls12"; });

TEST(Cli, R36_FiveHundredFreshConnectionsServerClosingRightAfterItsResponse) {
  Server server("close_notify", 64 * 1024, 500);
  Ran r = client({"-n", "500", "--cafile", server.ca(), server.target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("requests: 500; connections: 500; complete responses: 500; incomplete: 0; "
                       "verdicts: close_notify=500"),
            std::string::npos)
      << r.err;
}

TEST(Cli, RepeatedFinConnectionsAreCompleteButTruncated) {
  Server server("fin", 64 * 1024, 100);
  Ran r = client({"-n", "100", "--quiet", "--require-close-notify", "--cafile", server.ca(), server.target()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("complete responses: 100; incomplete: 0; verdicts: truncated=100"), std::string::npos) << r.err;
}

// The original bug report sent 20 POSTs in a row on one connection.
TEST(Cli, KeepAliveSendsEveryRequestOnOneConnection) {
  for (std::string framing : {"length", "chunked"}) {
    SCOPED_TRACE(framing);
    Server server("close_notify", 3000, 1, {}, framing);
    Ran r = client({"-n", "20", "--keep-alive", "--data", "ping", "--cafile", server.ca(), server.target()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("requests: 20; connections: 1; complete responses: 20; incomplete: 0; "
                         "verdicts: close_notify=1 kept_alive=19"),
              std::string::npos)
        << r.err;
  }
}

// A server may close a kept-alive connection while it is idle (RFC 9112
// §9.6): the next request goes on a new one, nothing fails (found by review:
// the run failed at the first such close).
TEST(Cli, KeepAliveSurvivesTheServerClosingAnIdleConnection) {
  lastbyte_test::TemporaryDirectory directory("lastbyte-cli-idle");  // outlives the server
  std::string ca = directory.file("ca.pem");
  Child server({server_bin, "--port", "0", "--body-size", "2000", "--idle-close-after", "2", "--max-connections", "3",
                "--write-ca", ca});
  std::string line = server.read_line(std::chrono::seconds(10));
  ASSERT_TRUE(line.starts_with("listening on 127.0.0.1:")) << line;
  std::string port = line.substr(line.rfind(':') + 1);
  Ran r = client({"-n", "5", "--keep-alive", "--cafile", ca, "localhost:" + port});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("requests: 5; connections: 3; complete responses: 5; incomplete: 0"), std::string::npos) << r.err;
}

// A close-delimited body cannot be kept alive: each request gets a connection.
TEST(Cli, KeepAliveOpensANewConnectionWhenTheServerCloses) {
  Server server("close_notify", 3000, 3, {}, "close");
  Ran r = client({"-n", "3", "--keep-alive", "--cafile", server.ca(), server.target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("requests: 3; connections: 3; complete responses: 3"), std::string::npos) << r.err;
}

TEST(Cli, HeadHasNoBody) {
  Server server("close_notify", 3000, 1);
  Ran r = client({"--head", "--cafile", server.ca(), server.target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("HTTP 200, no body, body 0 bytes (complete)"), std::string::npos) << r.err;
}

// openssl s_server -WWW answers HTTP/1.0 without a length and ends the body
// with close_notify: a complete response (the client once said "(short)").
TEST(Cli, OpensslWwwServerBodyEndedByCloseNotifyIsComplete) {
  if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "unsupported: /usr/bin/openssl is not installed";
  lastbyte_test::TemporaryDirectory www("lastbyte-www");
  const std::string& dir = www.path();
  std::string body = generated_body(50000);
  std::ofstream(dir + "/body.txt") << body;
  auto pki = lastbyte::testing::issue(lastbyte::testing::test_pki().ca,
                                      {.common_name = "localhost", .dns_names = {"localhost"}});
  std::ofstream(dir + "/cert.pem") << pki.cert_pem;
  std::ofstream(dir + "/key.pem") << pki.key_pem;
  std::ofstream(dir + "/ca.pem") << lastbyte::testing::test_pki().ca.cert_pem;
  int ran = 0;
  for (auto [tls, version] : {std::pair{std::string("-tls1_3"), lastbyte::TlsVersion::tls1_3},
                              std::pair{std::string("-tls1_2"), lastbyte::TlsVersion::tls1_2}}) {
    SCOPED_TRACE(tls);
    if (!lastbyte::default_backend().supports(version)) {  // shown, never passed
      std::cout << "unsupported by this library: the tools' backend " << lastbyte::default_backend().library_version()
                << " has no " << tls << "\n";
      RecordProperty("unsupported_" + tls.substr(1), "the tools' backend cannot speak it");
      continue;
    }
    ++ran;
    auto probe = lastbyte::net::listen_tcp("127.0.0.1", 0);  // a free port, released for s_server
    ASSERT_TRUE(probe);
    std::string port = std::to_string(*lastbyte::net::local_port(*probe));
    probe = lastbyte::net::Socket();
    // -WWW serves files from the working directory.
    Child server({"/bin/sh", "-c",
                  "cd '" + dir + "' && exec /usr/bin/openssl s_server -accept 127.0.0.1:" + port +
                      " -cert cert.pem -key key.pem -WWW -naccept 1 " + tls});
    std::string line;
    for (int i = 0; i < 20 && line != "ACCEPT"; ++i) line = server.read_line(std::chrono::seconds(5));
    ASSERT_EQ(line, "ACCEPT");
    Ran r = client({"--cafile", dir + "/ca.pem", "https://localhost:" + port + "/body.txt"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, body);
    EXPECT_NE(r.err.find("close-delimited, body 50000 bytes (complete)"), std::string::npos) << r.err;
  }
  if (ran == 0) GTEST_SKIP() << "unsupported by this library: no TLS version both sides speak";
}

TEST(Cli, ClientVerifiesCertificatesByDefault) {
  Server server("close_notify", 10, 1);
  Ran r = client({server.target()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("handshake_rejected(untrusted)"), std::string::npos) << r.err;
}

TEST(Cli, InsecureIsExplicit) {
  Server server("close_notify", 10, 1);
  Ran r = client({"--insecure", server.target()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Cli, UsageErrorsAreExplained) {
  Ran r = client({"--frobnicate", "localhost:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown option --frobnicate"), std::string::npos) << r.err;
  r = client({"--backend", "nosuchtls", "localhost:1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown backend"), std::string::npos) << r.err;
  r = client({"--tls", "1.0", "localhost:1"});
  EXPECT_EQ(r.exit_code, 2);
  Ran s = Child({server_bin, "--port", "0", "--close", "sometimes"}).wait(std::chrono::seconds(10));
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_NE(s.err.find("--close takes"), std::string::npos) << s.err;
}

// Finding: a TCP server answering the ClientHello with the 7 plaintext
// bytes of a close_notify alert, then closing, made the README example exit
// 0 with an empty body: a stream that never authenticated ended "cleanly".
TEST(Cli, InjectedCloseNotifyBeforeTheHandshakeFails) {
  for (const std::string& program : {std::string(LASTBYTE_FETCH_BIN), client_bin}) {
    SCOPED_TRACE(program);
    auto listener = lastbyte::net::listen_tcp("127.0.0.1", 0);
    ASSERT_TRUE(listener) << listener.error().message();
    std::string port = std::to_string(*lastbyte::net::local_port(*listener));
    std::thread impostor([&] {
      auto socket = lastbyte::net::accept_tcp(*listener, lastbyte::net::after(std::chrono::seconds(20)));
      if (!socket) return;
      char hello[4096];
      pollfd p{socket->fd(), POLLIN, 0};
      if (::poll(&p, 1, 10000) > 0 && ::recv(socket->fd(), hello, sizeof hello, 0) > 0) {
        const unsigned char close_notify[] = {21, 3, 3, 0, 2, 1, 0};
        ::send(socket->fd(), close_notify, sizeof close_notify, MSG_NOSIGNAL);
      }
    });  // the socket closes (FIN) when the thread ends
    Ran r = program == client_bin ? client({"--insecure", "localhost:" + port})
                                  : Child({program, "localhost", port}).wait(std::chrono::seconds(30));
    impostor.join();
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("peer_alert(close_notify)"), std::string::npos) << r.err;
  }
}

TEST(Cli, ConnectionRefusedIsAnIoError) {
  Ran r = client({"--insecure", "127.0.0.1:1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("connect to 127.0.0.1:1"), std::string::npos) << r.err;
}

}  // namespace
