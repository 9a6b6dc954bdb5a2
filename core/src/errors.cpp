#include <lastbyte/errors.hpp>

namespace lastbyte {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "lastbyte"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "ok";
      case errc::input_after_transport_end:
        return "transport input after feed_eof()/feed_reset()/feed_transport_error(): the transport already ended";
      case errc::read_after_end:
        return "read() after the end of the stream was reported: consult verdict()";
      case errc::write_after_close: return "write() after close(): close_notify was already sent";
      case errc::write_after_reset:
        return "write() after feed_reset() or feed_transport_error(): the transport failed, nothing can reach the "
               "peer any more";
      case errc::write_after_end:
        return "write() after the stream ended with an error or truncation: consult verdict()";
      case errc::write_after_peer_close_tls12:
        return "write() after the peer's close_notify on TLS 1.2: RFC 5246 §7.2.1 ends both "
               "directions (TLS 1.3 allows half-close)";
      case errc::close_during_handshake:
        return "close() before the handshake finished: close the transport to abort instead";
      case errc::handshake_not_done: return "the handshake has not finished yet";
      case errc::input_overflow: return "commit_input() of more bytes than input_space() offered";
      case errc::input_space_stale:
        return "commit_input() without a fresh input_space(): the space it offered is stale after any other call "
               "that touches the connection (feed, read, write, handshake, close, feed_eof/reset, release_buffers); "
               "call input_space() right before receiving into it";
      case errc::output_overflow: return "consume_output() of more bytes than output() holds";
      case errc::empty_buffer: return "read() with an empty buffer";
      case errc::invalid_config: return "invalid configuration";
      case errc::unsupported_by_backend: return "unsupported by this backend build";
      case errc::unknown_backend: return "unknown backend";
      case errc::backend_failure: return "the TLS library refused the configuration";
      case errc::out_of_memory: return "out of memory: an allocation failed";
      case errc::io_error: return "transport I/O error";
      case errc::timed_out: return "timed out";
    }
    return "unknown lastbyte error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace lastbyte
