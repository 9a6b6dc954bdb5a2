// The engine seam: everything a TLS library adapter implements (adapter-
// facing: lastbyte/engine/; applications include none of it). The core never
// includes a TLS library header; each backends/<name>/ implements these two
// interfaces over one library and exposes one `Backend`.
//
// Every adapter (backends/<name>/<name>_engine.cpp) reads alike, in the same
// sections and order: errors (the library's error text, allocation
// watching), error classes (library codes to CertificateFault bits, reject
// reasons and alert classes), the engine (the Engine methods in the order
// below, then the library's callbacks as methods: send, receive, verify,
// new_session, ...), the context (create, new_engine, configure, load_trust,
// load_identity), hooks (the C functions the library calls, named
// <what>_hook, each forwarding to the engine; C code cannot unwind, so the
// C++ work runs through CallbackFailure::run), the rest of the engine
// (setup, on_handshake_done), "corrections: where <library> departs from
// the contract" (each entry named by the catalogue row or test that shows
// it, listed in docs/divergences.md; a correction changes the facts
// failure() reports, never a verdict), and the Backend. Policy (what a server name
// is, how names match, verify mode, ALPN choice, which fault is reported,
// the session cache, whether the handshake is over) comes from core, never
// from the adapter: lastbyte/engine/policy.hpp, EngineIo::handshake_done().
//
// What an engine may assume (the core guarantees it):
//   * EngineIo::pull() only ever yields whole TLS records. The core parses the
//     5-byte record headers and exposes one complete record at a time, so the
//     library never holds a partial record and never sees the transport end.
//     pull() returning 0 means "nothing yet" (would block), never EOF: the core
//     alone decides close_notify vs truncated vs reset (contract C3, C4).
//     Records the record gate decides (queues.hpp) never reach the library.
//   * EngineIo::push() always accepts everything.
//   * pull() and push() never throw (they run inside the library's C code).
//     When the core cannot allocate in them, push() drops the bytes and
//     pull() returns 0; the core then ends the connection with
//     LocalError{"out of memory"} as soon as the engine call returns,
//     whatever the engine reports.
//   * The core calls write() only after handshake() returned done, never
//     with an empty span, and never after send_close_notify(); it calls
//     send_close_notify() at most once, after the handshake.
// What an engine must do:
//   * read() returns plaintext the library already holds before asking for
//     more input, and pending_plaintext() tells how much it holds (C2).
//   * Renegotiation is refused; TLS versions below 1.2 are never enabled.
//   * failure() reports what happened, as facts (EngineFailure): which
//     alert arrived or was sent, whether an allocation or the library itself
//     failed, what the certificate check found, the class the library's
//     error names. It never decides the verdict: policy::verdict_for_failure
//     does, in one order for every backend.
//   * No exception leaves a library callback (C code cannot unwind): a
//     callback that fails (an allocation, the application's keylog or
//     on_new_session throwing) makes the call report `failed`, and
//     failure() says so (EngineFailure::callback_failed).
//   * Every library call that can fail on allocation is checked; an
//     allocation failure is LocalError (or an Error from new_engine /
//     create_context, errc::out_of_memory where the library says so), never
//     a certificate, handshake or protocol verdict, also where the library
//     reports it under another name (docs/adversarial.md).
//
// The return contract of each method (EngineResult::bytes and status):
//   handshake()  done: the handshake is complete; the core never calls
//                  handshake() again (EngineIo::handshake_done() is true from
//                  then on);
//                want_input: it needs records pull() cannot give yet (what it
//                  had to send is pushed);
//                peer_closed: the peer's close_notify arrived during the
//                  handshake (the core reports PeerAlert{close_notify});
//                failed: fatal, see failure().
//   read(out)    {n > 0, done}: n plaintext bytes copied into out (n may be
//                  less than the library holds: pending_plaintext() tells);
//                {0, want_input}: every complete record was consumed
//                  (post-handshake messages handled: tickets, KeyUpdate) and
//                  no plaintext is held — the core then decides whether this
//                  is the end (transport ended) or a wait;
//                {0, peer_closed}: the close_notify record was consumed;
//                  nothing after it is read;
//                {0, failed}: fatal, see failure();
//                {0, done} is treated as {0, want_input}.
//   write(p)     {n, done}: the first n bytes of p (0 < n <= p.size()) were
//                  sealed and pushed, in order, each byte once. Writes MAY BE
//                  PARTIAL (Mbed TLS seals one record per call): the core
//                  calls again with the rest. {0, want_input}: nothing sealed
//                  now; the core retries later. {n, failed}: fatal after n
//                  bytes were pushed, see failure().
//   send_close_notify()  done: close_notify pushed (the core never waits for
//                  the peer's); failed: see failure().
#pragma once

