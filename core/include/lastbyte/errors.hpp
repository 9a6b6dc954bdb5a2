// Misuse and configuration errors. These never describe the peer's behaviour:
// what the peer did ends up in the Verdict (verdict.hpp).
#pragma once

#include <string>
#include <system_error>

namespace lastbyte {

enum class errc {
  ok = 0,
  // API misuse on a Connection
  input_after_transport_end = 1,  // feed()/feed_eof()/feed_reset()/feed_transport_error() after the transport ended
  read_after_end,                 // read() after it already returned the end (see verdict())
  write_after_close,              // write() after close()
  write_after_end,                // write() after a verdict that forbids it
  write_after_peer_close_tls12,   // TLS 1.2 peer sent close_notify: RFC 5246 §7.2.1 forbids more data
  write_after_reset,              // write() after feed_reset()/feed_transport_error(): nothing reaches the peer
  close_during_handshake,         // close() before the handshake finished
  handshake_not_done,             // info() before the handshake finished
  input_overflow,                 // commit_input() beyond the space input_space() offered
  input_space_stale,              // commit_input() not right after the input_space() that offered the space
  output_overflow,                // consume_output() beyond output().size()
  empty_buffer,                   // read() with an empty span (an empty write() is a no-op)
  // Configuration and environment
  invalid_config,
  unsupported_by_backend,  // the backend's library build cannot do what the config asks
  unknown_backend,
  backend_failure,  // the TLS library refused the configuration (bad PEM, unreadable file, ...)
  out_of_memory,    // an allocation failed (the connection, if any, ended with LocalError)
  io_error,         // socket driver: the OS refused an operation
  timed_out,        // socket driver: deadline passed
};

const std::error_category& error_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace lastbyte

template <>
struct std::is_error_code_enum<lastbyte::errc> : std::true_type {};
