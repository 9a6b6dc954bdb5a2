// The decrypt-pending contract (C1–C10), written once for every backend.
#include "context_impl.hpp"
#include "queues.hpp"

#include <lastbyte/connection.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>

#include <algorithm>
#include <new>

namespace lastbyte {
namespace {

IoResult refused(errc e) { return {0, IoStatus::refused, make_error_code(e)}; }
IoResult blocked() { return {0, IoStatus::blocked, {}}; }
IoResult moved(std::size_t n) { return {n, IoStatus::ok, {}}; }
IoResult ended() { return {0, IoStatus::end, {}}; }

enum class Transport { open, eof, reset, failed };  // failed: an EOF or a reset, the caller cannot tell

// Room kept free in the outbound queue for records a library sends without
// a write() to budget them: a KeyUpdate answer (27 bytes), a fatal alert
// (TLS 1.2: 31), our close_notify (31). Application data never uses it, so
// the queue never grows past its capacity because of them.
constexpr std::size_t control_reserve = 128;

// "out of memory" fits in std::string's small buffer: reporting an
// allocation failure allocates nothing.
LocalError out_of_memory() { return LocalError{"out of memory"}; }

}  // namespace

LocalError out_of_memory_error(std::string_view library_detail) {
  if (library_detail.empty()) return out_of_memory();
  return LocalError{.detail = "out of memory (" + std::string(library_detail) + ")"};
}

bool is_out_of_memory(const Verdict& verdict) {
  const auto* local = std::get_if<LocalError>(&verdict);
  return local && local->detail.starts_with(out_of_memory().detail);
}

struct Connection::Impl {
  Impl(std::shared_ptr<const Context::Impl> ctx, Role r)
      : context(std::move(ctx)), role(r), in(context->config.inbound_capacity), out(context->config.outbound_capacity) {}

  std::shared_ptr<const Context::Impl> context;
  Role role;
  detail::InboundQueue in;
  detail::OutboundQueue out;
  std::unique_ptr<Engine> engine;

  Transport transport = Transport::open;
  bool handshake_done = false;
  bool local_closed = false;     // our close_notify was handed to the engine
  bool close_notify_sealed = false;  // ... and the engine put it in the outbound queue, last
  bool close_requested = false;  // close() while held plaintext waits: close_notify follows it
  bool peer_closed = false;
  bool end_reported = false;
  // The peer's close_notify, reported by the engine while fill() had bytes
  // for the caller: recorded by the next read(), so that the caller acts on
  // the bytes first, as it would have with one record per read() (a TLS
  // 1.2 server answers a request its client's close_notify follows).
  std::optional<EngineStatus> deferred_end;
  TlsVersion version = TlsVersion::tls1_3;
  std::optional<record::Sealing> sealing;  // the negotiated suite's, once the handshake is done
  std::optional<Verdict> verdict;
  std::optional<errc> outbound_failure;  // after CloseNotify or Truncated: writing or closing failed on our side
  // Plaintext write() accepted that is not sealed yet: written before the
  // handshake finished, and sealed as the outbound queue makes room (C10).
  std::vector<std::byte> held;
  std::size_t held_sealed = 0;  // bytes of `held` already handed to the engine
  // input_space() offers room until the next call that may move the queue.
  std::size_t offered_space = 0;
  bool offer_valid = false;

  const Config& config() const { return context->config; }

  void finish(Verdict v) {
    if (!verdict) {
      verdict = std::move(v);
      return;
    }
    // The peer's stream ended (cleanly, or by a FIN) and its verdict stays;
    // our direction may still be sealing (can_seal). A failure now is our
    // side's, and the calls that use it say so: write() and close() (our
    // close_notify may never reach the peer), and nothing more is sealed.
    // Another transport end after a FIN is no such failure.
    bool ours_still_open = std::holds_alternative<CloseNotify>(*verdict) || std::holds_alternative<Truncated>(*verdict);
    bool same_end = v.index() == verdict->index() || std::holds_alternative<Reset>(v);
    if (ours_still_open && !same_end && !outbound_failure)
      outbound_failure = is_out_of_memory(v) ? errc::out_of_memory : errc::write_after_end;
  }

