#include "context_impl.hpp"

#include <lastbyte/backend.hpp>
#include <lastbyte/engine/record.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>

namespace lastbyte {
namespace {

Error invalid(std::string detail) { return {errc::invalid_config, std::move(detail)}; }

std::optional<Error> validate(const Config& c) {
  if (c.min_version > c.max_version)
    return invalid("min_version " + std::string(to_string(c.min_version)) + " is above max_version " +
                   std::string(to_string(c.max_version)));
  bool has_chain = !c.cert_chain_file.empty() || !c.cert_chain_pem.empty();
  bool has_key = !c.private_key_file.empty() || !c.private_key_pem.empty();
  if (!c.cert_chain_file.empty() && !c.cert_chain_pem.empty())
    return invalid("set cert_chain_file or cert_chain_pem, not both");
  if (!c.private_key_file.empty() && !c.private_key_pem.empty())
    return invalid("set private_key_file or private_key_pem, not both");
  if (has_chain != has_key)
    return invalid("a certificate chain needs its private key and vice versa");
  if (c.role == Role::server && !has_chain)
    return invalid("a server needs a certificate chain and private key (cert_chain_file/_pem, private_key_file/_pem)");
  if (c.role == Role::client && c.client_auth != ClientAuth::none)
    return invalid("client_auth is a server setting; a client presents a certificate by setting cert_chain_*");
  for (const auto& protocol : c.alpn)
    if (protocol.empty() || protocol.size() > 255)
      return invalid("ALPN protocol names must be 1..255 bytes, got \"" + protocol + "\"");
  if (c.inbound_capacity < record::max_record)
    return invalid("inbound_capacity must hold one maximum-size record (" + std::to_string(record::max_record) +
                   " bytes), got " + std::to_string(c.inbound_capacity));
  if (c.outbound_capacity < record::max_record)
    return invalid("outbound_capacity must hold one maximum-size record (" + std::to_string(record::max_record) +
                   " bytes), got " + std::to_string(c.outbound_capacity));
  return std::nullopt;
}

constexpr std::string_view allowed_suites[] = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
};

// Fills in the default suites, refuses unknown ones, and disables a version
// the list leaves without a suite, so that every adapter gets a list that
// matches its version range.
std::optional<Error> fit_cipher_suites(Config& c) {
  if (c.cipher_suites.empty()) c.cipher_suites.assign(std::begin(allowed_suites), std::end(allowed_suites));
  std::string allowed;
  for (auto name : allowed_suites) allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  bool tls13 = false, tls12 = false;
  for (const auto& name : c.cipher_suites) {
    if (std::find(std::begin(allowed_suites), std::end(allowed_suites), name) == std::end(allowed_suites))
      return invalid("cipher suite \"" + name + "\" is unknown or not allowed (forward-secret AEAD only); use IANA names: " +
                     allowed);
    (is_tls13_cipher_suite(name) ? tls13 : tls12) = true;
  }
  if (!tls13 && c.max_version == TlsVersion::tls1_3) c.max_version = TlsVersion::tls1_2;
  if (!tls12 && c.min_version == TlsVersion::tls1_2) c.min_version = TlsVersion::tls1_3;
  if (c.min_version > c.max_version)
    return invalid("cipher_suites has no suite for the configured TLS version range");
  return std::nullopt;
}

// After fit_versions: each adapter gets only the suites of versions it enables.
void drop_suites_of_disabled_versions(Config& c) {
  std::erase_if(c.cipher_suites, [&](const std::string& name) {
    return is_tls13_cipher_suite(name) ? c.max_version < TlsVersion::tls1_3 : c.min_version > TlsVersion::tls1_2;
  });
}

// Narrows the version range to what the backend's library build can do, or
// explains why nothing is left.
std::optional<Error> fit_versions(Config& c, const Backend& backend) {
  while (c.max_version > c.min_version && !backend.supports(c.max_version)) c.max_version = c.min_version;
  while (c.min_version < c.max_version && !backend.supports(c.min_version)) c.min_version = c.max_version;
  if (backend.supports(c.min_version)) return std::nullopt;
  return Error{errc::unsupported_by_backend,
               std::string(to_string(c.min_version)) + " on backend " + std::string(backend.name) + " (" +
                   backend.library_version() + "); widen min_version/max_version or choose another backend"};
}

// SSLKEYLOGFILE: appended to by every connection of the process, one line at a time.
struct KeylogFile {
  std::mutex mutex;
  std::FILE* file = nullptr;
  ~KeylogFile() { if (file) std::fclose(file); }
};

std::shared_ptr<KeylogFile> open_sslkeylogfile() {
  const char* path = std::getenv("SSLKEYLOGFILE");
  if (!path || !*path) return nullptr;
  auto keylog = std::make_shared<KeylogFile>();
  keylog->file = std::fopen(path, "a");
  if (!keylog->file) {
    std::fprintf(stderr, "lastbyte: SSLKEYLOGFILE=%s cannot be opened for appending; no key log written\n", path);
    return nullptr;
  }
  return keylog;
}

// A key log the application asked for must be complete; SSLKEYLOGFILE is a
// debugging aid and only warns.
std::optional<Error> check_keylog(const Config& c, const Backend& backend) {
  if (!c.keylog || backend.exports_secrets(c.max_version)) return std::nullopt;
  return Error{errc::unsupported_by_backend,
               "keylog: backend " + std::string(backend.name) + " (" + backend.library_version() + ") cannot export " +
                   std::string(to_string(c.max_version)) + " secrets; set max_version lower or choose another backend"};
}

void install_sslkeylogfile(Config& c, const Backend& backend) {
  if (!c.honour_sslkeylogfile) return;
  auto file = open_sslkeylogfile();
  if (!file) return;
  if (!backend.exports_secrets(c.max_version))
    std::fprintf(stderr, "lastbyte: SSLKEYLOGFILE: backend %.*s cannot export %s secrets; those connections are not logged\n",
                 static_cast<int>(backend.name.size()), backend.name.data(), std::string(to_string(c.max_version)).c_str());
  c.keylog = [file, user = std::move(c.keylog)](std::string_view line) {
    if (user) user(line);
    std::lock_guard lock(file->mutex);
    std::fprintf(file->file, "%.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(file->file);
  };
}

}  // namespace

// An allocation that fails here (the core's or the adapter's C++ code)
// fails the creation, as one inside the TLS library does.
Expected<Context> Context::create(Config config, const Backend& backend) try {
  if (auto error = validate(config)) return *error;
  if (auto error = fit_cipher_suites(config)) return *error;
  if (auto error = fit_versions(config, backend)) return *error;
  drop_suites_of_disabled_versions(config);
  if (auto error = check_keylog(config, backend)) return *error;
  install_sslkeylogfile(config, backend);
  auto engine_context = backend.create_context(config);
  if (!engine_context) return engine_context.error();
  auto impl = std::make_shared<Impl>(Impl{std::move(config), &backend, std::move(*engine_context)});
  return Context(std::move(impl));
} catch (const std::bad_alloc&) {
  return Error{.code = errc::out_of_memory, .detail = {}};
}

const Config& Context::config() const { return impl_->config; }
const Backend& Context::backend() const { return *impl_->backend; }

std::span<const std::string_view> allowed_cipher_suites() { return allowed_suites; }

bool is_tls13_cipher_suite(std::string_view name) {
  return name.starts_with("TLS_AES_") || name.starts_with("TLS_CHACHA20_");
}

std::string nss_keylog_line(std::string_view label, std::span<const unsigned char> client_random,
                            std::span<const unsigned char> secret) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string line(label);
  for (auto bytes : {client_random, secret}) {
    line += ' ';
    for (unsigned char b : bytes) (line += digits[b >> 4]) += digits[b & 15];
  }
  return line;
}

Expected<const Backend*> find_backend(std::string_view name, std::span<const Backend* const> available) {
  std::string names;
  for (const Backend* backend : available) {
    if (backend->name == name) return backend;
    names += (names.empty() ? "" : ", ") + std::string(backend->name);
  }
  return Error{errc::unknown_backend, "\"" + std::string(name) + "\"; this program has: " + names +
                                          " (the library's backend is chosen at configure time with "
                                          "-DLASTBYTE_BACKEND=" LASTBYTE_KNOWN_BACKENDS ")"};
}

}  // namespace lastbyte
