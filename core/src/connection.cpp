// The decrypt-pending contract (C1–C9), written once for every backend.
#include "context_impl.hpp"
#include "queues.hpp"

#include <lastbyte/connection.hpp>

#include <algorithm>

namespace lastbyte {
namespace {

IoResult refused(errc e) { return {0, IoStatus::refused, make_error_code(e)}; }
IoResult blocked() { return {0, IoStatus::blocked, {}}; }
IoResult moved(std::size_t n) { return {n, IoStatus::ok, {}}; }
IoResult ended() { return {0, IoStatus::end, {}}; }

enum class Transport { open, eof, reset };

}  // namespace

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
  bool local_closed = false;
  bool peer_closed = false;
  bool end_reported = false;
  TlsVersion version = TlsVersion::tls1_3;
  std::optional<Verdict> verdict;
  std::vector<std::byte> early_plaintext;  // written before the handshake finished
  std::size_t offered_space = 0;

  const Config& config() const { return context->config; }

  void finish(Verdict v) {
    if (!verdict) verdict = std::move(v);
  }

  // The engine consumed every complete record and wants more: either the
  // transport is still open (wait), or this is the end (C3, C4, C8).
  void on_input_exhausted() {
    if (const auto& gate = in.gate_error()) return finish(ProtocolError{gate->alert, gate->detail});
    if (transport == Transport::open) return;
    std::uint64_t leftover = in.unconsumed();
    if (transport == Transport::reset) return finish(Reset{leftover, !handshake_done});
    finish(Truncated{leftover, !handshake_done, handshake_done && config().accept_truncation});
  }

  void on_peer_close_notify() {
    peer_closed = true;
    finish(CloseNotify{in.unconsumed()});
    in.discard_all();
    // RFC 5246 §7.2.1: a TLS 1.2 peer's close_notify must be answered at once.
    if (handshake_done && version == TlsVersion::tls1_2 && !local_closed) {
      local_closed = true;
      engine->send_close_notify();
    }
  }

  void on_engine_status(EngineStatus status) {
    switch (status) {
      case EngineStatus::done: break;
      case EngineStatus::want_input: on_input_exhausted(); break;
      case EngineStatus::peer_closed: on_peer_close_notify(); break;
      case EngineStatus::failed: finish(engine->failure()); break;
    }
  }

  void advance_handshake() {
    EngineStatus status = engine->handshake();
    if (status == EngineStatus::done) return on_handshake_done();
    on_engine_status(status);
  }

  void on_handshake_done() {
    handshake_done = true;
    SessionInfo info = engine->session_info();
    version = info.version;
    in.set_policy(record_policy(info));
    if (early_plaintext.empty()) return;
    auto result = engine->write(early_plaintext);
    if (result.status == EngineStatus::failed) finish(engine->failure());
    early_plaintext = {};
  }

  detail::RecordPolicy record_policy(const SessionInfo& info) const {
    bool tls13 = info.version == TlsVersion::tls1_3;
    detail::RecordPolicy policy{record::aead_max_fragment(tls13, info.cipher)};
    if (tls13) {
      policy.empty_fragment = info.cipher.empty() ? 0 : record::tls13_aead_overhead;
      return policy;
    }
    if (auto overhead = record::tls12_aead_overhead(info.cipher)) {
      policy.alert_fragment = 2 + *overhead;
      policy.empty_fragment = *overhead;
    }
    policy.refuse_handshake_records = role == Role::server;
    return policy;
  }

  std::optional<errc> write_refusal() const {
    if (peer_closed && version == TlsVersion::tls1_2) return errc::write_after_peer_close_tls12;
    if (local_closed) return errc::write_after_close;
    if (verdict && !std::holds_alternative<CloseNotify>(*verdict)) return errc::write_after_end;
    return std::nullopt;
  }