  // Every call but commit_input() and the output side may move or reuse the
  // inbound queue's free space, so an offer does not survive it.
  void invalidate_offer() {
    offer_valid = false;
    offered_space = 0;
  }

  // The engine consumed every complete record and wants more: either the
  // transport is still open (wait), or this is the end (C3, C4, C8).
  void on_input_exhausted() {
    if (const auto& gate = in.gate_verdict()) return finish(*gate);
    if (transport == Transport::open) return;
    std::uint64_t leftover = in.unconsumed();
    if (transport == Transport::reset || transport == Transport::failed)
      return finish(Reset{.leftover_bytes = leftover,
                          .during_handshake = !handshake_done,
                          .eof_or_reset = transport == Transport::failed});
    finish(Truncated{leftover, !handshake_done, handshake_done && config().accept_truncation});
  }

  void on_peer_close_notify() {
    // A close_notify before the handshake finished ends a stream that never
    // authenticated: never a clean close (C4), whatever the library thinks.
    if (!handshake_done) return finish(PeerAlert{Alert::close_notify});
    peer_closed = true;
    finish(CloseNotify{in.unconsumed()});
    in.discard_all();
    // RFC 5246 §7.2.1: a TLS 1.2 peer's close_notify must be answered at
    // once; bytes write() already accepted go first (C10).
    if (version == TlsVersion::tls1_2) request_close();
  }

  // After an engine call that began with `queued` bytes of output: when it
  // ended the connection for want of memory (the library's report, a
  // callback's, or EngineIo's), what the library queued during it is not
  // sent. It may be wrong: OpenSSL 3.0 sends an empty Certificate when it
  // cannot allocate to check its own key, and an alert under half-changed
  // keys. The peer sees the transport end instead.
  void withhold_output_on_oom(std::size_t queued) {
    if ((verdict && is_out_of_memory(*verdict)) || outbound_failure == errc::out_of_memory) out.truncate(queued);
  }

  void on_engine_status(EngineStatus status) {
    switch (status) {
      case EngineStatus::done: break;
      case EngineStatus::want_input: on_input_exhausted(); break;
      case EngineStatus::peer_closed: on_peer_close_notify(); break;
      case EngineStatus::failed: finish(engine_failure()); break;
    }
  }

  // EngineIo could not allocate during the last engine call: the library's
  // idea of the wire is wrong now, whatever it reported.
  bool io_failed() {
    if (!in.allocation_failed() && !out.allocation_failed()) return false;
    finish(out_of_memory());
    return true;
  }

  void advance_handshake() {
    std::size_t queued = out.size();
    EngineStatus status = engine->handshake();
    if (io_failed()) return withhold_output_on_oom(queued);
    if (status == EngineStatus::done) return on_handshake_done();
    on_engine_status(status);
    withhold_output_on_oom(queued);
  }

  // The engine reports what happened; the verdict is the core's (C4: the
  // same facts end the same way on every backend).
  Verdict engine_failure() const { return policy::verdict_for_failure(engine->failure(), !handshake_done); }

  void on_handshake_done() {
    SessionInfo info = engine->session_info();  // may throw (no memory): then nothing below has changed
    version = info.version;
    bool tls13 = version == TlsVersion::tls1_3;
    sealing = record::sealing(tls13, info.cipher);
    // The record gate's phase is what EngineIo::handshake_done() reads: both
    // flags turn together.
    in.set_policy({.phase = tls13 ? detail::RecordPolicy::Phase::tls13 : detail::RecordPolicy::Phase::tls12,
                   .sealing = sealing,
                   .server = role == Role::server});
    handshake_done = true;
    seal_held();
  }

  // ---- the write side (C10) ----

