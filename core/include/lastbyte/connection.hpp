// A sans-I/O TLS connection. The caller owns the transport: it feeds received
// ciphertext (feed / input_space+commit_input), the transport end (feed_eof,
// feed_reset, or feed_transport_error when it cannot tell which), sends what
// output() holds, and reads and writes plaintext.
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
//      then Reset. feed_transport_error() is the same for a loop that only
//      knows "the socket failed" (EOF and RST folded into one error): never a
//      clean end unless the peer's close_notify came first, Reset with
//      eof_or_reset set otherwise.
//      Feed the end in the same iteration as the last bytes, before deciding
//      to close: wants() then says whether read() still has work.
//   C9 after the peer's close_notify the application may still write (TLS
//      1.3) and then close(); on TLS 1.2 the core answers close_notify at once
//      and refuses further writes (RFC 5246 §7.2.1). close() sends
//      close_notify; output() then holds it until sent. Nothing follows our
//      close_notify on the wire (RFC 8446 §6.1): what a library would still
//      send after it (OpenSSL and wolfSSL answer a KeyUpdate they read
//      later) is dropped.
//   C10 nothing write() accepted is lost: every byte it reported as accepted
//      (IoResult::bytes) reaches output(), in order and before our
//      close_notify, also when it was written before the handshake finished,
//      in one call larger than a record or than the outbound queue, under
//      back-pressure, and across KeyUpdate and tickets. A write that cannot
//      be taken now is accepted partially with the exact count, or returns
//      `blocked`; what is not counted was not taken. Application data never
//      grows the outbound queue past Config::outbound_capacity: write() budgets
//      plaintext by its sealed size.
//
// Before the handshake finished nothing is authenticated: no verdict of a
// connection whose handshake did not finish is ever CloseNotify (a
// close_notify then is PeerAlert{close_notify}).
//
// Threads (tested under ThreadSanitizer: tests/thread_test.cpp, ctest
// threads_<backend>; docs/adversarial.md, "Threads"):
//   * A Context is immutable after create() and may be shared by the
//     connections of any number of threads; Connection::create() may run on
//     several threads at once. Copies of a Context share one library context.
//   * The Config callbacks (keylog, on_new_session) run synchronously inside
//     the Connection call that produced the secret or session (handshake(),
//     read(), or a write() that drives the handshake), on that call's
//     thread, so connections of one Context call them concurrently: they must
//     be thread-safe. They must not call into the Connection that called
//     them.
//   * A Connection is not thread-safe: one thread at a time. It may move
//     between threads when the hand-over synchronises (a mutex, a queue), as
//     for any object. Its queues, engine and verdict are its own.
//   * What connections of one Context do share is synchronised inside
//     lastbyte or the library: the library context (SSL_CTX, the Mbed TLS
//     config with its DRBG and ticket keys, WOLFSSL_CTX), the OpenSSL
//     adapter's parsed-session cache (a mutex), the SSLKEYLOGFILE stream (a
//     mutex per Context; each line is one O_APPEND write, so Contexts
//     sharing the file never tear a line). Backend specifics (Mbed TLS's
//     threading build and EC tables, wolfSSL's per-thread ECC cache) are in
//     backends/*/include/lastbyte/backends/<name>.hpp.
#pragma once

#include <lastbyte/config.hpp>
#include <lastbyte/context.hpp>
#include <lastbyte/expected.hpp>
#include <lastbyte/session.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace lastbyte {

enum class IoStatus {
  ok,       // `bytes` moved (bytes > 0, except for an empty write() and a finished handshake())
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
  // Not a want: our close_notify, and everything write() accepted before
  // it, left output() (consume_output took it). An application closing on
  // its own calls close(), flushes until this is true, then shuts the
  // socket down: nothing it wrote is lost to an early close(2). Also true
  // once the close_notify a TLS 1.2 peer's close_notify made us send left.
  // Never true when the close_notify could not be sealed: a close hook
  // also stops waiting once verdict() is set and is not CloseNotify.
  bool close_sent = false;
};

