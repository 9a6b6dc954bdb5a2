// lastbyte::asio::stream<NextLayer>: a lastbyte Connection as a standalone
// Asio stream (libasio-dev, header-only; include <asio.hpp> first or let
// this header do it). It satisfies AsyncReadStream and AsyncWriteStream
// (asio::async_read, asio::async_write, coroutines with use_awaitable),
// and SyncReadStream / SyncWriteStream, on whatever backend the
// Connection's Context was made with (Asio's own ssl::stream is OpenSSL
// only).
//
// The end of the stream is the Connection's verdict, mapped to an error:
//   CloseNotify         -> asio::error::eof (a clean end, as ssl::stream)
//   Truncated           -> lastbyte::asio::error::stream_truncated (as
//                          asio::ssl::error::stream_truncated: EOF without
//                          close_notify; never a clean end)
//   Reset               -> asio::error::connection_reset
//   PeerAlert, ProtocolError, HandshakeRejected, LocalError
//                       -> lastbyte::asio::error::{peer_alert, ...};
//                          connection().verdict() has the details.
// Every byte received before the end is returned first (C1).
//
// Threading and concurrency, as asio::ssl::stream: one strand (or one
// thread) drives the stream; at most one read operation (async_read_some,
// async_handshake) and one write operation (async_write_some,
// async_shutdown) are outstanding at a time, and a read and a write may be
// outstanding together (the stream lets one of them send the Connection's
// output to the next layer at a time). async_shutdown sends our
// close_notify, after every byte written, and completes once it left for
// the next layer; read until eof to see the peer's.
#pragma once

#include <lastbyte/connection.hpp>

#include <asio.hpp>

#include <array>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace lastbyte::asio {

enum class error {
  stream_truncated = 1,  // the transport ended without close_notify (Truncated)
  peer_alert,            // the peer sent a fatal alert
  protocol_error,        // the peer broke the protocol
  handshake_rejected,    // certificate, version, cipher or ALPN refused
  local_error,           // our side failed (out of memory, the library)
  misuse,                // an operation the Connection refused (see connection())
};

inline const std::error_category& category() {
  struct category_impl final : std::error_category {
    const char* name() const noexcept override { return "lastbyte.asio"; }
    std::string message(int value) const override {
      switch (static_cast<error>(value)) {
        case error::stream_truncated: return "stream truncated: the transport ended without close_notify";
        case error::peer_alert: return "the peer sent a fatal alert";
        case error::protocol_error: return "the peer broke the TLS protocol";
        case error::handshake_rejected: return "the handshake was rejected";
        case error::local_error: return "the TLS connection failed on our side";
        case error::misuse: return "the connection refused the operation";
      }
      return "unknown lastbyte.asio error";
    }
  };
  static const category_impl instance;
  return instance;
}

inline std::error_code make_error_code(error e) { return {static_cast<int>(e), category()}; }

// The error an operation ends with for a verdict (see the table above).
inline std::error_code error_for(const Verdict& verdict) {
  struct visitor {
    std::error_code operator()(const CloseNotify&) const { return ::asio::error::eof; }
    std::error_code operator()(const Truncated&) const { return make_error_code(error::stream_truncated); }
    std::error_code operator()(const Reset&) const { return ::asio::error::connection_reset; }
    std::error_code operator()(const PeerAlert&) const { return make_error_code(error::peer_alert); }
    std::error_code operator()(const ProtocolError&) const { return make_error_code(error::protocol_error); }
    std::error_code operator()(const HandshakeRejected&) const { return make_error_code(error::handshake_rejected); }
    std::error_code operator()(const LocalError&) const { return make_error_code(error::local_error); }
  };
  return std::visit(visitor{}, verdict);
}

namespace detail {

// What one attempt of an operation on the Connection came to.
struct attempt {
  enum { finished, blocked } state = blocked;
  std::error_code ec = {};
  std::size_t bytes = 0;
};

inline attempt from(const Connection& c, IoResult r) {
  switch (r.status) {
    case IoStatus::ok: return {attempt::finished, {}, r.bytes};
    case IoStatus::blocked: return {};
    case IoStatus::end: return {attempt::finished, c.verdict() ? error_for(*c.verdict()) : make_error_code(error::local_error), 0};
    case IoStatus::refused: break;
  }
  // Refused after the end: report the end again, as a socket would.
  if (c.verdict()) return {attempt::finished, error_for(*c.verdict()), 0};
  return {attempt::finished, make_error_code(error::misuse), 0};
}

template <class Buffers>
::asio::mutable_buffer first_mutable(const Buffers& buffers) {
  for (auto it = ::asio::buffer_sequence_begin(buffers); it != ::asio::buffer_sequence_end(buffers); ++it)
    if (::asio::mutable_buffer b(*it); b.size() > 0) return b;
  return {};
}

template <class Buffers>
::asio::const_buffer first_const(const Buffers& buffers) {
  for (auto it = ::asio::buffer_sequence_begin(buffers); it != ::asio::buffer_sequence_end(buffers); ++it)
    if (::asio::const_buffer b(*it); b.size() > 0) return b;
  return {};
}

}  // namespace detail

