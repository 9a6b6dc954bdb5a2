// rustls 0.20 adapter, through the shim crate (shim/lastbyte_rustls.h). rustls
// is sans-I/O: the adapter pulls one whole record at a time from the core and
// feeds it to rustls (read_tls, process_new_packets), and pushes what rustls
// seals (write_tls). An empty pull is "nothing yet", never handed to rustls:
// its EOF path (read_tls returning 0) is never taken, so rustls never decides
// how a stream ended.
#include <lastbyte/backends/rustls.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>
#include <lastbyte/engine/record.hpp>

#include <lastbyte_rustls.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>

namespace lastbyte::backends {
namespace {

// ---- errors -----------------------------------------------------------------

// The shim's status codes in words; a TLS error's own text comes from
// lb_rustls_conn_failure().
std::string describe_status(int status) {
  switch (status) {
    case LB_RUSTLS_OK: return "ok";
    case LB_RUSTLS_WOULD_BLOCK: return "would block";
    case LB_RUSTLS_CLOSED: return "closed";
    case LB_RUSTLS_TLS_ERROR: return "TLS error";
    case LB_RUSTLS_CONFIG_ERROR: return "configuration refused";
    case LB_RUSTLS_INVALID_ARGUMENT: return "invalid argument";
    case LB_RUSTLS_PANIC: return "a panic in rustls or the shim (caught)";
    default: return "status " + std::to_string(status);
  }
}

Error library_error(const std::string& what, int status, const char* message = "") {
  std::string detail = what + " (" + describe_status(status);
  if (message && *message) detail += std::string(": ") + message;
  return {errc::backend_failure, detail + ")"};
}

// Rust aborts the process when an allocation fails (std's
// handle_alloc_error): rustls reports none, and there is nothing to watch.

// ---- error classes ----------------------------------------------------------

// The suites lastbyte allows, all of which rustls 0.20 implements.
struct Suite {
  std::string_view iana;
  std::uint16_t id;
};
constexpr Suite suites[] = {
    {"TLS_AES_128_GCM_SHA256", 0x1301},
    {"TLS_AES_256_GCM_SHA384", 0x1302},
    {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xc02b},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xc02c},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca9},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xc02f},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xc030},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xcca8},
};

using Fault = policy::CertificateFault;
constexpr unsigned fault(Fault f) { return static_cast<unsigned>(f); }
static_assert(LB_RUSTLS_FAULT_MISSING == fault(Fault::missing) && LB_RUSTLS_FAULT_UNTRUSTED == fault(Fault::untrusted) &&
              LB_RUSTLS_FAULT_USAGE == fault(Fault::usage) && LB_RUSTLS_FAULT_HOSTNAME == fault(Fault::hostname) &&
              LB_RUSTLS_FAULT_EXPIRED == fault(Fault::expired) &&
              LB_RUSTLS_FAULT_BAD_CERTIFICATE == fault(Fault::bad_certificate));

std::optional<Alert> alert_of(std::int32_t value) {
  return value < 0 ? std::nullopt : std::optional(static_cast<Alert>(value));
}

// ---- the engine -------------------------------------------------------------

class RustlsContext;
void push_hook(void* user, const std::uint8_t* data, std::size_t len);
std::uint32_t verify_hook(void* user, std::uint32_t chain_faults, const std::uint8_t* leaf, std::size_t len);

class RustlsEngine final : public Engine {
 public:
  RustlsEngine(EngineIo io, const RustlsContext& context) : io_(io), context_(context) {}
  ~RustlsEngine() override { lb_rustls_conn_free(conn_); }

  std::optional<Error> setup(const ConnectionOptions& options);

  EngineStatus handshake() override {
    if (int rc = lb_rustls_conn_flush(conn_); rc != LB_RUSTLS_OK) return fail(rc);  // the ClientHello, first
    for (;;) {
      if (callback_failure_) return fail(LB_RUSTLS_OK);
      if (!lb_rustls_conn_is_handshaking(conn_)) {
        on_handshake_done();
        return callback_failure_ ? fail(LB_RUSTLS_OK) : EngineStatus::done;
      }
      if (lb_rustls_conn_peer_closed(conn_)) return EngineStatus::peer_closed;
      switch (feed_record()) {
        case Fed::nothing: return EngineStatus::want_input;
        case Fed::failed: return EngineStatus::failed;
        case Fed::record: break;
      }
    }
  }