  std::optional<errc> write_refusal() const {
    if (outbound_failure) return outbound_failure;
    if (peer_closed && version == TlsVersion::tls1_2) return errc::write_after_peer_close_tls12;
    if (local_closed || close_requested) return errc::write_after_close;
    if (transport == Transport::reset || transport == Transport::failed) return errc::write_after_reset;
    if (verdict && !std::holds_alternative<CloseNotify>(*verdict)) return errc::write_after_end;
    return std::nullopt;
  }

  // Whether held bytes (accepted earlier) can still be sealed: also after
  // close() (close_notify follows them) and after Truncated, whose FIN ends
  // only the peer's direction; not once our close_notify is out, the
  // transport is reset, the session failed or our side could not write
  // (then unsent() counts them).
  bool can_seal() const {
    if (!handshake_done || local_closed || outbound_failure || transport == Transport::reset ||
        transport == Transport::failed)
      return false;
    return !verdict || std::holds_alternative<CloseNotify>(*verdict) || std::holds_alternative<Truncated>(*verdict);
  }

  // The most plaintext, up to `wanted`, whose records fit in the outbound
  // queue below its capacity once sealed; 0 unless a whole record's worth
  // (or all of `wanted`, if less) fits, so that back-pressure never makes
  // the library cut small records.
  std::size_t write_budget(std::size_t wanted) const {
    std::size_t limit = out.capacity() - control_reserve;
    if (out.size() >= limit) return 0;
    std::size_t room = limit - out.size();
    // Unknown suite: the largest expansion TLS allows a record.
    std::size_t per_record = record::header_size + (sealing ? sealing->overhead() : 256);
    std::size_t whole = room / (record::max_plaintext + per_record);
    std::size_t rest = room % (record::max_plaintext + per_record);
    std::size_t budget = whole * record::max_plaintext + (rest > per_record ? rest - per_record : 0);
    budget = std::min(budget, wanted);
    return budget < std::min(wanted, record::max_plaintext) ? 0 : budget;
  }

  // Hands `plaintext` to the engine until it took all of it or stops taking
  // (an engine write may be partial: Mbed TLS seals one record per call).
  std::size_t seal(std::span<const std::byte> plaintext) {
    std::size_t done = 0;
    while (done < plaintext.size()) {
      std::size_t queued = out.size();
      EngineResult r = engine->write(plaintext.subspan(done));
      done += r.bytes;
      bool io_failure = io_failed();
      if (io_failure || r.status == EngineStatus::failed) {
        if (!io_failure) finish(engine_failure());
        withhold_output_on_oom(queued);
        break;
      }
      if (r.bytes == 0) break;
    }
    return done;
  }

  // Seals held plaintext as far as the outbound queue has room, then sends
  // a close_notify that was waiting for it.
  void seal_held() {
    while (held_sealed < held.size() && can_seal()) {
      std::size_t n = write_budget(held.size() - held_sealed);
      if (n == 0) break;
      std::size_t done = seal(std::span(held).subspan(held_sealed, n));
      held_sealed += done;
      if (done < n) break;
    }
    if (held_sealed == held.size() && !held.empty()) {
      held = {};  // frees it: only writes made before the handshake are held
      held_sealed = 0;
    }
    if (held.empty() && close_requested && !local_closed && handshake_done) send_close_notify();
  }

  void request_close() {
    close_requested = true;
    seal_held();
  }

  void send_close_notify() {
    local_closed = true;
    std::size_t queued = out.size();
    EngineStatus status = engine->send_close_notify();
    bool failed = io_failed();
    if (!failed && status == EngineStatus::failed) finish(engine_failure());
    close_notify_sealed = !failed && status != EngineStatus::failed;
    withhold_output_on_oom(queued);
    // Whatever the library still sends after it is dropped (queues.hpp).
    out.end_stream();
  }

  IoResult hold(std::span<const std::byte> plaintext) {
    std::size_t room = config().outbound_capacity - std::min(config().outbound_capacity, held.size() - held_sealed);
    std::size_t n = std::min(room, plaintext.size());
    if (n == 0) return blocked();
    held.insert(held.end(), plaintext.begin(), plaintext.begin() + n);
    return moved(n);
  }

