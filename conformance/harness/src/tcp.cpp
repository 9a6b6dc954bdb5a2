// Real transport mode: a scenario's wire bytes sent over loopback TCP by a
// peer thread, received by the victim through the reference socket driver.
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/socket_driver.hpp>

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <thread>

namespace lastbyte::conformance {
namespace {

using namespace std::chrono_literals;

void send_all(int fd, std::span<const std::byte> bytes, net::Deadline deadline) {
  while (!bytes.empty() && net::Clock::now() < deadline) {
    ssize_t n = ::send(fd, bytes.data(), std::min<std::size_t>(bytes.size(), 1460), MSG_NOSIGNAL);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 10);
  }
}

// Until the victim acknowledged every byte: an RST must not discard data
// still in our send queue (what the RST scenarios test is the receiver).
void wait_until_acknowledged(int fd, net::Deadline deadline) {
  int queued = 0;
  while (::ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0 && net::Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
}

// Reads and discards what the victim sends (alerts, KeyUpdates) until it
// closes or `done` is set.
void drain(int fd, const std::atomic<bool>& done, net::Deadline deadline) {
  char sink[4096];
  while (!done && net::Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    ssize_t n = ::recv(fd, sink, sizeof sink, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

}  // namespace

Outcome deliver_over_tcp(Connection& victim, std::span<const std::byte> wire, TransportEnd end, std::size_t read_size,
                         std::size_t expected_bytes) {
  Outcome outcome;
  auto fail = [&](const std::string& what) {
    outcome.violations.push_back("tcp: " + what);
    return outcome;
  };
  auto deadline = net::after(20s);
  auto listener = net::listen_tcp("127.0.0.1", 0);
  if (!listener) return fail(listener.error().message());
  auto ours = net::connect_tcp("127.0.0.1", *net::local_port(*listener), deadline);
  if (!ours) return fail(ours.error().message());
  auto theirs = net::accept_tcp(*listener, deadline);
  if (!theirs) return fail(theirs.error().message());

  std::atomic<bool> victim_done = false;
  std::thread peer([&, fd = theirs->fd()] {
    send_all(fd, wire, deadline);
    if (end == TransportEnd::rst) {
      wait_until_acknowledged(fd, net::after(5s));
      net::set_linger_reset(*theirs);
      *theirs = net::Socket();  // the RST
      return;
    }
    if (end == TransportEnd::fin) ::shutdown(fd, SHUT_WR);
    drain(fd, victim_done, deadline);
  });

  net::SocketDriver driver(*ours, victim);
  Bytes buffer(read_size);
  for (;;) {
    // With no transport end, stop once the expected bytes are in and nothing
    // more (a close_notify, say) arrives within a moment.
    bool settled = end == TransportEnd::none && outcome.plaintext.size() >= expected_bytes;
    IoResult r = driver.read(buffer, settled ? net::after(200ms) : deadline);
    if (settled && r.error == errc::timed_out) break;
    ++outcome.reads;
    if (r.status == IoStatus::ok) {
      outcome.plaintext.insert(outcome.plaintext.end(), buffer.begin(), buffer.begin() + r.bytes);
      continue;
    }
    if (r.status == IoStatus::end) outcome.verdict = victim.verdict();
    else outcome.violations.push_back("tcp: read failed: " + r.error.message());
    break;
  }
  victim_done = true;
  peer.join();
  if (outcome.verdict) outcome.verdict = victim.verdict();  // trailing bytes counted to the end
  return outcome;
}

}  // namespace lastbyte::conformance

namespace lastbyte::conformance {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view request = "GET /body HTTP/1.1\r\nHost: server.test\r\nConnection: close\r\n\r\n";

std::string response_for(std::size_t body_size) {
  Bytes body = pattern(0, body_size);
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body_size) + "\r\nConnection: close\r\n\r\n" +
         std::string(reinterpret_cast<const char*>(body.data()), body.size());
}

// One server connection: read the request, answer, close_notify, close at once.
void serve_one(const Context& context, net::Socket socket, const std::string& response) {
  auto deadline = net::after(10s);
  auto connection = Connection::create(context);
  if (!connection) return;
  net::SocketDriver driver(socket, *connection);
  std::string got;
  std::byte buf[1024];
  while (got.find("\r\n\r\n") == std::string::npos) {
    IoResult r = driver.read(buf, deadline);
    if (r.status != IoStatus::ok) return;
    got.append(reinterpret_cast<const char*>(buf), r.bytes);
  }
  if (driver.write_all(std::as_bytes(std::span(response)), deadline)) return;
  driver.close(deadline);
}  // the socket closes here: right after the response

}  // namespace

Expected<HttpRunResult> run_http_exchanges(const Backend& client_backend, const Backend& server_backend,
                                           int connections, std::size_t body_size) {
  const PairLimit* limited = pair_limit(client_backend, server_backend, TlsVersion::tls1_3);
  TlsVersion version = client_backend.supports(TlsVersion::tls1_3) && server_backend.supports(TlsVersion::tls1_3) &&
                               !limited
                           ? TlsVersion::tls1_3
                           : TlsVersion::tls1_2;
  auto server_context = Context::create(server_config(version), server_backend);
  if (!server_context) return server_context.error();
  auto client_context = Context::create(client_config(version), client_backend);
  if (!client_context) return client_context.error();
  auto listener = net::listen_tcp("127.0.0.1", 0);
  if (!listener) return listener.error();
  std::uint16_t port = *net::local_port(*listener);
  const std::string response = response_for(body_size);

  std::thread server([&] {
    for (int i = 0; i < connections; ++i) {
      auto socket = net::accept_tcp(*listener, net::after(10s));
      if (!socket) return;
      serve_one(*server_context, std::move(*socket), response);
    }
  });

  HttpRunResult result{.version = version, .limited = limited};
  std::vector<std::byte> buffer(16384);
  for (int i = 0; i < connections; ++i) {
    auto deadline = net::after(10s);
    auto socket = net::connect_tcp("127.0.0.1", port, deadline);
    auto connection = Connection::create(*client_context);
    if (!socket || !connection) break;
    net::SocketDriver driver(*socket, *connection);
    driver.write_all(std::as_bytes(std::span(request)), deadline);
    std::string got;
    for (IoResult r; (r = driver.read(buffer, deadline)).status == IoStatus::ok;)
      got.append(reinterpret_cast<const char*>(buffer.data()), r.bytes);
    ++result.connections;
    result.complete += got == response;
    ++result.verdicts[connection->verdict() ? std::string(kind_name(*connection->verdict())) : "none"];
  }
  server.join();
  return result;
}

}  // namespace lastbyte::conformance