#include <lastbyte/backend.hpp>
#include <lastbyte/config.hpp>
#include <lastbyte/engine/policy.hpp>
#include <lastbyte/expected.hpp>
#include <lastbyte/session.hpp>
#include <lastbyte/verdict.hpp>

#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

namespace lastbyte {

namespace detail {
class InboundQueue;
class OutboundQueue;
}  // namespace detail

// The core's queues as an engine sees them, from inside the library's I/O hook
// (custom BIO, mbedtls_ssl_set_bio, wolfSSL I/O callbacks, GnuTLS push/pull).
class EngineIo {
 public:
  EngineIo(detail::InboundQueue& in, detail::OutboundQueue& out) : in_(in), out_(out) {}

  // Copies up to out.size() bytes of the currently exposed record.
  // 0: no complete record is available yet.
  std::size_t pull(std::span<std::byte> out) noexcept;
  void push(std::span<const std::byte> ciphertext) noexcept;

  // Whether the core has seen handshake() return done: false during every
  // handshake() call (and the session_info() call right after the last),
  // true in every later call. An engine asks this instead
  // of keeping its own flag, so that "during the handshake" (a
  // HandshakeRejected verdict, a handshake alert, a TLS 1.2 session kept
  // until the end) means one thing on every backend.
  bool handshake_done() const noexcept;

 private:
  detail::InboundQueue& in_;
  detail::OutboundQueue& out_;
};

enum class EngineStatus {
  done,         // the operation completed (handshake finished / bytes moved)
  want_input,   // needs more records than pull() can give
  peer_closed,  // the peer's close_notify was processed
  failed,       // fatal: failure() says why
};

struct EngineResult {
  std::size_t bytes = 0;
  EngineStatus status = EngineStatus::done;
};

// An NSS key log line: "LABEL <client_random hex> <secret hex>".
std::string nss_keylog_line(std::string_view label, std::span<const unsigned char> client_random,
                            std::span<const unsigned char> secret);

// What the core reports for an allocation failure: a LocalError whose
// detail starts with "out of memory" (the library's words may follow in
// parentheses). The core answers errc::out_of_memory for it where a call
// returns an Error (Connection::create).
LocalError out_of_memory_error(std::string_view library_detail = {});
bool is_out_of_memory(const Verdict& verdict);

// A callback of ours failed inside the library's C code, which cannot
// unwind: the exception is caught and noted, and the engine call that ran
// the callback reports `failed`, failure() then naming why()
// (EngineFailure::callback_failed).
// Reporting it allocates nothing (the texts are literals). Every adapter
// runs its callbacks' C++ code through run().
class CallbackFailure {
 public:
  // Runs `work`; on an exception notes "out of memory" (std::bad_alloc) or
  // `what_failed` (anything else) and returns `on_failure`.
  template <class Work, class R = std::invoke_result_t<Work&>>
    requires(!std::is_void_v<R>)
  R run(const char* what_failed, Work&& work, R on_failure = R()) noexcept {
    try {
      return work();
    } catch (const std::bad_alloc&) {
      note("out of memory");
    } catch (...) {
      note(what_failed);
    }
    return on_failure;
  }
  // The same for work returning nothing: false if it failed.
  template <class Work>
    requires std::is_void_v<std::invoke_result_t<Work&>>
  bool run(const char* what_failed, Work&& work) noexcept {
    return run(what_failed, [&] { return work(), true; }, false);
  }
  // The first failure is the one reported.
  void note(const char* why) noexcept {
    if (!why_) why_ = why;
  }
  explicit operator bool() const noexcept { return why_ != nullptr; }
  const char* why() const noexcept { return why_; }

