// A sans-I/O TLS connection. The caller owns the transport: it feeds received
// ciphertext (feed / input_space+commit_input), the transport end (feed_eof,
// feed_reset), sends what output() holds, and reads and writes plaintext.
//
// The decrypt-pending contract, as this API keeps it:
//   C1 read() returns plaintext in record order; IoStatus::end (and with it
//      verdict()) comes only after every authenticated byte received before
//      the transport end has been returned.
//   C2 wants().read_now is true whenever read() can make progress without new
//      transport bytes: plaintext held by the library, a complete record in the
//      inbound queue, or a verdict waiting to be reported. An event loop must
//      call read() until it returns `blocked` before waiting on the socket.
//   C3 after feed_eof() the queue keeps being drained by read(); the end is
//      reported only when no complete record is left.
//   C4 exactly one Verdict (verdict.hpp), the same on every backend.
//   C5 bytes of an unauthenticated or incomplete record are never returned;
//      records before a bad record are.
//   C6 bytes and verdict do not depend on read sizes or on how the transport
//      cut the ciphertext.
//   C7 post-handshake messages (tickets, KeyUpdate) and data arriving with the
//      last handshake flight are handled inside read(); never a stall.
//   C8 after feed_reset(), complete records already received are delivered,
//      then Reset.
//   C9 after the peer's close_notify the application may still write (TLS
//      1.3) and then close(); on TLS 1.2 the core answers close_notify at once
//      and refuses further writes (RFC 5246 §7.2.1). close() sends
//      close_notify; output() then holds it until sent.
#pragma once

#include <lastbyte/config.hpp>
#include <lastbyte/engine.hpp>
#include <lastbyte/expected.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace lastbyte {

enum class IoStatus {
  ok,       // `bytes` moved (bytes > 0)
  blocked,  // nothing now: see wants() (transport bytes needed, or output full)
  end,      // the stream has ended: verdict() is set; read() reports this once
  refused,  // API misuse or a state that forbids the call: see `error`
};

struct IoResult {
  std::size_t bytes = 0;
  IoStatus status = IoStatus::ok;
  std::error_code error;
};

struct Wants {
  bool read_now = false;         // call read(): progress is possible without the transport
  bool transport_input = false;  // room for (and need of) more transport bytes
  bool output = false;           // output() holds ciphertext to send
  bool handshake_done = false;
};

// Validated configuration bound to one backend; cheap to copy, shared by the
// connections made from it (the TLS library's context lives here).
class Context {
 public:
  static Expected<Context> create(Config config, const Backend& backend);

  const Config& config() const;
  const Backend& backend() const;

  struct Impl;

 private:
  explicit Context(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class Connection;
};

class Connection {
 public:
  static Expected<Connection> create(const Context& context, ConnectionOptions options = {});

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // ---- transport side ----
  // Copies as much of `ciphertext` as the inbound queue has room for;
  // `bytes` < size means back-pressure: feed the rest after reading.
  IoResult feed(std::span<const std::byte> ciphertext);
  // Zero-copy alternative: receive directly into input_space(), then commit.
  std::span<std::byte> input_space();
  std::error_code commit_input(std::size_t n);
  std::error_code feed_eof();
  std::error_code feed_reset();

  std::span<const std::byte> output() const;
  std::error_code consume_output(std::size_t n);

  // ---- application side ----
  // Drives the handshake without touching application data: ok once it is
  // done, blocked while it needs the transport, end if it failed (verdict()).
  // read() and write() drive it too; this is for callers that only flush.
  IoResult handshake();
  IoResult read(std::span<std::byte> plaintext);
  // Before the handshake finishes, plaintext is held (up to
  // Config::outbound_capacity) and sent as soon as it does.
  IoResult write(std::span<const std::byte> plaintext);
  IoResult write(std::string_view text) { return write(std::as_bytes(std::span(text))); }
  std::error_code close();

  // Frees the memory of both ciphertext queues (inbound_capacity +
  // outbound_capacity bytes) while the connection is idle: nothing received
  // and unread, nothing waiting to be sent. They are allocated again, at
  // their configured sizes, by the next input_space(), feed() or write(). For
  // servers that park many idle connections; the per-record path never
  // allocates either way. false (nothing freed) when either queue holds bytes.
  bool release_buffers();

  Wants wants() const;
  // Set once the stream has ended; reported by read() as IoStatus::end.
  const std::optional<Verdict>& verdict() const;
  Expected<SessionInfo> info() const;
  Role role() const;

  struct Impl;

 private:
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lastbyte