  IoResult hold_early(std::span<const std::byte> plaintext) {
    std::size_t room = config().outbound_capacity - std::min(config().outbound_capacity, early_plaintext.size());
    std::size_t n = std::min(room, plaintext.size());
    if (n == 0) return blocked();
    early_plaintext.insert(early_plaintext.end(), plaintext.begin(), plaintext.begin() + n);
    return moved(n);
  }
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Expected<Connection> Connection::create(const Context& context, ConnectionOptions options) {
  const Config& config = context.config();
  if (options.server_name.empty()) options.server_name = config.server_name;
  if (config.role == Role::client && options.server_name.empty() &&
      !config.dangerously_disable_certificate_verification)
    return Error{errc::invalid_config,
                 "a client verifies the server's host name and needs one: set Config::server_name or "
                 "ConnectionOptions::server_name"};
  auto impl = std::make_unique<Impl>(context.impl_, config.role);
  auto engine = context.impl_->engine->new_engine(EngineIo(impl->in, impl->out), options);
  if (!engine) return engine.error();
  impl->engine = std::move(*engine);
  if (config.role == Role::client) impl->advance_handshake();  // ClientHello into output()
  return Connection(std::move(impl));
}

// ---- transport side ---------------------------------------------------------

IoResult Connection::feed(std::span<const std::byte> ciphertext) {
  auto& s = *impl_;
  if (s.transport != Transport::open) return refused(errc::input_after_transport_end);
  if (s.verdict) {
    // Bytes after close_notify are ignored but counted (R10, R11).
    if (auto* closed = std::get_if<CloseNotify>(&*s.verdict)) closed->ignored_bytes += ciphertext.size();
    return moved(ciphertext.size());
  }
  std::size_t n = s.in.append(ciphertext);
  return n > 0 || ciphertext.empty() ? moved(n) : blocked();
}

std::span<std::byte> Connection::input_space() {
  auto& s = *impl_;
  auto space = s.transport == Transport::open && !s.verdict ? s.in.space() : std::span<std::byte>{};
  s.offered_space = space.size();
  return space;
}

std::error_code Connection::commit_input(std::size_t n) {
  auto& s = *impl_;
  if (s.transport != Transport::open) return errc::input_after_transport_end;
  if (n > s.offered_space) return errc::input_overflow;
  s.in.commit(n);
  s.offered_space -= n;
  return {};
}

std::error_code Connection::feed_eof() {
  if (impl_->transport != Transport::open) return errc::input_after_transport_end;
  impl_->transport = Transport::eof;
  return {};
}

std::error_code Connection::feed_reset() {
  if (impl_->transport != Transport::open) return errc::input_after_transport_end;
  impl_->transport = Transport::reset;
  return {};
}

std::span<const std::byte> Connection::output() const { return impl_->out.pending(); }

std::error_code Connection::consume_output(std::size_t n) {
  if (n > impl_->out.size()) return errc::output_overflow;
  impl_->out.consume(n);
  return {};
}

// ---- application side -------------------------------------------------------

IoResult Connection::handshake() {
  auto& s = *impl_;
  if (!s.verdict && !s.handshake_done) s.advance_handshake();
  if (s.handshake_done) return moved(0);
  return s.verdict ? ended() : blocked();
}

IoResult Connection::read(std::span<std::byte> plaintext) {
  auto& s = *impl_;
  if (s.end_reported) return refused(errc::read_after_end);
  if (plaintext.empty()) return refused(errc::empty_buffer);
  if (!s.verdict && !s.handshake_done) s.advance_handshake();
  while (!s.verdict && s.handshake_done) {
    auto result = s.engine->read(plaintext);
    if (result.bytes > 0) return moved(result.bytes);
    if (result.status == EngineStatus::done) return blocked();
    s.on_engine_status(result.status);
    if (result.status == EngineStatus::want_input && !s.verdict) return blocked();
  }
  if (!s.verdict) return blocked();
  s.end_reported = true;
  return ended();
}

IoResult Connection::write(std::span<const std::byte> plaintext) {
  auto& s = *impl_;
  if (auto refusal = s.write_refusal()) return refused(*refusal);
  if (plaintext.empty()) return refused(errc::empty_buffer);
  if (!s.handshake_done) {
    if (!s.verdict) s.advance_handshake();
    if (s.verdict) return ended();
    if (!s.handshake_done) return s.hold_early(plaintext);
  }
  std::size_t queued = s.out.size();
  if (queued >= s.config().outbound_capacity) return blocked();
  std::size_t n = std::min(plaintext.size(), s.config().outbound_capacity - queued);
  auto result = s.engine->write(plaintext.first(n));
  if (result.status == EngineStatus::failed) {
    s.finish(s.engine->failure());
    return ended();
  }
  return result.bytes > 0 ? moved(result.bytes) : blocked();
}

std::error_code Connection::close() {
  auto& s = *impl_;
  if (s.local_closed) return {};
  if (s.verdict && !std::holds_alternative<CloseNotify>(*s.verdict)) return {};  // nothing left to close
  if (!s.handshake_done) return errc::close_during_handshake;
  s.local_closed = true;
  if (s.engine->send_close_notify() == EngineStatus::failed) s.finish(s.engine->failure());
  return {};
}

bool Connection::release_buffers() {
  auto& s = *impl_;
  if (s.in.unconsumed() != 0 || !s.out.empty()) return false;
  return s.in.release() && s.out.release();
}

Wants Connection::wants() const {
  const auto& s = *impl_;
  Wants w;
  w.handshake_done = s.handshake_done;
  w.output = !s.out.empty();
  if (s.end_reported) return w;
  w.read_now = s.verdict.has_value() || s.transport != Transport::open || s.in.record_ready() ||
               (s.handshake_done && s.engine->pending_plaintext() > 0);
  w.transport_input = s.transport == Transport::open && !s.verdict && s.in.room() > 0;
  return w;
}

const std::optional<Verdict>& Connection::verdict() const { return impl_->verdict; }

Expected<SessionInfo> Connection::info() const {
  if (!impl_->handshake_done) return Error{errc::handshake_not_done, "info() is known once wants().handshake_done"};
  auto info = impl_->engine->session_info();
  info.backend = impl_->context->backend->name;
  return info;
}

Role Connection::role() const { return impl_->role; }

}  // namespace lastbyte