  EngineResult read(std::span<std::byte> out) override {
    for (;;) {
      std::size_t n = 0;
      int rc = lb_rustls_conn_read(conn_, reinterpret_cast<std::uint8_t*>(out.data()), out.size(), &n);
      if (rc == LB_RUSTLS_OK && n > 0) return {n, EngineStatus::done};
      if (rc == LB_RUSTLS_CLOSED) return {0, EngineStatus::peer_closed};
      if (rc != LB_RUSTLS_WOULD_BLOCK && rc != LB_RUSTLS_OK) return {0, fail(rc)};
      switch (feed_record()) {
        case Fed::nothing: return {0, EngineStatus::want_input};
        case Fed::failed: return {0, EngineStatus::failed};
        case Fed::record: break;
      }
    }
  }

  EngineResult write(std::span<const std::byte> plaintext) override {
    std::size_t n = 0;
    int rc = lb_rustls_conn_write(conn_, reinterpret_cast<const std::uint8_t*>(plaintext.data()), plaintext.size(), &n);
    if (callback_failure_) return {n, fail(LB_RUSTLS_OK)};
    if (rc == LB_RUSTLS_OK) return {n, EngineStatus::done};
    if (rc == LB_RUSTLS_WOULD_BLOCK) return {0, EngineStatus::want_input};
    return {n, fail(rc)};
  }

  EngineStatus send_close_notify() override {
    int rc = lb_rustls_conn_send_close_notify(conn_);
    return rc == LB_RUSTLS_OK && !callback_failure_ ? EngineStatus::done : fail(rc);
  }

  std::size_t pending_plaintext() const override { return lb_rustls_conn_pending(conn_); }

  // rustls 0.20 allocates its record buffer (MessageDeframer's, 18 KiB) with
  // the connection and keeps it to the end; it has no call to give it back.
  void release_idle_buffers() override {}

  SessionInfo session_info() const override;

  EngineFailure failure() const override;

  // ---- the shim's callbacks: no exception leaves them (C cannot unwind) ----

  void send(const std::uint8_t* data, std::size_t len) noexcept;

  std::uint32_t verify(std::uint32_t chain_faults, std::span<const std::uint8_t> leaf) noexcept {
    return callback_failure_.run(
        "the certificate check threw", [&] { return faults_ = peer_faults(chain_faults, leaf); },
        std::uint32_t{LB_RUSTLS_FAULT_BAD_CERTIFICATE});
  }

  void on_secret(std::string_view label, std::span<const std::uint8_t> client_random,
                 std::span<const std::uint8_t> secret) noexcept;
  void on_new_session(std::span<const std::uint8_t> blob) noexcept;

 private:
  enum class Fed { nothing, record, failed };
  Fed feed_record();
  EngineStatus fail(int status);
  std::uint32_t peer_faults(std::uint32_t chain_faults, std::span<const std::uint8_t> leaf);
  void observe_client_hello(std::span<const std::byte> bytes);
  void observe_server_hello(std::span<const std::byte> record);
  void on_handshake_done() {}

  EngineIo io_;
  const RustlsContext& context_;
  lb_rustls_conn* conn_ = nullptr;
  policy::ServerName server_name_;
  int status_ = LB_RUSTLS_OK;  // the shim's status that ended the connection
  policy::CertificateFaults faults_ = 0;
  CallbackFailure callback_failure_;
  // A client's view of resumption (rustls 0.20 does not tell one): the
  // session id it offered, and what the ServerHello answered.
  std::vector<std::byte> offered_session_id_;
  bool client_hello_seen_ = false;
  bool resumed_ = false;
};

// ---- the context ------------------------------------------------------------

class RustlsContext final : public EngineContext {
 public:
  explicit RustlsContext(const Config& config) : config_(config) {}
  ~RustlsContext() override { lb_rustls_context_free(context_); }

  static Expected<std::unique_ptr<EngineContext>> create(const Config& config) {
    auto context = std::make_unique<RustlsContext>(config);
    if (auto error = context->configure()) return *error;
    return std::unique_ptr<EngineContext>(std::move(context));
  }

  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override {
    auto engine = std::make_unique<RustlsEngine>(io, *this);
    if (auto error = engine->setup(options)) return *error;
    return std::unique_ptr<Engine>(std::move(engine));
  }

