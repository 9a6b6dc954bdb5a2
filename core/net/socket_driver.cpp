#include <lastbyte/socket_driver.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lastbyte::net {
namespace {

Error os_error(const std::string& what) { return {errc::io_error, what + ": " + std::strerror(errno)}; }

int remaining_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

std::error_code poll_for(int fd, short events, Deadline deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0) return {};
    if (rc == 0) return errc::timed_out;
    if (errno != EINTR) return errc::io_error;
  }
}

std::error_code make_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errc::io_error;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return {};
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Expected<Socket> connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return Error{errc::io_error, "cannot resolve \"" + host + "\": " + ::gai_strerror(rc)};
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  Error last{errc::io_error, "no address for \"" + host + "\""};
  for (addrinfo* ai = found; ai; ai = ai->ai_next) {
    Socket s(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!s || make_nonblocking(s.fd())) {
      last = os_error("socket");
      continue;
    }
    if (::connect(s.fd(), ai->ai_addr, ai->ai_addrlen) == 0) return s;
    if (errno != EINPROGRESS) {
      last = os_error("connect to " + host + ":" + std::to_string(port));
      continue;
    }
    if (auto e = poll_for(s.fd(), POLLOUT, deadline)) {
      last = {e, "connect to " + host + ":" + std::to_string(port)};
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) return s;
    errno = err;
    last = os_error("connect to " + host + ":" + std::to_string(port));
  }
  return last;
}

Expected<Socket> listen_tcp(const std::string& address, std::uint16_t port) {
  sockaddr_storage storage{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return Error{errc::invalid_config, "listen address \"" + address + "\" is not a numeric IPv4/IPv6 address"};
  }
  Socket s(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return os_error("socket");
  int one = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(s.fd(), reinterpret_cast<sockaddr*>(&storage), len) != 0)
    return os_error("bind " + address + ":" + std::to_string(port));
  if (::listen(s.fd(), 128) != 0) return os_error("listen");
  if (make_nonblocking(s.fd())) return os_error("fcntl");
  return s;
}

Expected<Socket> accept_tcp(const Socket& listener, Deadline deadline) {
  for (;;) {
    Socket s(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (s) {
      if (make_nonblocking(s.fd())) return os_error("fcntl");
      return s;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return os_error("accept");
    if (auto e = poll_for(listener.fd(), POLLIN, deadline)) return Error{e, "accept"};
  }
}

Expected<std::uint16_t> local_port(const Socket& socket) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(socket.fd(), reinterpret_cast<sockaddr*>(&storage), &len) != 0) return os_error("getsockname");
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

std::error_code set_linger_reset(const Socket& socket) {
  linger lg{1, 0};
  return ::setsockopt(socket.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0 ? std::error_code{}
                                                                               : errc::io_error;
}

// ---- the driver -------------------------------------------------------------

std::error_code SocketDriver::send_output() {
  while (conn_.wants().output) {
    auto out = conn_.output();
    if (send_failed_) {  // the peer is gone: nothing more will be delivered
      conn_.consume_output(out.size());
      break;
    }
    ssize_t n = ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      conn_.consume_output(static_cast<std::size_t>(n));
      sent_ += static_cast<std::uint64_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno != EPIPE && errno != ECONNRESET) return errc::io_error;
    // The reset itself is reported by recv(), after what was received before it.
    send_failed_ = true;
  }
  return {};
}

std::error_code SocketDriver::receive_input() {
  if (!conn_.wants().transport_input) return {};
  auto space = conn_.input_space();
  ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
  if (n > 0) {
    received_ += static_cast<std::uint64_t>(n);
    return conn_.commit_input(static_cast<std::size_t>(n));
  }
  if (n == 0) return conn_.feed_eof();
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    conn_.cancel_input();  // not sleeping on the offer: an idle connection gives its blocks back
    return {};
  }
  if (errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) return conn_.feed_reset();
  return errc::io_error;
}

std::error_code SocketDriver::transfer() {
  if (auto e = send_output()) return e;
  if (auto e = receive_input()) return e;
  return send_output();
}

std::error_code SocketDriver::wait(Deadline deadline) {
  Wants w = conn_.wants();
  if (w.read_now) return {};
  short events = static_cast<short>((w.transport_input ? POLLIN : 0) | (w.output && !send_failed_ ? POLLOUT : 0));
  if (events == 0) return {};
  return poll_for(fd_, events, deadline);
}

std::error_code SocketDriver::step(Deadline deadline) {
  if (auto e = transfer()) return e;
  if (conn_.wants().read_now) return {};
  if (auto e = wait(deadline)) return e;
  return transfer();
}

IoResult SocketDriver::read(std::span<std::byte> plaintext, Deadline deadline) {
  for (;;) {
    IoResult r = conn_.read(plaintext);
    if (r.status != IoStatus::blocked) return r;
    if (auto e = step(deadline)) return {0, IoStatus::refused, e};
  }
}

std::error_code SocketDriver::handshake(Deadline deadline) {
  for (;;) {
    IoResult r = conn_.handshake();
    if (r.status == IoStatus::ok) return flush(deadline);
    if (r.status == IoStatus::end) {
      send_output();  // deliver our alert, if any
      return errc::handshake_not_done;
    }
    if (auto e = step(deadline)) return e;
  }
}

// write() returned blocked: either the handshake has not finished and the
// bytes it holds fill Config::outbound_capacity (only the peer's flight can
// move it on), or the outbound queue is full (only sending frees it).
// Waits for whichever it is, within the deadline: never a busy loop.
std::error_code SocketDriver::make_room(Deadline deadline) {
  if (auto e = transfer()) return e;
  if (!conn_.wants().handshake_done) {
    IoResult r = conn_.handshake();
    if (r.status == IoStatus::end) {
      send_output();  // our alert, if any
      return errc::handshake_not_done;
    }
    if (r.status == IoStatus::ok) return {};
    // Only send what the step queued: receiving now could take in the
    // flight it waits for, and the poll below would then wait for nothing.
    if (auto e = send_output()) return e;
    Wants w = conn_.wants();
    short events = static_cast<short>((w.transport_input ? POLLIN : 0) | (w.output && !send_failed_ ? POLLOUT : 0));
    // No event can help (nothing to send, no room to receive): the deadline
    // ends it, rather than a loop spinning until then.
    return poll_for(fd_, events, deadline);
  }
  if (!conn_.wants().output || send_failed_) return {};
  return poll_for(fd_, POLLOUT, deadline);
}

std::error_code SocketDriver::write_all(std::span<const std::byte> plaintext, Deadline deadline) {
  while (!plaintext.empty()) {
    IoResult r = conn_.write(plaintext);
    if (r.status == IoStatus::refused) return r.error;
    if (r.status == IoStatus::end) return errc::write_after_end;
    plaintext = plaintext.subspan(r.bytes);
    if (r.status == IoStatus::blocked)
      if (auto e = make_room(deadline)) return e;
  }
  return flush(deadline);
}

std::error_code SocketDriver::flush(Deadline deadline) {
  while (conn_.wants().output && !send_failed_) {
    if (auto e = send_output()) return e;
    if (conn_.wants().output && !send_failed_)
      if (auto e = poll_for(fd_, POLLOUT, deadline)) return e;
  }
  return {};
}

std::error_code SocketDriver::close(Deadline deadline) {
  if (auto e = conn_.close()) return e;
  auto e = flush(deadline);
  ::shutdown(fd_, SHUT_WR);
  return e;
}

}  // namespace lastbyte::net
