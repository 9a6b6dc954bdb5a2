// Which backend a program gets. The one chosen with -DLASTBYTE_BACKEND at
// configure time is default_backend(); programs that link several backend
// targets (tests, the conformance runner) pick among them by name.
#pragma once

#include <lastbyte/config.hpp>
#include <lastbyte/expected.hpp>

#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace lastbyte {

// The adapter's side (lastbyte/engine/engine.hpp): a Backend makes them.
class EngineContext;

// One TLS library behind lastbyte's core: what it is and what it can do.
// Each backends/<name>/ defines one (lastbyte::backends::<name>()).
struct Backend {
  std::string_view name;  // "openssl", "mbedtls", "wolfssl", ...
  // The library's version string as linked, e.g. "OpenSSL 3.0.19 27 Jan 2026".
  std::string (*library_version)();
  bool (*supports)(TlsVersion version);
  // Whether the library build can hand out this version's secrets (key log,
  // and with it the conformance forge).
  bool (*exports_secrets)(TlsVersion version);
  // `config` has been validated by the core; keylog already includes
  // SSLKEYLOGFILE handling.
  Expected<std::unique_ptr<EngineContext>> (*create_context)(const Config& config);
};

// Defined by the lastbyte::lastbyte target (core + the configured adapter).
const Backend& default_backend();

// `available` is what the program linked. An unknown name yields
// errc::unknown_backend with the names that are available.
Expected<const Backend*> find_backend(std::string_view name,
                                      std::span<const Backend* const> available);

}  // namespace lastbyte