  const Config& config() const { return config_; }
  const lb_rustls_context* shim() const { return context_; }

 private:
  std::optional<Error> configure();
  std::optional<Error> load_trust(std::string& pem);
  std::optional<Error> load_identity(std::string& chain, std::string& key);

  Config config_;
  lb_rustls_context* context_ = nullptr;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

void keylog_hook(void* user, const std::uint8_t* label, std::size_t label_len, const std::uint8_t* client_random,
                 std::size_t random_len, const std::uint8_t* secret, std::size_t secret_len);
void new_session_hook(void* user, const std::uint8_t* blob, std::size_t len);

std::optional<Error> RustlsContext::configure() {
  bool server = config_.role == Role::server;
  std::vector<std::uint16_t> ids;
  bool tls12 = false, tls13 = false;
  std::vector<std::string> names = config_.cipher_suites;
  if (names.empty())
    for (auto name : allowed_cipher_suites()) names.emplace_back(name);
  for (const auto& name : names) {
    auto suite = std::find_if(std::begin(suites), std::end(suites), [&](const Suite& s) { return s.iana == name; });
    if (suite == std::end(suites))
      return Error{errc::unsupported_by_backend, "cipher suite " + name + " is unknown to rustls"};
    ids.push_back(suite->id);
    (is_tls13_cipher_suite(name) ? tls13 : tls12) = true;
  }
  // A version left without a suite is disabled (config.hpp).
  tls13 = tls13 && config_.max_version == TlsVersion::tls1_3;
  tls12 = tls12 && config_.min_version == TlsVersion::tls1_2;
  std::string ca, chain, key;
  policy::Verify verify = policy::verify_mode(config_);
  if (verify != policy::Verify::none)
    if (auto error = load_trust(ca)) return error;
  if (auto error = load_identity(chain, key)) return error;
  std::vector<unsigned char> alpn = policy::alpn_wire(config_.alpn);
  auto u8 = [](const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); };
  lb_rustls_options options{
      .server = server,
      .tls12 = tls12,
      .tls13 = tls13,
      .suites = ids.data(),
      .suite_count = ids.size(),
      .alpn = alpn.data(),
      .alpn_len = alpn.size(),
      .ca_pem = u8(ca),
      .ca_pem_len = ca.size(),
      .chain_pem = u8(chain),
      .chain_pem_len = chain.size(),
      .key_pem = u8(key),
      .key_pem_len = key.size(),
      .verify = server ? (verify == policy::Verify::required ? 2 : verify == policy::Verify::optional ? 1 : 0)
                       : (verify != policy::Verify::none ? 1 : 0),
      .tickets = config_.session_tickets,
      .keylog = static_cast<bool>(config_.keylog),
  };
  lb_rustls_callbacks callbacks{
      .keylog = keylog_hook, .verify = verify_hook, .new_session = new_session_hook, .push = push_hook};
  char message[256] = "";
  int rc = lb_rustls_context_new(&options, &callbacks, &context_, message, sizeof message);
  if (rc != LB_RUSTLS_OK) return library_error("rustls refused the configuration", rc, message);
  return std::nullopt;
}

// Trust anchors as one PEM text: ca_file, every file of ca_dir, ca_pem; all
// empty: the system store (an empty or missing one trusts nothing).
std::optional<Error> RustlsContext::load_trust(std::string& pem) {
  if (config_.ca_file.empty() && config_.ca_dir.empty() && config_.ca_pem.empty()) {
    if (auto text = read_file("/etc/ssl/certs/ca-certificates.crt")) pem = std::move(*text);
    return std::nullopt;
  }
  if (!config_.ca_file.empty()) {
    auto text = read_file(config_.ca_file);
    if (!text || text->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return Error{errc::backend_failure, "cannot load trust anchors from ca_file \"" + config_.ca_file + "\""};
    pem += *text;
  }
  if (!config_.ca_dir.empty()) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(config_.ca_dir, ec))
      if (entry.is_regular_file(ec))
        if (auto text = read_file(entry.path().string())) pem += "\n" + *text;
    if (ec) return Error{errc::backend_failure, "cannot load trust anchors from ca_dir \"" + config_.ca_dir + "\""};
  }
  if (!config_.ca_pem.empty()) {
    if (config_.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return Error{errc::backend_failure, "ca_pem holds no usable PEM certificate"};
    pem += "\n" + config_.ca_pem;
  }
  return std::nullopt;
}

