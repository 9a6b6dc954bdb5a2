// What every benchmark compares: one client/server pair in memory, driven
// either through lastbyte or through a TLS library's own API the way an
// experienced user of that library would write it. Same certificates (the
// test PKI's ECDSA P-256 leaf), same suite, same verification (chain and host
// name), same ticket settings on both sides.
#pragma once

#include <lastbyte/backend.hpp>
#include <lastbyte/config.hpp>
#include <lastbyte/connection.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::bench {

struct Suite {
  std::string_view label;  // used in benchmark names
  TlsVersion version;
  std::string_view iana;
};

inline constexpr Suite suites[] = {
    {"tls13_aes128gcm", TlsVersion::tls1_3, "TLS_AES_128_GCM_SHA256"},
    {"tls13_chacha20", TlsVersion::tls1_3, "TLS_CHACHA20_POLY1305_SHA256"},
    {"tls12_aes128gcm", TlsVersion::tls1_2, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
};

// One established connection pair, client -> server.
class Pipe {
 public:
  virtual ~Pipe() = default;
  // The client writes all of `data`, in writes of at most data.size() bytes;
  // the ciphertext is moved to the server, which reads until it has
  // data.size() bytes in `sink` (sized at least data.size()). false on error.
  virtual bool send(std::span<const std::byte> data, std::span<std::byte> sink) = 0;
  // The same, server -> client: the response of a request/response exchange.
  virtual bool reply(std::span<const std::byte> data, std::span<std::byte> sink) = 0;
  virtual bool resumed() const = 0;
  virtual std::string negotiated_cipher() const = 0;
  // Heap bytes of the in-memory "network" between the two sides (a BIO
  // pair's buffers, the callbacks' queues): a socket would not need them, so
  // the memory benchmark leaves them out. lastbyte's queues are its own and
  // count.
  virtual std::size_t transport_bytes() const { return 0; }
};

// Long-lived contexts (SSL_CTX, mbedtls_ssl_config, WOLFSSL_CTX, GnuTLS
// credentials and priorities, or lastbyte::Context) for one suite; connect() makes a fresh pair and runs the
// handshake to completion in memory, including the delivery of tickets.
class PipeFactory {
 public:
  virtual ~PipeFactory() = default;
  // resume: offer the session saved by the previous connect() (the first
  // call with resume saves one and does a full handshake).
  virtual std::unique_ptr<Pipe> connect(bool resume) = 0;
};

// How a factory is made: lastbyte over a backend, or one library directly.
struct Implementation {
  std::string backend;  // "openssl", "mbedtls", "wolfssl", "gnutls"
  std::string kind;     // "lastbyte" or "direct"
  bool (*supports)(TlsVersion);
  std::function<std::unique_ptr<PipeFactory>(const Suite&)> make;
};

// Every implementation built into this binary: lastbyte over each installed
// backend, and each library's direct baseline (registered by
// backends/<library>/direct/<library>_bench.cpp).
std::vector<Implementation>& implementations();
struct Register {
  explicit Register(Implementation implementation) { implementations().push_back(std::move(implementation)); }
};

// lastbyte keeping its queues and the library's buffers while idle
// (Config::keep_buffers_when_idle, the default before issue 13): kind
// "lastbyte_kept", registered by the benchmarks that compare it.
Implementation lastbyte_kept(const Backend& backend);

// lastbyte over `backend`; queue_capacity 0: Config's default queue sizes.
std::unique_ptr<PipeFactory> make_lastbyte(const Backend& backend, const Suite& suite, std::size_t queue_capacity = 0,
                                           bool keep_buffers_when_idle = false);

// lastbyte's in-memory handshake, as LastbytePipe and the drain benchmark
// run it: both flights moved until both sides are done, tickets processed.
bool handshake_in_memory(Connection& client, Connection& server);

// The same inputs for everyone.
Config client_config(const Suite& suite);
Config server_config(const Suite& suite);
inline constexpr std::string_view server_name = "server.test";

std::vector<std::byte> payload(std::size_t n);

// A keep-alive request/response exchange (issue 22): a 100-byte request
// from the client, read whole by the server, then the response, read whole
// by the client. Afterwards both sides have consumed everything, so the pair
// is as idle as an HTTP keep-alive connection between requests (and
// lastbyte's default gives its buffers back, Config::keep_buffers_when_idle).
class Exchange {
 public:
  static constexpr std::size_t request_size = 100;
  explicit Exchange(std::size_t response_size);
  // false if either direction failed; a function of its own, not inlined, so
  // that bench/instructions.sh can count it alone.
  [[gnu::noinline]] bool run(Pipe& pipe);
  // Both sides received exactly what the other sent.
  bool arrived_intact() const { return request_sink_ == request_ && response_sink_ == response_; }

 private:
  std::vector<std::byte> request_, response_, request_sink_, response_sink_;
};

// One library's own AEAD, keyed for a suite's record cipher (AES-128-GCM or
// ChaCha20-Poly1305, 16-byte tag, 12-byte nonce): what sealing and opening a
// record costs with no TLS layer around it, the ceiling of any pipe's
// throughput over that library. Each <library>_bench.cpp registers its own.
class Aead {
 public:
  static constexpr std::size_t tag_size = 16;
  static constexpr std::size_t nonce_size = 12;
  virtual ~Aead() = default;
  // sealed = ciphertext followed by the tag: plaintext.size() + tag_size bytes.
  virtual bool seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
                    std::span<const std::byte> plaintext, std::span<std::byte> sealed) = 0;
  // false if the tag does not authenticate `sealed`.
  virtual bool open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
                    std::span<const std::byte> sealed, std::span<std::byte> plaintext) = 0;
};

struct AeadImplementation {
  std::string backend;
  bool (*supports)(TlsVersion);
  // nullptr when the library lacks the suite's cipher.
  std::function<std::unique_ptr<Aead>(const Suite&, std::span<const std::byte> key)> make;
};
std::vector<AeadImplementation>& aead_implementations();
struct RegisterAead {
  explicit RegisterAead(AeadImplementation implementation) {
    aead_implementations().push_back(std::move(implementation));
  }
};
// The library's Aead (constructed from the suite and the key, `ok()` once
// keyed), or nullptr when the library would not key it.
template <typename LibraryAead>
std::unique_ptr<Aead> keyed(const Suite& suite, std::span<const std::byte> key) {
  auto aead = std::make_unique<LibraryAead>(suite, key);
  if (!aead->ok()) return nullptr;
  return aead;
}
// The C APIs take bytes as unsigned char.
inline const unsigned char* u8(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
inline unsigned char* u8(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

// The suite's key length: 16 bytes for AES-128-GCM, 32 for ChaCha20-Poly1305.
std::size_t aead_key_size(const Suite& suite);
bool is_chacha20(const Suite& suite);

}  // namespace lastbyte::bench