  IoResult write(std::span<const std::byte> plaintext) {
    if (auto refusal = write_refusal()) return refused(*refusal);
    if (plaintext.empty()) return moved(0);  // a no-op on every backend (W04)
    if (!handshake_done) {
      if (!verdict) advance_handshake();
      if (verdict) return ended();
      if (!handshake_done) return hold(plaintext);
    }
    seal_held();
    if (held_sealed < held.size()) return blocked();  // earlier bytes go first
    std::size_t n = write_budget(plaintext.size());
    if (n == 0) return blocked();
    std::size_t done = seal(plaintext.first(n));
    if (verdict && !std::holds_alternative<CloseNotify>(*verdict)) return ended();
    if (outbound_failure) return refused(*outbound_failure);
    return done > 0 ? moved(done) : blocked();
  }

  // ---- idle connections (issue 13) ----

  // Nothing received unread, nothing waiting to be sent, nothing held: the
  // queues give their storage back (to the thread's block cache) and the
  // library frees its record buffers where it can, so that an idle
  // connection costs its session state only. Both come back with the next
  // bytes, from the cache and not from malloc for the queues. Checked after
  // every read() and consume_output(), the two calls after which a
  // connection may go quiet; a burst of records (fed before they are read)
  // never drains the queue between them, so it allocates nothing per
  // record. The core has no clock: it cannot tell a pause between records
  // from idleness, and an idle connection gets no call to act on later.
  // `keep_offer`: an input_space() offer survives the output side's calls.
  void park_if_idle(bool keep_offer) {
    if (config().keep_buffers_when_idle || !handshake_done) return;
    if (in.unconsumed() != 0 || !out.empty() || held_sealed < held.size()) return;
    if (engine->pending_plaintext() > 0) return;
    if (!(keep_offer && offer_valid)) in.release();
    out.release();
    engine->release_idle_buffers();
  }

  // ---- the read side ----

  // read() fills the caller's buffer across records: a loop that calls it
  // once per iteration (issue 13) gets every complete record's plaintext,
  // not one record's. What ends the stream is left to the next read().
  std::size_t fill(std::span<std::byte> plaintext, std::size_t got) {
    while (got < plaintext.size() && !verdict) {
      std::size_t queued = out.size();
      auto more = engine->read(plaintext.subspan(got));
      if (io_failed()) {
        withhold_output_on_oom(queued);
        break;
      }
      got += more.bytes;
      if (more.bytes > 0) continue;
      // A failure is recorded now: the library already queued its alert,
      // and no write() or close() may follow it (C4, C6, C10). Only the
      // peer's close_notify waits for the next read().
      if (more.status == EngineStatus::peer_closed) deferred_end = more.status;
      if (more.status == EngineStatus::failed) {
        on_engine_status(more.status);
        withhold_output_on_oom(queued);
      }
      break;  // want_input and done: the next read() asks the engine again
    }
    return got;
  }