template <class NextLayer>
class stream {
 public:
  using next_layer_type = std::remove_reference_t<NextLayer>;
  using executor_type = typename next_layer_type::executor_type;

  // `connection` is made from a Context with the role and names this
  // stream needs; the stream owns it.
  template <class Arg>
  stream(Arg&& next_layer, Connection connection)
      : next_(std::forward<Arg>(next_layer)),
        conn_(std::move(connection)),
        sent_(next_.get_executor()),
        received_(next_.get_executor()) {
    sent_.expires_at(::asio::steady_timer::time_point::max());
    received_.expires_at(::asio::steady_timer::time_point::max());
  }

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() { return next_; }
  Connection& connection() { return conn_; }
  const Connection& connection() const { return conn_; }

  // ---- synchronous -----------------------------------------------------------
  void handshake(std::error_code& ec) { ec = run([](Connection& c) { return c.handshake(); }).ec; }
  void handshake() { throw_if(run([](Connection& c) { return c.handshake(); }).ec, "handshake"); }

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, std::error_code& ec) {
    auto b = detail::first_mutable(buffers);
    if (b.size() == 0) return ec = {}, 0;
    auto a = run([b](Connection& c) { return c.read({static_cast<std::byte*>(b.data()), b.size()}); });
    ec = a.ec;
    return a.bytes;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    std::error_code ec;
    std::size_t n = read_some(buffers, ec);
    throw_if(ec, "read_some");
    return n;
  }

  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, std::error_code& ec) {
    auto b = detail::first_const(buffers);
    if (b.size() == 0) return ec = {}, 0;
    auto a = run([b](Connection& c) { return c.write({static_cast<const std::byte*>(b.data()), b.size()}); });
    ec = a.ec;
    return a.bytes;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    std::error_code ec;
    std::size_t n = write_some(buffers, ec);
    throw_if(ec, "write_some");
    return n;
  }

  void shutdown(std::error_code& ec) { ec = run(close_operation()).ec; }
  void shutdown() { throw_if(run(close_operation()).ec, "shutdown"); }

  // ---- asynchronous ------------------------------------------------------------
  template <class Token>
  auto async_handshake(Token&& token) {
    return ::asio::async_compose<Token, void(std::error_code)>(
        operation<handshake_attempt, false>{*this, {}}, token, next_);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return ::asio::async_compose<Token, void(std::error_code, std::size_t)>(
        operation<read_attempt, true>{*this, {detail::first_mutable(buffers)}}, token, next_);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return ::asio::async_compose<Token, void(std::error_code, std::size_t)>(
        operation<write_attempt, true>{*this, {detail::first_const(buffers)}}, token, next_);
  }

  template <class Token>
  auto async_shutdown(Token&& token) {
    return ::asio::async_compose<Token, void(std::error_code)>(
        operation<close_attempt, false>{*this, {}}, token, next_);
  }

 private:
  struct handshake_attempt {
    IoResult operator()(Connection& c) const { return c.handshake(); }
  };
  struct read_attempt {
    ::asio::mutable_buffer buffer;
    IoResult operator()(Connection& c) const {
      if (buffer.size() == 0) return {.bytes = 0, .status = IoStatus::ok, .error = {}};
      return c.read({static_cast<std::byte*>(buffer.data()), buffer.size()});
    }
  };
  struct write_attempt {
    ::asio::const_buffer buffer;
    IoResult operator()(Connection& c) const {
      return c.write({static_cast<const std::byte*>(buffer.data()), buffer.size()});  // an empty write: ok, 0
    }
  };
  // close(), then "blocked" until our close_notify left output(): the
  // operation's loop sends the output meanwhile.
  struct close_attempt {
    bool requested = false;
    IoResult operator()(Connection& c) {
      if (!requested) {
        requested = true;
        if (auto e = c.close()) return {.bytes = 0, .status = IoStatus::refused, .error = e};
      }
      if (c.wants().close_sent) return {.bytes = 0, .status = IoStatus::ok, .error = {}};
      if (c.verdict() && !std::holds_alternative<CloseNotify>(*c.verdict()))
        return {.bytes = 0, .status = IoStatus::end, .error = {}};
      return {.bytes = 0, .status = IoStatus::blocked, .error = {}};
    }
  };
  static close_attempt close_operation() { return {}; }

  static void throw_if(const std::error_code& ec, const char* what) {
    if (ec) throw std::system_error(ec, what);
  }

  // The transport's bytes go through a buffer of the stream's own (one
  // copy): a read and a write may be outstanding together, and a write()
  // would invalidate the Connection's input_space() under a pending read.
  // What the inbound queue cannot take yet waits there.
  bool feed_received() {
    if (rx_begin_ == rx_end_) return false;
    auto r = conn_.feed({rx_.data() + rx_begin_, rx_end_ - rx_begin_});
    rx_begin_ += r.bytes;
    if (rx_begin_ == rx_end_) rx_begin_ = rx_end_ = 0;
    return r.bytes > 0;
  }
  // The transport's answer to a read: bytes, or the end (EOF, reset, or a
  // failure the stream cannot tell from them).
  void on_received(const std::error_code& ec, std::size_t n) {
    if (!ec) {
      rx_end_ = n;
      feed_received();
    } else if (ec == ::asio::error::eof) {
      (void)conn_.feed_eof();
    } else if (ec == ::asio::error::connection_reset) {
      (void)conn_.feed_reset();
    } else if (ec != ::asio::error::operation_aborted) {
      (void)conn_.feed_transport_error();
    }
  }
  // Blocked with nothing to send: more transport bytes are the only way on.
  bool can_receive() const { return rx_begin_ == rx_end_ && conn_.wants().transport_input; }

  // The synchronous loop: send what waits, try, read when blocked.
  template <class Attempt>
  detail::attempt run(Attempt attempt) {
    std::optional<detail::attempt> result;
    for (;;) {
      if (auto out = conn_.output(); !out.empty()) {
        std::error_code ec;
        std::size_t n = ::asio::write(next_, ::asio::buffer(out.data(), out.size()), ec);
        (void)conn_.consume_output(n);
        if (ec) return {detail::attempt::finished, ec, 0};
        continue;
      }
      if (result) return *result;  // once what it sealed was sent
      detail::attempt a = detail::from(conn_, attempt(conn_));
      if (a.state == detail::attempt::finished) {
        result = a;
        continue;
      }
      if (!conn_.output().empty() || feed_received()) continue;  // blocked on sending, or bytes wait
      if (!can_receive()) return {detail::attempt::finished, make_error_code(error::misuse), 0};
      std::error_code ec;
      std::size_t n = next_.read_some(::asio::buffer(rx_), ec);
      on_received(ec, n);
    }
  }

  // The asynchronous loop, one step per completion: the output is sent by
  // one operation at a time (`sending_`), receives likewise (`receiving_`); the
  // other operation waits on `sent_` / `received_`, cancelled when one completes.
  template <class Attempt, bool with_bytes>
  struct operation {
    stream& s;
    Attempt attempt;
    enum { start, sending, waiting, receiving, posted } state = start;
    std::optional<detail::attempt> result = {};

    template <class Self>
    void operator()(Self& self, std::error_code ec = {}, std::size_t n = 0) {
      // An operation never completes inside its initiating call (Asio's
      // rule; a coroutine awaiting it would be resumed while it suspends).
      bool initiating = state == start;
      switch (state) {
        case sending:
          (void)s.conn_.consume_output(n);
          s.sending_ = false;
          s.sent_.cancel();  // wakes the operation waiting to send
          if (ec) return finish(self, {detail::attempt::finished, ec, 0});
          break;
        case receiving:
          s.receiving_ = false;
          s.received_.cancel();  // wakes the operation waiting to receive
          s.on_received(ec, n);
          break;
        case posted:
          return finish(self, *result);
        case start:
        case waiting:
          break;
      }
      for (;;) {
        if (!s.conn_.output().empty()) {
          if (s.sending_) {  // the other operation is sending: wait for it
            state = waiting;
            return s.sent_.async_wait(std::move(self));
          }
          state = sending;
          s.sending_ = true;
          auto out = s.conn_.output();
          return ::asio::async_write(s.next_, ::asio::buffer(out.data(), out.size()), std::move(self));
        }
        if (result && initiating) {
          state = posted;
          return ::asio::post(s.next_.get_executor(), std::move(self));
        }
        if (result) return finish(self, *result);
        detail::attempt a = detail::from(s.conn_, attempt(s.conn_));
        if (a.state == detail::attempt::finished) {
          result = a;  // reported once what it sealed has been sent
          continue;
        }
        if (!s.conn_.output().empty() || s.feed_received()) continue;  // blocked on sending, or bytes wait
        if (s.receiving_) {  // the other operation is receiving: its bytes may unblock this one
          state = waiting;
          return s.received_.async_wait(std::move(self));
        }
        if (!s.can_receive()) {
          result = detail::attempt{detail::attempt::finished, make_error_code(error::misuse), 0};
          continue;
        }
        state = receiving;
        s.receiving_ = true;
        return s.next_.async_read_some(::asio::buffer(s.rx_), std::move(self));
      }
    }

    template <class Self>
    void finish(Self& self, const detail::attempt& a) {
      if constexpr (with_bytes) self.complete(a.ec, a.bytes);
      else self.complete(a.ec);
    }
  };

  NextLayer next_;
  Connection conn_;
  ::asio::steady_timer sent_, received_;  // cancelled whenever a send / a receive completes
  bool sending_ = false, receiving_ = false;
  std::array<std::byte, 16384 + 2048> rx_;  // one record and its header at least
  std::size_t rx_begin_ = 0, rx_end_ = 0;
};

}  // namespace lastbyte::asio

template <>
struct std::is_error_code_enum<lastbyte::asio::error> : std::true_type {};