std::optional<Error> RustlsContext::load_identity(std::string& chain, std::string& key) {
  if (config_.cert_chain_file.empty() && config_.cert_chain_pem.empty()) return std::nullopt;
  chain = config_.cert_chain_pem;
  key = config_.private_key_pem;
  if (!config_.cert_chain_file.empty()) {
    auto text = read_file(config_.cert_chain_file);
    if (!text) return Error{errc::backend_failure, "cannot load cert_chain_file \"" + config_.cert_chain_file + "\""};
    chain = std::move(*text);
  }
  if (!config_.private_key_file.empty()) {
    auto text = read_file(config_.private_key_file);
    if (!text) return Error{errc::backend_failure, "cannot load private_key_file \"" + config_.private_key_file + "\""};
    key = std::move(*text);
  }
  return std::nullopt;
}

// ---- hooks: the shim's C callbacks into the engine ----------------------------

RustlsEngine& engine_of(void* user) { return *static_cast<RustlsEngine*>(user); }

void push_hook(void* user, const std::uint8_t* data, std::size_t len) { engine_of(user).send(data, len); }
std::uint32_t verify_hook(void* user, std::uint32_t chain_faults, const std::uint8_t* leaf, std::size_t len) {
  return engine_of(user).verify(chain_faults, std::span(leaf, len));
}
void keylog_hook(void* user, const std::uint8_t* label, std::size_t label_len, const std::uint8_t* client_random,
                 std::size_t random_len, const std::uint8_t* secret, std::size_t secret_len) {
  engine_of(user).on_secret(std::string_view(reinterpret_cast<const char*>(label), label_len),
                            std::span(client_random, random_len), std::span(secret, secret_len));
}
void new_session_hook(void* user, const std::uint8_t* blob, std::size_t len) {
  engine_of(user).on_new_session(std::span(blob, len));
}
// Called from Rust: nothing may unwind through it, so an allocation that
// fails is noted and thrown again once the shim has returned.
struct NamesFound {
  policy::SubjectAltNames names;
  bool out_of_memory = false;
};
void san_hook(void* user, std::int32_t kind, const std::uint8_t* name, std::size_t len) {
  auto& found = *static_cast<NamesFound*>(user);
  try {
    if (kind == 2) found.names.dns.emplace_back(reinterpret_cast<const char*>(name), len);
    if (kind == 7) found.names.ip.emplace_back(name, name + len);
  } catch (const std::bad_alloc&) {
    found.out_of_memory = true;
  }
}

// ---- the rest of the engine -------------------------------------------------

std::optional<Error> RustlsEngine::setup(const ConnectionOptions& options) {
  const Config& config = context_.config();
  const std::string& name = options.server_name.empty() ? config.server_name : options.server_name;
  server_name_ = policy::classify_server_name(name);
  auto resume = std::span(reinterpret_cast<const std::uint8_t*>(options.resume_session.data()),
                          options.resume_session.size());
  char message[256] = "";
  int rc = lb_rustls_conn_new(context_.shim(), this, reinterpret_cast<const std::uint8_t*>(server_name_.text.data()),
                              server_name_.text.size(), server_name_.sends_sni(), resume.data(), resume.size(), &conn_,
                              message, sizeof message);
  if (rc == LB_RUSTLS_INVALID_ARGUMENT && !resume.empty())
    return Error{errc::invalid_config, "resume_session is not a session saved by the rustls backend"};
  if (rc != LB_RUSTLS_OK) return library_error("cannot start a rustls connection", rc, message);
  return std::nullopt;
}