 private:
  const char* why_ = nullptr;
};

// What an engine saw when one of its calls failed: facts in lastbyte's
// classes, never a verdict. The adapter fills what its library tells (each
// field says what it means, not what it leads to); the core turns them into
// the one Verdict with policy::verdict_for_failure, so every backend decides
// in the same order. An adapter that corrects its library (a malformed alert
// the library reads as a real one, a class the contract names otherwise)
// corrects the facts, in its "corrections" section, never the verdict.
struct EngineFailure {
  // One of our callbacks failed inside the library: CallbackFailure::why().
  const char* callback_failed = nullptr;
  // An allocation failed, in the library or in the adapter around it, also
  // where the library went on or reported it under another name.
  bool out_of_memory = false;
  // The peer's fatal alert, when the library ended on receiving one.
  std::optional<Alert> alert_received = {};
  // The fatal alert this side sent about the failure, where the library
  // chose it (or the adapter sends one it chose). Not a table's fallback
  // for "no class": GnuTLS's internal_error for codes its table does not
  // list is sent but not reported here (docs/decisions.md).
  std::optional<Alert> alert_sent = {};
  // The library failed for reasons of its own (its internal error, a state
  // it should not reach): unrelated to the peer.
  bool library_internal = false;
  // What the check of the peer's certificate found wrong, during the
  // handshake (0: nothing, or no check ran).
  policy::CertificateFaults certificate_faults = 0;
  // A failed handshake's reason, where the library's error says more than
  // its alert (no cipher in common, no client certificate, ...).
  std::optional<RejectReason> handshake_reason = {};
  // The alert class of a protocol failure, where the library's error names
  // one (bad_record_mac for a failed tag, ...).
  std::optional<Alert> protocol_alert = {};
  // The library's words: its error text and code; the certificate check's.
  std::string detail = {};
  std::string certificate_detail = {};
};

namespace policy {
// The one verdict for an engine's failure. The order is the contract's, the
// same on every backend:
//   1. a callback of ours failed            -> LocalError{why}
//   2. an allocation failed                 -> LocalError{"out of memory ..."}
//      (before the peer's alert: after an allocation failure nothing the
//      library reports can be trusted, and docs/adversarial.md promises
//      LocalError for every one)
//   3. the peer's fatal alert arrived        -> PeerAlert{alert}
//   4. the library failed on its own, or sent internal_error ("unrelated to
//      the peer", RFC 8446 §6.2)           -> LocalError{detail}
//   during the handshake:
//   5. the certificate check found faults   -> HandshakeRejected{reason_for(faults)}
//   6. otherwise                            -> HandshakeRejected{handshake_reason,
//      else the reason class of the alert sent, else protocol}
//   after it:
//   7. protocol_alert, else the alert sent  -> ProtocolError{alert}
//   8. nothing to name it                   -> LocalError{detail}
Verdict verdict_for_failure(const EngineFailure& failure, bool during_handshake);
}  // namespace policy

// One TLS session of one library.
class Engine {
 public:
  virtual ~Engine() = default;

  virtual EngineStatus handshake() = 0;
  virtual EngineResult read(std::span<std::byte> out) = 0;
  virtual EngineResult write(std::span<const std::byte> plaintext) = 0;
  virtual EngineStatus send_close_notify() = 0;

  // Decrypted plaintext held by the library, not yet returned by read()
  // (curl's data_pending): SSL_pending, mbedtls_ssl_get_bytes_avail, ...
  virtual std::size_t pending_plaintext() const = 0;

  // The connection is idle: every record pull() gave was consumed, the
  // library holds no plaintext, nothing waits to be sent (the core calls it
  // only then, after the handshake, possibly many times in a row). Frees
  // the buffers the library keeps for records between them where it can;
  // the library allocates them again on the next record, and an allocation
  // failure then is reported as any other. Never fails.
  virtual void release_idle_buffers() = 0;

  virtual SessionInfo session_info() const = 0;

  // After EngineStatus::failed: what happened, as facts; the core decides
  // the verdict (policy::verdict_for_failure).
  virtual EngineFailure failure() const = 0;
};

// One library's configured context (SSL_CTX, mbedtls_ssl_config, ...), shared
// by many connections. Callbacks in the Config it was made from (keylog,
// on_new_session) are invoked from the engines it creates.
class EngineContext {
 public:
  virtual ~EngineContext() = default;
  virtual Expected<std::unique_ptr<Engine>> new_engine(EngineIo io,
                                                       const ConnectionOptions& options) = 0;
};

}  // namespace lastbyte