// Validated configuration bound to one backend; cheap to copy, shared by the
// connections made from it (the TLS library's context lives here).
class Connection {
 public:
  static Expected<Connection> create(const Context& context, ConnectionOptions options = {});

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // ---- transport side ----
  // Copies as much of `ciphertext` as the inbound queue takes now;
  // `bytes` < size means back-pressure: read (until blocked, C2), then feed
  // the rest. The queue takes nothing while complete records wait to be read
  // and no room is left behind them (wants().transport_input is false then):
  // moving them to make room would cost the whole queue per record fed.
  IoResult feed(std::span<const std::byte> ciphertext);
  // Zero-copy alternative: receive directly into input_space(), then commit
  // the bytes received. The space is valid until the next call on this
  // connection other than commit_input(), output(), consume_output() and the
  // const queries: a commit after such a call is errc::input_space_stale,
  // one beyond what was offered errc::input_overflow. Several commits may
  // share one offer (the space shrinks from the front). An empty span means
  // the queue is full (read first) or the transport has ended.
  std::span<std::byte> input_space();
  std::error_code commit_input(std::size_t n);
  // Ends an input_space() offer that received nothing (the socket said
  // EAGAIN). An idle connection then gives its queue blocks back, as after
  // read(): a loop that sleeps on an open offer keeps the inbound block
  // (64 KiB by default) for as long as it sleeps.
  void cancel_input();
  std::error_code feed_eof();
  std::error_code feed_reset();
  // The transport failed and the caller cannot tell an EOF from a reset (an
  // event loop that folds them into one error). Treated as a reset: writes
  // are refused and the verdict is Reset{.eof_or_reset = true} unless the
  // peer's close_notify was already received (then CloseNotify).
  std::error_code feed_transport_error();

  // Ciphertext to send; consume_output(n) once n bytes were sent. Consuming
  // may seal more plaintext write() accepted earlier (C10), so look at
  // output() again afterwards.
  std::span<const std::byte> output() const;
  std::error_code consume_output(std::size_t n);

  // ---- application side ----
  // Drives the handshake without touching application data: ok once it is
  // done, blocked while it needs the transport, end if it failed (verdict()).
  // read() and write() drive it too; this is for callers that only flush.
  IoResult handshake();
  // Plaintext into `plaintext`: ok with the bytes, filled across every
  // complete record waiting (a loop calling it once per iteration misses
  // none); blocked while more needs the transport; end once, after the last
  // byte (verdict()), then refused (errc::read_after_end).
  IoResult read(std::span<std::byte> plaintext);
  // Accepts as much plaintext as the outbound queue can take once sealed
  // (C10): ok with the exact count (possibly less than asked), or blocked
  // while output() must be sent first. Before the handshake finishes,
  // plaintext is held (up to Config::outbound_capacity) and sealed as soon
  // as it does. An empty write is a no-op (ok, 0 bytes). Refused (errc)
  // after close(), after feed_reset(), after a verdict other than
  // CloseNotify, and on TLS 1.2 after the peer's close_notify; end if the
  // handshake failed.
  IoResult write(std::span<const std::byte> plaintext);
  IoResult write(std::string_view text) { return write(std::as_bytes(std::span(text))); }
  // Queues close_notify after every byte write() accepted (if some still
  // wait for room in the outbound queue, it follows them as output() is
  // consumed). Idempotent; refused before the handshake finished. After the
  // peer's close_notify (verdict CloseNotify), a failure on our side to
  // seal what follows or our close_notify (errc::out_of_memory) is returned
  // here, on every later call, and by write(): the peer may see a
  // truncated stream.
  std::error_code close();

  // Frees the memory of both ciphertext queues (inbound_capacity +
  // outbound_capacity bytes) and the library's record buffers where it
  // can, when nothing received is unread and nothing waits to be sent. The
  // queues come back, at their configured sizes, with the next
  // input_space(), feed() or write(). Done by itself after read() and
  // consume_output() unless Config::keep_buffers_when_idle; this is for
  // that case, and for tests. false (nothing freed) when either queue holds
  // bytes.
  bool release_buffers();
  // Bytes of queue storage this connection holds now: 0 while it is idle
  // (or before it ever received or sent), inbound_capacity +
  // outbound_capacity while both directions carry records, more while a
  // handshake flight larger than the outbound queue waits to be sent.
  std::size_t queue_storage_bytes() const;

  Wants wants() const;
  // Plaintext write() accepted that is not in output() yet: held while the
  // handshake runs, or waiting for room in the outbound queue (C10). It
  // reaches output() as the handshake and consume_output() allow, also after
  // close() and after a Truncated verdict. Once the connection can no longer
  // send (transport reset, a fatal verdict, a handshake that never finished)
  // it never will: this is then the exact count that was not sent.
  std::size_t unsent() const;
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
