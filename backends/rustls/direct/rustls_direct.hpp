// rustls 0.20 driven directly, without lastbyte: the setup its two direct
// consumers share. Native mode (rustls_native.cpp) and the benchmarks'
// baseline (rustls_bench.cpp) make their contexts through this, so they
// configure rustls alike, the way an application would: rustls's own
// certificate check (WebPkiVerifier: chain and host name) and its defaults.
// rustls is a Rust library; its API reaches C++ through lastbyte's shim
// crate (../shim/lastbyte_rustls.h), a thin layer that adds no policy here.
#pragma once

#include <lastbyte/config.hpp>

#include <lastbyte_rustls.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::direct::rustls {

// Every suite of one version that rustls 0.20 implements, as IANA ids in
// rustls's own order of preference (rustls::DEFAULT_CIPHER_SUITES).
inline std::vector<std::uint16_t> default_suites(TlsVersion version) {
  if (version == TlsVersion::tls1_3) return {0x1302, 0x1301, 0x1303};
  return {0xc02c, 0xc02b, 0xcca9, 0xc030, 0xc02f, 0xcca8};
}

// How a client checks the server: rustls's WebPkiVerifier (chain and name,
// the only check rustls offers without dangerous_configuration), or webpki's
// chain check alone through a custom verifier.
enum class Check { chain_and_name, chain_only };

struct Side {
  bool server = false;
  TlsVersion version = TlsVersion::tls1_3;
  std::vector<std::uint16_t> suites = {};  // empty: default_suites(version)
  std::string_view ca_pem = {};          // client: trust anchors
  std::string_view chain_pem = {}, key_pem = {};  // server: identity
  Check check = Check::chain_and_name;
  bool tickets = true;
};

inline const std::uint8_t* u8(std::string_view text) { return reinterpret_cast<const std::uint8_t*>(text.data()); }

// A context for one side; throws std::runtime_error with rustls's words if
// it refuses the configuration. The caller frees it (lb_rustls_context_free).
inline lb_rustls_context* new_context(const Side& side, const lb_rustls_callbacks& callbacks) {
  std::vector<std::uint16_t> suites = side.suites.empty() ? default_suites(side.version) : side.suites;
  bool tls13 = side.version == TlsVersion::tls1_3;
  lb_rustls_options options{
      .server = side.server,
      .tls12 = !tls13,
      .tls13 = tls13,
      .suites = suites.data(),
      .suite_count = suites.size(),
      .alpn = nullptr,
      .alpn_len = 0,
      .ca_pem = u8(side.ca_pem),
      .ca_pem_len = side.ca_pem.size(),
      .chain_pem = u8(side.chain_pem),
      .chain_pem_len = side.chain_pem.size(),
      .key_pem = u8(side.key_pem),
      .key_pem_len = side.key_pem.size(),
      .verify = side.server ? 0 : side.check == Check::chain_and_name ? 2 : 1,
      .tickets = side.tickets,
      .keylog = 0,
  };
  lb_rustls_context* context = nullptr;
  char message[256] = "";
  if (lb_rustls_context_new(&options, &callbacks, &context, message, sizeof message) != LB_RUSTLS_OK)
    throw std::runtime_error(std::string("rustls refused the configuration: ") + message);
  return context;
}

// A connection of `context`; a client checks and sends `server_name`.
inline lb_rustls_conn* new_connection(const lb_rustls_context* context, void* user, std::string_view server_name,
                                      std::span<const std::uint8_t> resume = {}) {
  lb_rustls_conn* conn = nullptr;
  char message[256] = "";
  if (lb_rustls_conn_new(context, user, u8(server_name), server_name.size(), 1, resume.data(), resume.size(), &conn,
                         message, sizeof message) != LB_RUSTLS_OK)
    throw std::runtime_error(std::string("rustls refused the connection: ") + message);
  return conn;
}

// rustls's own text for the error that ended a connection.
inline std::string failure_text(const lb_rustls_conn* conn) {
  lb_rustls_failure failure{};
  char message[512] = "";
  lb_rustls_conn_failure(conn, &failure, message, sizeof message);
  return message;
}

}  // namespace lastbyte::direct::rustls
