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
  MemoryPair established() {
    TlsVersion v = GetParam()->supports(TlsVersion::tls1_3) ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    auto pair = MemoryPair::create(*GetParam(), client_config(v), *GetParam(), server_config(v));
    EXPECT_TRUE(pair);
    EXPECT_FALSE(pair->handshake());
    return std::move(*pair);
  }
};

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

INSTANTIATE_TEST_SUITE_P(AllBackends, Driver, ::testing::ValuesIn(installed_backends()),
                         [](const auto& p) { return std::string(p.param->name); });

}  // namespace
}  // namespace lastbyte::conformance
