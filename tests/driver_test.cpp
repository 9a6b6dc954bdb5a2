// The reference socket driver on a real stream socket.
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/socket_driver.hpp>

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace lastbyte::conformance {
namespace {

using namespace std::chrono_literals;

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    ours = net::Socket(fds[0]);
    theirs = net::Socket(fds[1]);
  }
  net::Socket ours, theirs;
};

class Driver : public ::testing::TestWithParam<const Backend*> {
 protected:
  TlsVersion version() const {
    return GetParam()->supports(TlsVersion::tls1_3) ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
  }
  // Throws (failing the test) rather than handing back a pair that is not
  // established: the tests dereference it.
  MemoryPair established() {
    auto pair = MemoryPair::create(*GetParam(), client_config(version()), *GetParam(), server_config(version()));
    if (!pair) throw std::runtime_error("pair: " + pair.error().message());
    if (auto error = pair->handshake()) throw std::runtime_error("handshake: " + *error);
    return std::move(*pair);
  }
  Connection connection(Config config) {
    auto context = Context::create(std::move(config), *GetParam());
    if (!context) throw std::runtime_error("context: " + context.error().message());
    auto c = Connection::create(*context);
    if (!c) throw std::runtime_error("connection: " + c.error().message());
    return std::move(*c);
  }
};

// W02 through the driver: write_all() before the handshake with more than
// Config::outbound_capacity. write() holds what fits and is then blocked
// until the handshake is done; the driver must drive the handshake (the
// peer's flight) instead of only flushing, which spun past its deadline.
TEST_P(Driver, WriteAllBeforeTheHandshakeDrivesIt) {
  SocketPair sockets;
  Connection client = connection(client_config(version()));
  Connection server = connection(server_config(version()));
  Bytes body = pattern(0, 3 * Config{}.outbound_capacity + 1234);
  Bytes got;
  std::thread peer([&] {
    net::SocketDriver driver(sockets.theirs, server);
    std::byte buf[16384];
    for (;;) {
      auto r = driver.read(buf, net::after(20s));
      if (r.status != IoStatus::ok) break;
      got.insert(got.end(), buf, buf + r.bytes);
    }
  });
  net::SocketDriver driver(sockets.ours, client);
  auto started = net::Clock::now();
  EXPECT_FALSE(driver.write_all(body, net::after(20s)));
  EXPECT_FALSE(driver.close(net::after(20s)));
  peer.join();
  EXPECT_LT(net::Clock::now() - started, 15s);
  EXPECT_EQ(first_difference(body, got), std::nullopt) << got.size() << " of " << body.size() << " bytes arrived";
  ASSERT_TRUE(server.verdict().has_value());
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*server.verdict())) << describe(*server.verdict());
}

// The same write against a peer that never answers: timed_out at the
// deadline, not a spin past it.
TEST_P(Driver, WriteAllBeforeTheHandshakeHonoursTheDeadline) {
  SocketPair sockets;
  Connection client = connection(client_config(version()));
  Bytes body = pattern(0, 2 * Config{}.outbound_capacity);
  net::SocketDriver driver(sockets.ours, client);
  auto started = net::Clock::now();
  EXPECT_EQ(driver.write_all(body, net::after(500ms)), errc::timed_out);
  auto took = net::Clock::now() - started;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 2s) << "write_all ran past its deadline";
}

// The Mongoose bug: several records, close_notify and EOF arrive in one
// receive; a 1-byte reader must still get every byte, then the verdict.
TEST_P(Driver, DataCloseNotifyAndEofInOneReceive) {
  auto pair = established();
  std::string body(5000, 'q');
  pair.server().write(body);
  pair.server().write(body);
  pair.server().close();
  Bytes wire = pair.take_output(Role::server);
  SocketPair sockets;
  ASSERT_EQ(::send(sockets.theirs.fd(), wire.data(), wire.size(), 0), static_cast<ssize_t>(wire.size()));
  ::shutdown(sockets.theirs.fd(), SHUT_WR);

  net::SocketDriver driver(sockets.ours, pair.client());
  std::string got;
  std::byte one[1];
  for (;;) {
    auto r = driver.read(one, net::after(5s));
    if (r.status != IoStatus::ok) {
      ASSERT_EQ(r.status, IoStatus::end) << r.error.message();
      break;
    }
    got += static_cast<char>(one[0]);
  }
  EXPECT_EQ(got, body + body);
  EXPECT_TRUE(std::holds_alternative<CloseNotify>(*pair.client().verdict()));
}