  IoResult read(std::span<std::byte> plaintext) {
    if (end_reported) return refused(errc::read_after_end);
    if (plaintext.empty()) return refused(errc::empty_buffer);
    if (deferred_end) on_engine_status(*std::exchange(deferred_end, std::nullopt));
    if (!verdict && !handshake_done) advance_handshake();
    while (!verdict && handshake_done) {
      std::size_t queued = out.size();
      auto result = engine->read(plaintext);
      if (io_failed()) {
        withhold_output_on_oom(queued);
        break;
      }
      if (result.bytes > 0) return moved(fill(plaintext, result.bytes));
      if (result.status == EngineStatus::done) return blocked();
      on_engine_status(result.status);
      withhold_output_on_oom(queued);
      if (result.status == EngineStatus::want_input && !verdict) return blocked();
    }
    if (!verdict) return blocked();
    end_reported = true;
    return ended();
  }
};

namespace {

// Runs one public operation; an allocation that fails inside it (the
// core's or a callback's) ends the connection with LocalError instead of
// escaping as an exception.
template <class F, class R = std::invoke_result_t<F>>
R guarded(Connection::Impl& s, F&& operation, R if_out_of_memory) noexcept {
  std::size_t queued = s.out.size();
  try {
    return operation();
  } catch (const std::bad_alloc&) {
    s.finish(out_of_memory());
    s.withhold_output_on_oom(queued);
    return if_out_of_memory;
  }
}

}  // namespace

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Expected<Connection> Connection::create(const Context& context, ConnectionOptions options) try {
  const Config& config = context.config();
  if (options.server_name.empty()) options.server_name = config.server_name;
  if (config.role == Role::client && options.server_name.empty() &&
      !config.dangerously_disable_certificate_verification)
    return Error{errc::invalid_config,
                 "a client verifies the server's host name and needs one: set Config::server_name or "
                 "ConnectionOptions::server_name"};
  if (config.role == Role::client &&
      policy::classify_server_name(options.server_name).kind == policy::ServerName::Kind::invalid)
    return Error{errc::invalid_config, "server name \"" + options.server_name +
                                           "\" is neither a host name (letters, digits, hyphens, underscores; dots "
                                           "between labels) nor an IP address"};
  auto impl = std::make_unique<Impl>(context.impl_, config.role);
  auto engine = context.impl_->engine->new_engine(EngineIo(impl->in, impl->out), options);
  if (!engine) return engine.error();
  impl->engine = std::move(*engine);
  if (config.role == Role::client) impl->advance_handshake();  // ClientHello into output()
  if (impl->verdict) {  // the library could not even start the handshake
    if (is_out_of_memory(*impl->verdict)) return Error{.code = errc::out_of_memory, .detail = {}};
    return Error{errc::backend_failure, "the TLS library could not start the handshake: " + describe(*impl->verdict)};
  }
  return Connection(std::move(impl));
} catch (const std::bad_alloc&) {
  return Error{errc::out_of_memory, {}};
}

// ---- transport side ---------------------------------------------------------

IoResult Connection::feed(std::span<const std::byte> ciphertext) {
  auto& s = *impl_;
  s.invalidate_offer();
  if (s.transport != Transport::open) return refused(errc::input_after_transport_end);
  if (s.verdict) {
    // Bytes after close_notify are ignored but counted (R10, R11).
    if (auto* closed = std::get_if<CloseNotify>(&*s.verdict)) closed->ignored_bytes += ciphertext.size();
    return moved(ciphertext.size());
  }
  return guarded(s, [&] {
    std::size_t n = s.in.append(ciphertext);
    return n > 0 || ciphertext.empty() ? moved(n) : blocked();
  }, refused(errc::out_of_memory));
}

std::span<std::byte> Connection::input_space() {
  auto& s = *impl_;
  s.invalidate_offer();
  if (s.transport != Transport::open || s.verdict) return {};
  auto space = guarded(s, [&] { return s.in.space(); }, std::span<std::byte>{});
  s.offered_space = space.size();
  s.offer_valid = !space.empty();
  return space;
}

std::error_code Connection::commit_input(std::size_t n) {
  auto& s = *impl_;
  if (s.transport != Transport::open) return errc::input_after_transport_end;
  if (n == 0) return {};
  if (!s.offer_valid) return errc::input_space_stale;
  if (n > s.offered_space) return errc::input_overflow;
  s.in.commit(n);
  s.offered_space -= n;
  return {};
}

void Connection::cancel_input() {
  impl_->invalidate_offer();
  impl_->park_if_idle(/*keep_offer=*/false);
}

std::error_code Connection::feed_eof() {
  impl_->invalidate_offer();
  if (impl_->transport != Transport::open) return errc::input_after_transport_end;
  impl_->transport = Transport::eof;
  return {};
}

std::error_code Connection::feed_reset() {
  impl_->invalidate_offer();
  if (impl_->transport != Transport::open) return errc::input_after_transport_end;
  impl_->transport = Transport::reset;
  return {};
}

std::error_code Connection::feed_transport_error() {
  impl_->invalidate_offer();
  if (impl_->transport != Transport::open) return errc::input_after_transport_end;
  impl_->transport = Transport::failed;
  return {};
}

std::span<const std::byte> Connection::output() const { return impl_->out.pending(); }

std::error_code Connection::consume_output(std::size_t n) {
  auto& s = *impl_;
  if (n > s.out.size()) return errc::output_overflow;
  s.out.consume(n);
  // Room was made: seal what write() accepted while the queue was full.
  guarded(s, [&] { return (s.seal_held(), 0); }, 0);
  s.park_if_idle(/*keep_offer=*/true);
  return {};
}

// ---- application side -------------------------------------------------------

IoResult Connection::handshake() {
  auto& s = *impl_;
  s.invalidate_offer();
  return guarded(s, [&] {
    if (!s.verdict && !s.handshake_done) s.advance_handshake();
    if (s.handshake_done) return moved(0);
    return s.verdict ? ended() : blocked();
  }, ended());
}

IoResult Connection::read(std::span<std::byte> plaintext) {
  auto& s = *impl_;
  s.invalidate_offer();
  IoResult result = guarded(s, [&] { return s.read(plaintext); }, blocked());
  s.park_if_idle(/*keep_offer=*/false);
  return result;
}

IoResult Connection::write(std::span<const std::byte> plaintext) {
  auto& s = *impl_;
  s.invalidate_offer();
  return guarded(s, [&] { return s.write(plaintext); }, ended());
}

// Reports (also when called again) that our close_notify could not be
// sent after the peer's: the peer may then see a truncated stream.
std::error_code Connection::close() {
  auto& s = *impl_;
  s.invalidate_offer();
  if (s.local_closed || s.close_requested) return s.outbound_failure ? *s.outbound_failure : std::error_code{};
  if (s.verdict && !std::holds_alternative<CloseNotify>(*s.verdict)) return {};  // nothing left to close
  if (!s.handshake_done) return errc::close_during_handshake;
  guarded(s, [&] { return (s.request_close(), 0); }, 0);
  return s.outbound_failure ? *s.outbound_failure : std::error_code{};
}

bool Connection::release_buffers() {
  auto& s = *impl_;
  s.invalidate_offer();
  if (s.in.unconsumed() != 0 || !s.out.empty()) return false;
  s.in.release();
  s.out.release();
  // Never while the library holds plaintext: OpenSSL before 3.0.14 freed a
  // buffer still in use (CVE-2024-4741).
  if (s.handshake_done && s.engine->pending_plaintext() == 0) s.engine->release_idle_buffers();
  return true;
}

std::size_t Connection::queue_storage_bytes() const {
  return impl_->in.storage_bytes() + impl_->out.storage_bytes();
}

Wants Connection::wants() const {
  const auto& s = *impl_;
  Wants w;
  w.handshake_done = s.handshake_done;
  w.output = !s.out.empty();
  w.close_sent = s.close_notify_sealed && s.out.empty();
  if (s.end_reported) return w;
  w.read_now = s.verdict.has_value() || s.deferred_end || s.transport != Transport::open || s.in.record_ready() ||
               (s.handshake_done && s.engine->pending_plaintext() > 0);
  w.transport_input = s.transport == Transport::open && !s.verdict && s.in.accepts_input();
  return w;
}

const std::optional<Verdict>& Connection::verdict() const { return impl_->verdict; }

Expected<SessionInfo> Connection::info() const try {
  if (!impl_->handshake_done) return Error{errc::handshake_not_done, "info() is known once wants().handshake_done"};
  auto info = impl_->engine->session_info();
  info.backend = impl_->context->backend->name;
  return info;
} catch (const std::bad_alloc&) {
  return Error{errc::out_of_memory, {}};
}

Role Connection::role() const { return impl_->role; }

std::size_t Connection::unsent() const { return impl_->held.size() - impl_->held_sealed; }

}  // namespace lastbyte
