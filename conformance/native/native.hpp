// Native mode's one small interface: a TLS library driven directly through
// its own I/O hook, without lastbyte's record gate, the way an application
// drives it over a socket. Each backend implements it for its library in
// backends/<name>/direct/<name>_native.cpp (registered by
// lastbyte_add_direct_driver, cmake/LastbyteBackends.cmake) as
// `const Library& <name>()` in this namespace; it includes that library's
// headers, never an adapter's.
#pragma once

#include <lastbyte/conformance/harness.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lastbyte::conformance::native {

// The socket a session reads from and writes to. It holds what the peer's
// transport delivered so far and how that transport ended; each library's
// hook turns its answer into that library's own convention (OpenSSL's retry
// flag, MBEDTLS_ERR_SSL_WANT_READ, WOLFSSL_CBIO_ERR_CONN_CLOSE, ...).
class Socket {
 public:
  enum class Answer {
    data,         // `bytes` copied
    would_block,  // nothing now, the stream is open
    eof,          // the transport ended (FIN): recv() returned 0
    reset,        // the transport was reset (RST): recv() failed with ECONNRESET
    zero,         // nothing now, and the hook says 0 where it should say "would block"
  };
  struct Receive {
    std::size_t bytes = 0;
    Answer answer = Answer::would_block;
  };

  // What recv() would say now; counts the call.
  Receive receive(std::span<std::byte> out);
  // The application is about to call the library (the zero guard counts per call).
  void begin_call() { zeros_in_a_row_ = 0; }
  void send(std::span<const std::byte> bytes) { sent_.insert(sent_.end(), bytes.begin(), bytes.end()); }

  void arrive(std::span<const std::byte> bytes) { arrived_.insert(arrived_.end(), bytes.begin(), bytes.end()); }
  void end(TransportEnd end) { end_ = end; }
  TransportEnd ended() const { return end_; }
  // The hook returns 0 where it would block (a callback author's mistake
  // each library reads its own way).
  void set_zero_when_empty(bool on) { zero_when_empty_ = on; }

  std::size_t receive_calls() const { return receive_calls_; }
  std::size_t consumed() const { return consumed_; }
  std::size_t unread() const { return arrived_.size() - consumed_; }
  // Everything the library sent, and how much of it was moved to the peer.
  const Bytes& sent() const { return sent_; }
  std::span<const std::byte> take_sent();
  // A library that keeps calling a hook that answers 0 would spin forever:
  // after this many zeros in one call the hook says "would block" instead.
  static constexpr int zero_limit = 64;
  bool spun() const { return spun_; }

 private:
  Bytes arrived_, sent_;
  std::size_t consumed_ = 0, sent_taken_ = 0, receive_calls_ = 0;
  TransportEnd end_ = TransportEnd::none;
  bool zero_when_empty_ = false;
  int zeros_in_a_row_ = 0;
  bool spun_ = false;
};

// What one call into the library returned, in the library's own words.
struct Result {
  enum class Kind {
    data,         // `bytes` of plaintext (read), bytes accepted (write), handshake done
    would_block,  // the library asks for more transport input (or output room); `code` says
                  // whether the socket was still readable
    other,        // anything else: an end, an error, a 0 return
  } kind = Kind::other;
  std::size_t bytes = 0;
  std::string code = {};  // e.g. "SSL_ERROR_ZERO_RETURN", "MBEDTLS_ERR_SSL_CONN_EOF", "GNUTLS_E_PREMATURE_TERMINATION"
};

// The library's counters, as an application would call them.
struct Pending {
  std::size_t plaintext = 0;    // SSL_pending, mbedtls_ssl_get_bytes_avail, wolfSSL_pending, gnutls_record_check_pending
  std::optional<bool> records;  // SSL_has_pending, mbedtls_ssl_check_pending; nullopt: the library has no such call
};

// How a client checks the server's certificate: with what each library does
// when the application makes no call, or with the library's own opt-ins.
enum class Verify { library_default, chain, chain_and_name };

struct Options {
  Role role = Role::client;
  TlsVersion version = TlsVersion::tls1_3;
  Verify verify = Verify::chain_and_name;
  std::string server_name = "server.test";  // client: SNI where the library sets it apart, and the checked name
  std::string ca_pem;                       // client: trust anchors (loaded in every Verify mode)
  std::string cert_pem, key_pem;            // server: chain and key
};

class Session {
 public:
  virtual ~Session() = default;
  // data: the handshake is done.
  virtual Result handshake() = 0;
  virtual Result read(std::span<std::byte> out) = 0;
  virtual Result write(std::span<const std::byte> plaintext) = 0;
  virtual Result shutdown() = 0;  // sends close_notify
  virtual Pending pending() const = 0;
  // Tickets the library surfaced through its session callback.
  virtual int sessions_surfaced() const = 0;
  // The library's own certificate verdict after the handshake (accepted or
  // not), e.g. "X509_V_ERR_HOSTNAME_MISMATCH"; empty when it has none.
  virtual std::string verification() const = 0;
};

struct Library {
  std::string_view name;  // as the lastbyte backend for this library is named
  std::string_view title;  // "OpenSSL"
  std::string (*version)();  // as linked
  bool (*supports)(TlsVersion version);
  std::string_view read_call;        // "SSL_read_ex"
  std::string_view pending_calls;    // what Pending was read with
  std::string_view verify_calls[3];  // what each Verify mode calls
  // Throws std::runtime_error if the library refuses the configuration.
  std::unique_ptr<Session> (*create)(const Options& options, Socket& socket);
};

// Every library native mode was built with (generated at configure time).
std::span<const Library* const> libraries();

// "3.0" from "OpenSSL 3.0.19 27 Jan 2026": the series a table names.
std::string series(std::string_view version);

}  // namespace lastbyte::conformance::native