// One whole record from the core into rustls: its header first (5 bytes,
// never more, since pull() goes on into the next record), then its body.
RustlsEngine::Fed RustlsEngine::feed_record() {
  std::array<std::byte, 5 + 16384 + 256> buffer;
  std::size_t got = io_.pull(std::span(buffer).first(record::header_size));
  if (got == 0) return Fed::nothing;
  auto header = record::parse_header(std::span(buffer).first(got));
  std::size_t size = got;
  if (header) {
    std::size_t total = std::min(header->record_size(), buffer.size());
    while (size < total) {
      std::size_t n = io_.pull(std::span(buffer).subspan(size, total - size));
      if (n == 0) break;
      size += n;
    }
  }
  auto record = std::span(buffer).first(size);
  if (context_.config().role == Role::client && !io_.handshake_done()) observe_server_hello(record);
  int rc = lb_rustls_conn_feed(conn_, reinterpret_cast<const std::uint8_t*>(record.data()), record.size());
  // A body larger than the buffer (the core passes records up to 2^14 + 256
  // of ciphertext; rustls refuses longer ones itself): the rest follows.
  while (rc == LB_RUSTLS_OK && header && size < header->record_size()) {
    std::size_t n = io_.pull(buffer);
    if (n == 0) break;
    size += n;
    rc = lb_rustls_conn_feed(conn_, reinterpret_cast<const std::uint8_t*>(buffer.data()), n);
  }
  if (rc != LB_RUSTLS_OK || callback_failure_) {
    fail(rc);
    return Fed::failed;
  }
  return Fed::record;
}

EngineStatus RustlsEngine::fail(int status) {
  status_ = status;
  return EngineStatus::failed;
}

SessionInfo RustlsEngine::session_info() const {
  lb_rustls_info info{};
  SessionInfo result;
  if (lb_rustls_conn_info(conn_, &info) != LB_RUSTLS_OK) return result;
  result.version = info.version == 0x0304 ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
  for (const Suite& suite : suites)
    if (suite.id == info.suite) result.cipher = suite.iana;
  result.alpn.assign(reinterpret_cast<const char*>(info.alpn), info.alpn_len);
  result.resumed = info.resumed >= 0 ? info.resumed != 0 : resumed_;
  return result;
}

EngineFailure RustlsEngine::failure() const {
  lb_rustls_failure shim{};
  char message[512] = "";
  lb_rustls_conn_failure(conn_, &shim, message, sizeof message);
  EngineFailure failure{
      .callback_failed = callback_failure_.why(),
      .alert_received = alert_of(shim.alert_received),
      .alert_sent = alert_of(shim.alert_sent),
      .certificate_faults = faults_,
      .detail = *message ? message : describe_status(status_),
  };
  switch (shim.kind) {
    case LB_RUSTLS_ERROR_LIBRARY: failure.library_internal = true; break;
    case LB_RUSTLS_ERROR_CERTIFICATE:
      if (failure.certificate_faults == 0) failure.certificate_faults = fault(Fault::bad_certificate);
      break;
    case LB_RUSTLS_ERROR_NO_CERTIFICATE: failure.certificate_faults |= fault(Fault::missing); break;
    case LB_RUSTLS_ERROR_INCOMPATIBLE: failure.handshake_reason = RejectReason::no_shared_cipher; break;
    case LB_RUSTLS_ERROR_VERSION: failure.handshake_reason = RejectReason::protocol_version; break;
    case LB_RUSTLS_ERROR_NO_APPLICATION_PROTOCOL:
      failure.handshake_reason = RejectReason::no_application_protocol;
      break;
    case LB_RUSTLS_ERROR_PROTOCOL: failure.protocol_alert = alert_of(shim.protocol_alert); break;
    default:
      if (status_ == LB_RUSTLS_PANIC) failure.library_internal = true;
      break;
  }
  return failure;
}

// Chain faults as webpki found them (shim), the host name by the core's policy.
std::uint32_t RustlsEngine::peer_faults(std::uint32_t chain_faults, std::span<const std::uint8_t> leaf) {
  if (context_.config().role != Role::client) return chain_faults;
  NamesFound found;
  int rc = lb_rustls_subject_alt_names(leaf.data(), leaf.size(), san_hook, &found);
  if (found.out_of_memory) throw std::bad_alloc();
  // A subjectAltName the walk cannot read: no name from it is trusted.
  if (rc != LB_RUSTLS_OK) return chain_faults | fault(Fault::bad_certificate);
  if (!policy::names_match(server_name_, found.names)) chain_faults |= fault(Fault::hostname);
  return chain_faults;
}

void RustlsEngine::send(const std::uint8_t* data, std::size_t len) noexcept {
  auto bytes = std::as_bytes(std::span(data, len));
  if (!io_.handshake_done() && context_.config().role == Role::client)
    callback_failure_.run("reading the ClientHello threw", [&] { observe_client_hello(bytes); });
  io_.push(bytes);
}

