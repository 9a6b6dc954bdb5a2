// The reference socket driver: a Connection on a non-blocking TCP socket,
// driven with poll(). It is the canonical event-loop step an embedding loop
// copies:
//
//   1. transfer(): send what output() holds; receive into input_space() when
//      wants().transport_input (0 from recv is feed_eof, ECONNRESET feed_reset).
//   2. read() plaintext until it returns blocked or end.
//   3. Only if !wants().read_now, wait for the socket (wait()).
//
// Step 3's condition is the whole point: records already received, or
// plaintext held by the TLS library, never wait for a socket event that will
// not come (C2), and EOF is fed only after what preceded it (C3).
#pragma once

#include <lastbyte/connection.hpp>
#include <lastbyte/expected.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>

namespace lastbyte::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline after(std::chrono::milliseconds timeout) { return Clock::now() + timeout; }

// An owned file descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept;
  ~Socket();

  int fd() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// TCP helpers returning non-blocking sockets (TCP_NODELAY set).
Expected<Socket> connect_tcp(const std::string& host, std::uint16_t port, Deadline deadline);
Expected<Socket> listen_tcp(const std::string& address, std::uint16_t port);
Expected<Socket> accept_tcp(const Socket& listener, Deadline deadline);
Expected<std::uint16_t> local_port(const Socket& socket);
// Sends an RST instead of a FIN when closed (SO_LINGER 0).
std::error_code set_linger_reset(const Socket& socket);

class SocketDriver {
 public:
  SocketDriver(const Socket& socket, Connection& connection) : fd_(socket.fd()), conn_(connection) {}

  // One non-blocking step: moves ciphertext both ways as far as the socket
  // allows. Only fails on an unexpected OS error.
  std::error_code transfer();
  // Sleeps until the socket can serve what wants() asks for. Returns at once
  // when wants().read_now: never wait while progress is possible (C2).
  std::error_code wait(Deadline deadline);

  // Blocking conveniences built on transfer()/wait(), for tools and tests.
  IoResult read(std::span<std::byte> plaintext, Deadline deadline);
  std::error_code handshake(Deadline deadline);
  // Writes everything, driving the handshake first if it is not done (writes
  // made before it are held up to Config::outbound_capacity); timed_out at
  // the deadline, never a busy wait.
  std::error_code write_all(std::span<const std::byte> plaintext, Deadline deadline);
  std::error_code flush(Deadline deadline);
  // close_notify, flushed, then shutdown(SHUT_WR).
  std::error_code close(Deadline deadline);

  // Bytes sent and received on the socket so far.
  std::uint64_t bytes_sent() const { return sent_; }
  std::uint64_t bytes_received() const { return received_; }

 private:
  std::error_code send_output();
  std::error_code receive_input();
  std::error_code step(Deadline deadline);
  std::error_code make_room(Deadline deadline);

  int fd_;
  Connection& conn_;
  bool send_failed_ = false;
  std::uint64_t sent_ = 0, received_ = 0;
};

}  // namespace lastbyte::net