TEST_P(Driver, C2_WaitNeverSleepsWhileARecordIsBuffered) {
  auto pair = established();
  pair.server().write("x");
  pair.transfer(Role::server);
  SocketPair sockets;
  net::SocketDriver driver(sockets.ours, pair.client());
  ASSERT_TRUE(pair.client().wants().read_now);
  // A deadline already past: polling would time out; C2 says do not poll.
  EXPECT_FALSE(driver.wait(net::Clock::now()));
  std::byte buf[4];
  EXPECT_EQ(pair.client().read(buf).bytes, 1u);
  EXPECT_FALSE(pair.client().wants().read_now);
  EXPECT_EQ(driver.wait(net::Clock::now()), errc::timed_out) << "nothing buffered: now it must wait";
}

TEST_P(Driver, ResetFromTheSocketBecomesTheResetVerdict) {
  auto pair = established();
  pair.server().write("tail");
  Bytes wire = pair.take_output(Role::server);
  auto listener = net::listen_tcp("127.0.0.1", 0);
  ASSERT_TRUE(listener);
  auto client_socket = net::connect_tcp("127.0.0.1", *net::local_port(*listener), net::after(5s));
  ASSERT_TRUE(client_socket) << client_socket.error().message();
  auto server_socket = net::accept_tcp(*listener, net::after(5s));
  ASSERT_TRUE(server_socket);
  ASSERT_EQ(::send(server_socket->fd(), wire.data(), wire.size(), 0), static_cast<ssize_t>(wire.size()));
  net::set_linger_reset(*server_socket);
  // Let the record reach the client's receive queue before the RST.
  std::this_thread::sleep_for(50ms);
  *server_socket = net::Socket();

  net::SocketDriver driver(*client_socket, pair.client());
  std::byte buf[64];
  auto r = driver.read(buf, net::after(5s));
  ASSERT_EQ(r.status, IoStatus::ok);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), r.bytes), "tail");
  EXPECT_EQ(driver.read(buf, net::after(5s)).status, IoStatus::end);
  EXPECT_TRUE(std::holds_alternative<Reset>(*pair.client().verdict())) << describe(*pair.client().verdict());
}

TEST_P(Driver, ListenRejectsNonNumericAddresses) {
  auto listener = net::listen_tcp("localhost", 0);
  ASSERT_FALSE(listener);
  EXPECT_EQ(listener.error().code, errc::invalid_config);
}

// An idle connection under the driver holds no queue blocks: a read that
// times out on a silent peer does not sleep on an open input_space() offer
// (SocketDriver cancels it on EAGAIN, Connection::cancel_input).
TEST_P(Driver, AnIdleConnectionHoldsNoQueuesWhileTheDriverWaits) {
  SocketPair sockets;
  auto pair = established();
  net::SocketDriver client(sockets.ours, pair.client());
  net::SocketDriver server(sockets.theirs, pair.server());
  ASSERT_FALSE(client.write_all(std::as_bytes(std::span("hi", 2)), net::after(5s)));
  std::byte buf[64];
  auto got = server.read(buf, net::after(5s));
  ASSERT_EQ(got.status, IoStatus::ok);
  EXPECT_EQ(got.bytes, 2u);
  auto waited = server.read(buf, net::after(50ms));  // nothing more comes
  EXPECT_NE(waited.status, IoStatus::ok) << "nothing was sent: the read times out";
  EXPECT_EQ(pair.server().queue_storage_bytes(), 0u);
  EXPECT_FALSE(client.transfer());
  EXPECT_EQ(pair.client().queue_storage_bytes(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, Driver, ::testing::ValuesIn(installed_backends()),
                         [](const auto& p) { return std::string(p.param->name); });

}  // namespace
}  // namespace lastbyte::conformance
