// lastbyte::asio::stream (core/include/lastbyte/asio.hpp) on every
// installed backend: against lastbyte-server for every close mode (the end
// as Asio error codes, truncation distinct from a clean end), with
// coroutines and asio::async_read, synchronously, and full duplex (a read
// and a write outstanding together on one stream).
#include <lastbyte/asio.hpp>
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/harness.hpp>

#include <gtest/gtest.h>

#include "tool_processes.hpp"

#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

namespace {

using namespace lastbyte;
using namespace lastbyte_test;
using tcp = ::asio::ip::tcp;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Context client_context(const Backend& backend, const std::string& ca_pem) {
  Config config;
  config.server_name = "localhost";
  config.ca_pem = ca_pem;
  config.honour_sslkeylogfile = false;
  auto c = Context::create(config, backend);
  if (!c) throw std::runtime_error(c.error().message());
  return *c;
}

struct Fetched {
  std::error_code end;
  std::string response;
};

const std::string request = "GET /body HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

// Coroutines: g++ 12; clang 14 with libstdc++ 12 gives Asio no co_await
// (ASIO_HAS_CO_AWAIT unset), so those builds run the callback path only
// and say so.
#if defined(ASIO_HAS_CO_AWAIT)
::asio::awaitable<void> fetch_coroutine(tcp::endpoint at, const Context& context, Fetched& out) {
  auto executor = co_await ::asio::this_coro::executor;
  tcp::socket socket(executor);
  co_await socket.async_connect(at, ::asio::use_awaitable);
  auto connection = Connection::create(context);
  if (!connection) throw std::runtime_error(connection.error().message());
  lastbyte::asio::stream<tcp::socket> stream(std::move(socket), std::move(*connection));
  co_await stream.async_handshake(::asio::use_awaitable);
  co_await ::asio::async_write(stream, ::asio::buffer(request), ::asio::use_awaitable);
  std::error_code ec;
  co_await ::asio::async_read(stream, ::asio::dynamic_buffer(out.response),
                              ::asio::redirect_error(::asio::use_awaitable, ec));
  out.end = ec;
  if (ec == ::asio::error::eof) co_await stream.async_shutdown(::asio::use_awaitable);  // our close_notify
}
#endif

// The same with completion handlers.
struct CallbackFetch {
  lastbyte::asio::stream<tcp::socket> stream;
  Fetched& out;
  void start(tcp::endpoint at) {
    stream.next_layer().async_connect(at, [this](std::error_code ec) {
      if (ec) return fail(ec);
      stream.async_handshake([this](std::error_code e) {
        if (e) return fail(e);
        ::asio::async_write(stream, ::asio::buffer(request), [this](std::error_code w, std::size_t) {
          if (w) return fail(w);
          ::asio::async_read(stream, ::asio::dynamic_buffer(out.response), [this](std::error_code r, std::size_t) {
            out.end = r;
            if (r == ::asio::error::eof) stream.async_shutdown([](std::error_code) {});
          });
        });
      });
    });
  }
  void fail(std::error_code ec) { out.end = ec; }
};

void fetch_async(tcp::endpoint at, const Context& context, Fetched& out, bool coroutine) {
  ::asio::io_context io;
  if (coroutine) {
#if defined(ASIO_HAS_CO_AWAIT)
    ::asio::co_spawn(io, fetch_coroutine(at, context, out), ::asio::detached);
    io.run();
#endif
    return;
  }
  auto connection = Connection::create(context);
  if (!connection) throw std::runtime_error(connection.error().message());
  CallbackFetch fetch{{tcp::socket(io), std::move(*connection)}, out};
  fetch.start(at);
  io.run();
}

Fetched fetch_sync(tcp::endpoint at, const Context& context) {
  ::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(at);
  auto connection = Connection::create(context);
  if (!connection) throw std::runtime_error(connection.error().message());
  lastbyte::asio::stream<tcp::socket> stream(std::move(socket), std::move(*connection));
  stream.handshake();
  ::asio::write(stream, ::asio::buffer(request));
  Fetched out;
  ::asio::read(stream, ::asio::dynamic_buffer(out.response), out.end);
  if (out.end == ::asio::error::eof) stream.shutdown();
  return out;
}

std::string_view body_of(const std::string& response) {
  auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string_view() : std::string_view(response).substr(at + 4);
}

// The end lastbyte-server's --close MODE must come out as.
std::error_code expected_end(const std::string& mode) {
  if (mode == "close_notify") return ::asio::error::eof;
  if (mode == "rst") return ::asio::error::connection_reset;
  return lastbyte::asio::error::stream_truncated;  // fin, mid-record
}

TEST(Asio, EveryCloseModeEndsWithItsErrorOnEveryBackend) {
  constexpr std::size_t body = 200000;
  for (const Backend* backend : conformance::installed_backends())
    for (const std::string mode : {"close_notify", "fin", "rst", "mid-record"})
      for (std::string style : {"coroutine", "callbacks", "synchronous"}) {
#if !defined(ASIO_HAS_CO_AWAIT)
        if (style == "coroutine") {
          static bool said = false;
          if (!std::exchange(said, true)) {
            RecordProperty("unsupported_coroutines", "this compiler gives Asio no co_await");
            std::cout << "unsupported by this compiler: the coroutine cells (ASIO_HAS_CO_AWAIT unset; "
                         "callbacks and synchronous calls run)\n";
          }
          continue;
        }
#endif
        SCOPED_TRACE(std::string(backend->name) + " client, lastbyte-server --close " + mode + ", " + style);
        // Close-delimited: only the end says whether the body is whole.
        Server server(mode, body, 1, {}, "close");
        auto context = client_context(*backend, read_file(server.ca()));
        tcp::endpoint at(::asio::ip::make_address("127.0.0.1"),
                         static_cast<unsigned short>(std::stoi(server.target().substr(10))));
        Fetched got;
        if (style == "synchronous") got = fetch_sync(at, context);
        else fetch_async(at, context, got, style == "coroutine");
        EXPECT_EQ(got.end, expected_end(mode)) << got.end.message();
        auto received = body_of(got.response);
        if (mode == "close_notify" || mode == "fin") {
          EXPECT_EQ(received, generated_body(body)) << received.size() << " bytes";
        } else {  // rst: after every byte was acknowledged, so all may be there; mid-record: a record short
          if (mode == "mid-record") {
            EXPECT_LT(received.size(), body);
          }
          EXPECT_EQ(received, std::string_view(generated_body(body)).substr(0, received.size()));
        }
        if (mode != "close_notify") {
          EXPECT_NE(got.end, ::asio::error::eof) << "never a clean end without close_notify";
        }
      }
}

// One stream, a read and a write outstanding together: the client sends
// 1 MiB while it reads the server's echo of it; the server echoes each
// read at once. Both in one io_context thread, as Asio requires of a stream.
TEST(Asio, FullDuplexEchoOnEveryBackend) {
  constexpr std::size_t total = 1 << 20;
  for (const Backend* backend : conformance::installed_backends())
    for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
      if (!backend->supports(version)) {
        std::cout << "unsupported by this library: " << backend->library_version() << " has no "
                  << to_string(version) << "\n";
        continue;
      }
      SCOPED_TRACE(std::string(backend->name) + " " + std::string(to_string(version)));
      auto client = Context::create(conformance::client_config(version), *backend);
      auto server = Context::create(conformance::server_config(version), *backend);
      ASSERT_TRUE(client && server);
      ::asio::io_context io;
      tcp::acceptor acceptor(io, tcp::endpoint(::asio::ip::make_address("127.0.0.1"), 0));
      auto data = conformance::pattern(0, total);
      std::vector<std::byte> echoed;
      std::error_code client_end, server_end;
      bool handshake_done = false;
      // The server echoes each read before it reads again.
      auto accepted = Connection::create(*server);
      ASSERT_TRUE(accepted);
      lastbyte::asio::stream<tcp::socket> s(tcp::socket(io), std::move(*accepted));
      std::array<std::byte, 7000> server_buf;
      std::function<void()> echo = [&] {
        s.async_read_some(::asio::buffer(server_buf), [&](std::error_code ec, std::size_t n) {
          if (ec) {
            server_end = ec;
            return s.async_shutdown([](std::error_code) {});
          }
          ::asio::async_write(s, ::asio::buffer(server_buf.data(), n), [&](std::error_code w, std::size_t) {
            if (!w) echo();
          });
        });
      };
      acceptor.async_accept(s.next_layer(), [&](std::error_code ec) {
        if (!ec) s.async_handshake([&](std::error_code h) {
          if (!h) echo();
        });
      });
      auto connection = Connection::create(*client, {.server_name = "server.test"});
      ASSERT_TRUE(connection);
      lastbyte::asio::stream<tcp::socket> c(tcp::socket(io), std::move(*connection));
      // The client: from the handshake on, a write and a read outstanding together.
      std::size_t written = 0;
      std::function<void()> write_more = [&] {
        if (written == total) return c.async_shutdown([](std::error_code) {});  // the server's read ends with eof
        std::size_t n = std::min<std::size_t>(50000, total - written);
        ::asio::async_write(c, ::asio::buffer(data.data() + written, n), [&, n](std::error_code ec, std::size_t) {
          if (ec) return;
          written += n;
          write_more();
        });
      };
      std::array<std::byte, 4096> client_buf;
      std::function<void()> read_more = [&] {
        c.async_read_some(::asio::buffer(client_buf), [&](std::error_code ec, std::size_t n) {
          echoed.insert(echoed.end(), client_buf.begin(), client_buf.begin() + static_cast<std::ptrdiff_t>(n));
          if (ec) {
            client_end = ec;
            return;
          }
          read_more();
        });
      };
      c.next_layer().async_connect(acceptor.local_endpoint(), [&](std::error_code ec) {
        if (ec) return;
        c.async_handshake([&](std::error_code h) {
          EXPECT_FALSE(h) << h.message();
          handshake_done = !h;
          if (!handshake_done) return;
          write_more();
          read_more();
        });
      });
      io.run_for(std::chrono::seconds(60));
      EXPECT_TRUE(handshake_done);
      EXPECT_EQ(server_end, ::asio::error::eof) << server_end.message();
      EXPECT_EQ(client_end, ::asio::error::eof) << client_end.message();
      ASSERT_EQ(echoed.size(), total);
      EXPECT_TRUE(echoed == data);
    }
}

TEST(Asio, TruncationIsItsOwnErrorCode) {
  std::error_code truncated = lastbyte::asio::error::stream_truncated;
  EXPECT_EQ(truncated.category().name(), std::string("lastbyte.asio"));
  EXPECT_NE(truncated, ::asio::error::eof);
  EXPECT_EQ(lastbyte::asio::error_for(Truncated{}), truncated);
  EXPECT_EQ(lastbyte::asio::error_for(CloseNotify{}), ::asio::error::eof);
  EXPECT_NE(truncated.message().find("without close_notify"), std::string::npos);
}

}  // namespace