void RustlsEngine::on_secret(std::string_view label, std::span<const std::uint8_t> client_random,
                             std::span<const std::uint8_t> secret) noexcept {
  const Config& config = context_.config();
  if (!config.keylog) return;
  callback_failure_.run("the keylog callback threw",
                        [&] { config.keylog(nss_keylog_line(label, client_random, secret)); });
}

void RustlsEngine::on_new_session(std::span<const std::uint8_t> blob) noexcept {
  const Config& config = context_.config();
  if (config.role != Role::client || !config.on_new_session) return;
  callback_failure_.run("the on_new_session callback threw", [&] {
    auto bytes = std::as_bytes(blob);
    config.on_new_session(SessionBlob(bytes.begin(), bytes.end()));
  });
}

// A handshake record's first message: its type and body (within the record).
std::optional<std::pair<unsigned, std::span<const std::byte>>> first_handshake_message(
    std::span<const std::byte> record) {
  if (record.size() < 9 || std::to_integer<unsigned>(record[0]) != 22) return std::nullopt;
  auto body = record.subspan(5);
  std::size_t length = std::to_integer<std::size_t>(body[1]) << 16 | std::to_integer<std::size_t>(body[2]) << 8 |
                       std::to_integer<std::size_t>(body[3]);
  return std::pair(std::to_integer<unsigned>(body[0]), body.subspan(4, std::min(length, body.size() - 4)));
}

// ClientHello and ServerHello: version (2), random (32), session id (1 + n).
std::optional<std::span<const std::byte>> session_id_of(std::span<const std::byte> hello) {
  if (hello.size() < 35) return std::nullopt;
  std::size_t n = std::to_integer<std::size_t>(hello[34]);
  if (hello.size() < 35 + n) return std::nullopt;
  return hello.subspan(35, n);
}

void RustlsEngine::observe_client_hello(std::span<const std::byte> bytes) {
  if (client_hello_seen_) return;
  auto message = first_handshake_message(bytes);
  if (!message || message->first != 1) return;
  client_hello_seen_ = true;
  if (auto id = session_id_of(message->second)) offered_session_id_.assign(id->begin(), id->end());
}

// corrections (below) explain why; here the ServerHello is read.
void RustlsEngine::observe_server_hello(std::span<const std::byte> record) {
  auto message = first_handshake_message(record);
  if (!message || message->first != 2) return;
  auto hello = message->second;
  auto id = session_id_of(hello);
  if (!id) return;
  // cipher suite (2), compression (1), extensions (2 + n): TLS 1.3 resumes
  // with pre_shared_key (41); TLS 1.2 echoes the session id it resumes (TLS
  // 1.3 echoes every one, for middlebox compatibility: its ServerHello has
  // supported_versions, 43).
  std::size_t at = 35 + id->size() + 3;
  bool psk = false, tls13 = false;
  for (auto extensions = hello.size() >= at + 2 ? hello.subspan(at + 2) : std::span<const std::byte>();
       extensions.size() >= 4;) {
    unsigned type = std::to_integer<unsigned>(extensions[0]) << 8 | std::to_integer<unsigned>(extensions[1]);
    std::size_t length = std::to_integer<std::size_t>(extensions[2]) << 8 | std::to_integer<std::size_t>(extensions[3]);
    psk = psk || type == 41;
    tls13 = tls13 || type == 43;
    extensions = extensions.subspan(std::min(extensions.size(), 4 + length));
  }
  bool echoed = !id->empty() && std::ranges::equal(*id, offered_session_id_);
  resumed_ = psk || (!tls13 && echoed);
}

// ---- corrections: where rustls departs from the contract ---------------------
// Each entry names the catalogue row or test that shows it; docs/divergences.md
// lists them.
//
// SessionInfo::resumed on a client: rustls 0.20 does not say whether a
// handshake resumed; observe_server_hello() reads it from the ServerHello
// (pre_shared_key in TLS 1.3, the offered session id echoed in TLS 1.2).
// A server's comes from rustls (the resumption data each ticket carries).

}  // namespace

const Backend& rustls() {
  static const Backend backend{
      .name = "rustls",
      .library_version = [] { return std::string(lb_rustls_version()); },
      .supports = [](TlsVersion) { return true; },
      .exports_secrets = [](TlsVersion) { return true; },  // rustls::KeyLog, 1.2 and 1.3
      .create_context = &RustlsContext::create,
  };
  return backend;
}

}  // namespace lastbyte::backends
