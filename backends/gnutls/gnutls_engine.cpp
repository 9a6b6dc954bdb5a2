// GnuTLS 3.7 adapter. I/O goes through the push and pull functions onto the
// core's queues; the pull function says EAGAIN when no record is exposed,
// never EOF, so GNUTLS_E_PREMATURE_TERMINATION (and a 0 from
// gnutls_record_recv for a bare EOF) never reach the application.
#include <lastbyte/backends/gnutls.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>
#include <lastbyte/engine/record.hpp>

#include "gnutls_errors.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

namespace lastbyte::backends {
namespace {

// ---- errors -----------------------------------------------------------------

// describe_error, and the facts an error code tells (gnutls_errors.hpp).
using namespace gnutls_errors;

Error library_error(const std::string& what, int code) {
  return {errc::backend_failure, what + " (" + describe_error(code) + ")"};
}

gnutls_datum_t datum(const std::string& s) {
  return {.data = reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
          .size = static_cast<unsigned>(s.size())};
}

// A datum GnuTLS allocated (gnutls_load_file, gnutls_session_get_data2, ...).
struct OwnedDatum {
  gnutls_datum_t d{.data = nullptr, .size = 0};
  OwnedDatum() = default;
  OwnedDatum(const OwnedDatum&) = delete;
  ~OwnedDatum() { gnutls_free(d.data); }
};

// The suites lastbyte allows, by the parts a priority string names them
// with: a cipher, and for TLS 1.2 a key exchange (the MAC is always AEAD).
struct Suite {
  std::string_view iana;
  unsigned char id[2];
  std::string_view cipher;
  std::string_view kx = {};  // TLS 1.3: none
};
// clang-format off
constexpr Suite suites[] = {
    {.iana = "TLS_AES_128_GCM_SHA256", .id = {0x13, 0x01}, .cipher = "AES-128-GCM"},
    {.iana = "TLS_AES_256_GCM_SHA384", .id = {0x13, 0x02}, .cipher = "AES-256-GCM"},
    {.iana = "TLS_CHACHA20_POLY1305_SHA256", .id = {0x13, 0x03}, .cipher = "CHACHA20-POLY1305"},
    {.iana = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", .id = {0xc0, 0x2b}, .cipher = "AES-128-GCM", .kx = "ECDHE-ECDSA"},
    {.iana = "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", .id = {0xc0, 0x2c}, .cipher = "AES-256-GCM", .kx = "ECDHE-ECDSA"},
    {.iana = "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", .id = {0xcc, 0xa9}, .cipher = "CHACHA20-POLY1305", .kx = "ECDHE-ECDSA"},
    {.iana = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", .id = {0xc0, 0x2f}, .cipher = "AES-128-GCM", .kx = "ECDHE-RSA"},
    {.iana = "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", .id = {0xc0, 0x30}, .cipher = "AES-256-GCM", .kx = "ECDHE-RSA"},
    {.iana = "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", .id = {0xcc, 0xa8}, .cipher = "CHACHA20-POLY1305", .kx = "ECDHE-RSA"},
};
// clang-format on

// ECDHE groups in OpenSSL's order of preference, with their TLS ids.
struct Group {
  unsigned char id[2];
  std::string_view name;
};
constexpr Group groups[] = {
    {.id = {0, 0x1d}, .name = "X25519"},    {.id = {0, 0x17}, .name = "SECP256R1"}, {.id = {0, 0x1e}, .name = "X448"},
    {.id = {0, 0x19}, .name = "SECP521R1"}, {.id = {0, 0x18}, .name = "SECP384R1"},
};

// ---- error classes ----------------------------------------------------------

using Fault = policy::CertificateFault;
constexpr unsigned fault(Fault f) { return static_cast<unsigned>(f); }

// Chain verification status bits to faults (the host name is checked apart).
policy::CertificateFaults faults_from_status(unsigned status) {
  policy::CertificateFaults faults = 0;
  if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA)) faults |= fault(Fault::untrusted);
  if (status & GNUTLS_CERT_PURPOSE_MISMATCH) faults |= fault(Fault::usage);
  if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED)) faults |= fault(Fault::expired);
  unsigned known = GNUTLS_CERT_INVALID | GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA |
                   GNUTLS_CERT_PURPOSE_MISMATCH | GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED;
  if ((status & ~known) != 0 || (status != 0 && faults == 0)) faults |= fault(Fault::bad_certificate);
  return faults;
}

// The alert for a certificate we reject, as OpenSSL sends it (GnuTLS
// leaves sending alerts to the application).
Alert alert_for(RejectReason reason) {
  switch (reason) {
    case RejectReason::expired: return Alert::certificate_expired;
    case RejectReason::untrusted: return Alert::unknown_ca;
    case RejectReason::usage: return Alert::unsupported_certificate;
    case RejectReason::certificate_required: return Alert::certificate_required;
    default: return Alert::bad_certificate;
  }
}

// A failure the adapter classifies where GnuTLS names it otherwise
// (corrections, at the end of this file): the facts it replaces.
struct Correction {
  std::optional<Alert> protocol_alert = {};
  std::optional<RejectReason> handshake_reason = {};
  std::string detail = {};
};

// The record GnuTLS pulled last, kept while it is small enough to be an
// alert or a padding-only record: TLS 1.3 hides the content type inside,
// and GnuTLS reports neither a malformed alert nor a record without a
// content type as what it is (inner_record_correction()). Framing only otherwise.
struct LastRecord {
  static constexpr std::size_t max_body = 64;
  unsigned char bytes[5 + max_body];
  std::size_t size = 0, length = 0;  // bytes of it pulled so far; its body length

  void take(const unsigned char* data, std::size_t n) {
    while (n > 0) {
      if (size >= 5 && size == 5 + length) size = 0;  // the next record
      std::size_t k = std::min(n, size < 5 ? 5 - size : 5 + length - size);
      if (size + k <= sizeof bytes) std::memcpy(bytes + size, data, k);
      size += k, data += k, n -= k;
      if (size == 5) length = static_cast<std::size_t>(bytes[3] << 8 | bytes[4]);
    }
  }
  bool kept() const { return size >= 5 && size == 5 + length && length <= max_body; }
};

// ---- the engine -------------------------------------------------------------

class GnuTlsContext;
ssize_t send_hook(gnutls_transport_ptr_t self, const void* data, size_t len);
ssize_t receive_hook(gnutls_transport_ptr_t self, void* data, size_t len);
int receive_timeout_hook(gnutls_transport_ptr_t, unsigned);
int verify_hook(gnutls_session_t session);
int keylog_hook(gnutls_session_t session, const char* label, const gnutls_datum_t* secret);
int handshake_hook(gnutls_session_t session, unsigned type, unsigned when, unsigned incoming,
                   const gnutls_datum_t* message);

class GnuTlsEngine final : public Engine {
 public:
  GnuTlsEngine(EngineIo io, const GnuTlsContext& context) : io_(io), context_(context) {}
  ~GnuTlsEngine() override { gnutls_deinit(session_); }

  std::optional<Error> setup(const ConnectionOptions& options);

  EngineStatus handshake() override {
    int rc;
    do {  // a warning alert interrupts the handshake without ending it
      starved_ = false;
      rc = gnutls_handshake(session_);
    } while (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_INTERRUPTED ||
             (rc == GNUTLS_E_AGAIN && !starved_));
    // A close_notify GnuTLS decrypted during the handshake (the record gate
    // decides unprotected ones): GNUTLS_E_SESSION_EOF, not an error.
    if (rc == GNUTLS_E_SESSION_EOF && !callback_failure_) return EngineStatus::peer_closed;
    if (rc != GNUTLS_E_SUCCESS || callback_failure_) return status_after(rc);
    on_handshake_done();
    return callback_failure_ ? status_after(GNUTLS_E_INTERNAL_ERROR) : EngineStatus::done;
  }

  EngineResult read(std::span<std::byte> out) override {
    for (;;) {
      starved_ = false;
      ssize_t rc = gnutls_record_recv(session_, out.data(), out.size());
      if (callback_failure_) return {0, status_after(GNUTLS_E_INTERNAL_ERROR)};
      if (rc > 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
      if (!correction_ && (rc == 0 || rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_UNEXPECTED_PACKET ||
                           rc == GNUTLS_E_DECRYPTION_FAILED))
        if ((correction_ = inner_record_correction())) return {0, status_after(static_cast<int>(rc))};
      if (rc == 0) return {0, EngineStatus::peer_closed};  // a close_notify: the pull never says EOF
      // A TLS 1.2 warning alert is not an end; a HelloRequest (TLS 1.2
      // client) is ignored, which refuses renegotiation (R31).
      if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_REHANDSHAKE || rc == GNUTLS_E_INTERRUPTED) continue;
      // GnuTLS says EAGAIN after a record without plaintext (a TLS 1.3
      // ticket, KeyUpdate or empty record) even when the next one is
      // there: only a pull that found nothing means "wait".
      if (rc == GNUTLS_E_AGAIN && !starved_) continue;
      return {0, status_after(static_cast<int>(rc))};
    }
  }

  EngineResult write(std::span<const std::byte> plaintext) override {
    // At most one record per call: the core loops over partial writes.
    ssize_t rc = gnutls_record_send(session_, plaintext.data(), plaintext.size());
    if (callback_failure_) return {0, status_after(GNUTLS_E_INTERNAL_ERROR)};
    if (rc > 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
    return {0, status_after(static_cast<int>(rc))};
  }

  EngineStatus send_close_notify() override {
    int rc = gnutls_bye(session_, GNUTLS_SHUT_WR);  // sends ours, never waits for the peer's
    return rc == GNUTLS_E_SUCCESS && !callback_failure_ ? EngineStatus::done : status_after(rc);
  }

  std::size_t pending_plaintext() const override { return gnutls_record_check_pending(session_); }

  // GnuTLS allocates each record's buffer as it arrives or is sealed and
  // frees it once consumed or pushed: between records it holds none.
  void release_idle_buffers() override {}

  SessionInfo session_info() const override {
    SessionInfo info;
    info.version = gnutls_protocol_get_version(session_) == GNUTLS_TLS1_3 ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    if (const char* name = gnutls_ciphersuite_get(session_)) info.cipher = name;  // IANA names
    gnutls_datum_t alpn{};
    if (gnutls_alpn_get_selected_protocol(session_, &alpn) == GNUTLS_E_SUCCESS)
      info.alpn.assign(reinterpret_cast<const char*>(alpn.data), alpn.size);
    info.resumed = gnutls_session_is_resumed(session_) != 0;
    return info;
  }

  EngineFailure failure() const override {
    EngineFailure facts = facts_from_error(error_);
    facts.callback_failed = callback_failure_.why();
    if (error_ == GNUTLS_E_FATAL_ALERT_RECEIVED && !correction_)
      facts.alert_received = static_cast<Alert>(gnutls_alert_get(session_));
    facts.alert_sent = alert_sent_;
    facts.certificate_faults = faults_;
    facts.certificate_detail = certificate_detail();
    if (correction_) {
      facts.handshake_reason = correction_->handshake_reason;
      facts.protocol_alert = correction_->protocol_alert;
      facts.detail = correction_->detail;
    }
    return facts;
  }

  // ---- GnuTLS's callbacks: no exception leaves them (C cannot unwind) ----

  int verify() noexcept {
    return callback_failure_.run(
        "the certificate check threw",
        [&] { return (faults_ = peer_faults()) == 0 ? 0 : GNUTLS_E_CERTIFICATE_ERROR; }, GNUTLS_E_MEMORY_ERROR);
  }

  ssize_t send(const void* data, size_t len) noexcept {
    io_.push(std::as_bytes(std::span(static_cast<const char*>(data), len)));
    return static_cast<ssize_t>(len);
  }

  ssize_t receive(void* data, size_t len) noexcept {
    std::size_t n = io_.pull(std::as_writable_bytes(std::span(static_cast<char*>(data), len)));
    if (n == 0) {
      starved_ = true;
      return transport_error(EAGAIN);  // "nothing yet", never EOF: the core decides
    }
    ++pulls_;
    if (tls13_) last_.take(static_cast<const unsigned char*>(data), n);
    return static_cast<ssize_t>(n);
  }

  int on_secret(const char* label, const gnutls_datum_t& secret) noexcept;
  int on_handshake_message(unsigned type, unsigned when, bool incoming, const gnutls_datum_t& message) noexcept;

 private:
  // Fatal: remembers why, and sends the alert (GnuTLS leaves that to us).
  EngineStatus status_after(int rc) {
    if (rc == GNUTLS_E_AGAIN && !callback_failure_) return EngineStatus::want_input;
    error_ = rc;
    auto reason = io_.handshake_done() ? std::nullopt : policy::reason_for(faults_);
    if (correction_ && correction_->protocol_alert)
      send_fatal_alert(*correction_->protocol_alert);
    else if (reason)
      send_fatal_alert(alert_for(*reason));
    else if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND)  // GnuTLS's table says decode_error
      send_fatal_alert(Alert::handshake_failure);
    else if (gnutls_error_is_fatal(rc) && rc != GNUTLS_E_FATAL_ALERT_RECEIVED)  // what gnutls_alert_send_appropriate
      send_fatal_alert(alert_class(rc));  // sends for a fatal error (it sends no_renegotiation as a warning: not here)
    return EngineStatus::failed;
  }

  // GnuTLS chooses no alert itself: the adapter sends the one its table
  // (gnutls_error_to_alert) names, and the table answers internal_error for
  // every code it does not list, peer-caused ones too (too many handshake
  // packets, a certificate list out of order, ...). That internal_error
  // says "no class", not "our own failure": it is sent, but not reported
  // as the alert sent (which the core reads as a local failure, RFC 8446
  // §6.2); GnuTLS's own failures are reported as such (library_internal,
  // out_of_memory), and the class stays internal_error (protocol_alert).
  void send_fatal_alert(Alert alert) {
    if (gnutls_alert_send(session_, GNUTLS_AL_FATAL, static_cast<gnutls_alert_description_t>(alert)) >= 0 &&
        alert != Alert::internal_error)
      alert_sent_ = alert;
  }

  ssize_t transport_error(int errno_value) {
    gnutls_transport_set_errno(session_, errno_value);
    return -1;
  }

  policy::CertificateFaults peer_faults();
  std::string certificate_detail() const;
  std::optional<Correction> inner_record_correction() const;
  int on_client_hello(const gnutls_datum_t& client_hello);
  int check_suite(const gnutls_datum_t& server_hello);
  void surface_session();
  void on_handshake_done();

  EngineIo io_;
  const GnuTlsContext& context_;
  gnutls_session_t session_ = nullptr;
  policy::ServerName server_name_;
  int error_ = 0;
  policy::CertificateFaults faults_ = 0;
  unsigned verify_status_ = 0;
  std::optional<Alert> alert_sent_;
  std::optional<Correction> correction_;  // a failure the adapter classified itself (corrections)
  CallbackFailure callback_failure_;
  bool tls13_ = false;    // negotiated, once the handshake is done
  bool starved_ = false;  // the pull function found no record during the current call
  std::uint64_t pulls_ = 0, key_update_pulls_ = ~std::uint64_t{0};
  LastRecord last_;
};

// ---- the context ------------------------------------------------------------

class GnuTlsContext final : public EngineContext {
 public:
  explicit GnuTlsContext(const Config& config) : config_(config) {}
  ~GnuTlsContext() override {
    for (gnutls_priority_t priority : priorities_) gnutls_priority_deinit(priority);
    if (credentials_) gnutls_certificate_free_credentials(credentials_);
    if (ticket_key_.data) gnutls_memset(ticket_key_.data, 0, ticket_key_.size);
    gnutls_free(ticket_key_.data);
  }

  static Expected<std::unique_ptr<EngineContext>> create(const Config& config) {
    auto context = std::make_unique<GnuTlsContext>(config);
    if (auto error = context->configure()) return *error;
    return std::unique_ptr<EngineContext>(std::move(context));
  }

  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override {
    auto engine = std::make_unique<GnuTlsEngine>(io, *this);
    if (auto error = engine->setup(options)) return *error;
    return std::unique_ptr<Engine>(std::move(engine));
  }

  const Config& config() const { return config_; }
  gnutls_certificate_credentials_t credentials() const { return credentials_; }
  // The priority preferring groups[first]; a TLS 1.3 server has one per group.
  gnutls_priority_t priority(std::size_t first = 0) const { return priorities_[first]; }
  std::size_t priorities() const { return priorities_.size(); }
  const gnutls_datum_t* ticket_key() const { return ticket_key_.data ? &ticket_key_ : nullptr; }
  const std::vector<gnutls_datum_t>& alpn() const { return alpn_; }
  policy::SubjectAltNames names_of(const gnutls_datum_t& leaf) const;
  bool allows(const unsigned char id[2]) const {
    return std::any_of(allowed_.begin(), allowed_.end(),
                       [&](const Suite* s) { return s->id[0] == id[0] && s->id[1] == id[1]; });
  }

 private:
  std::optional<Error> configure();
  std::optional<Error> set_priorities();
  std::optional<Error> load_trust();
  std::optional<Error> load_identity();

  Config config_;
  gnutls_certificate_credentials_t credentials_ = nullptr;
  std::vector<gnutls_priority_t> priorities_;
  gnutls_datum_t ticket_key_{.data = nullptr, .size = 0};
  std::vector<gnutls_datum_t> alpn_;  // pointing into config_.alpn
  std::vector<const Suite*> allowed_;
  mutable std::mutex names_mutex_;  // the last leaf names_of() parsed, and its names
  mutable std::vector<unsigned char> names_der_;
  mutable policy::SubjectAltNames names_;
};

std::optional<Error> GnuTlsContext::configure() {
  int rc = gnutls_certificate_allocate_credentials(&credentials_);
  if (rc < 0) return library_error("gnutls_certificate_allocate_credentials failed", rc);
  if (auto error = set_priorities()) return error;
  if (policy::verify_mode(config_) != policy::Verify::none) {
    if (auto error = load_trust()) return error;
    gnutls_certificate_set_verify_function(credentials_, verify_hook);
  }
  if (auto error = load_identity()) return error;
  if (config_.role == Role::server && config_.session_tickets &&
      (rc = gnutls_session_ticket_key_generate(&ticket_key_)) < 0)
    return library_error("cannot generate the session ticket key", rc);
  for (const auto& protocol : config_.alpn) alpn_.push_back(datum(protocol));
  return std::nullopt;
}

// A priority string allows every suite its ciphers and key exchanges
// combine to: the union of the configured suites' parts. Where that is more
// than Config::cipher_suites (TLS 1.3 AES-128-GCM but no TLS 1.2 suite with
// it, say), check_suite() refuses the extra suites at the ServerHello.
// Groups: a GnuTLS server with %SERVER_PRECEDENCE insists on its first
// group even when the client sent a key share for another, a
// HelloRetryRequest the others avoid (OpenSSL clients send X25519 only,
// wolfSSL clients P-256 only), so a TLS 1.3 server has one priority per
// first group and on_client_hello() takes the one the client sent a share for.
std::optional<Error> GnuTlsContext::set_priorities() {
  std::string ciphers, kx;
  auto add = [](std::string& list, std::string_view token) {
    std::string item = ":+" + std::string(token);
    if (!token.empty() && list.find(item) == std::string::npos) list += item;
  };
  for (const auto& name : config_.cipher_suites) {
    auto suite = std::find_if(std::begin(suites), std::end(suites), [&](const Suite& s) { return s.iana == name; });
    if (suite == std::end(suites))
      return Error{errc::unsupported_by_backend, "cipher suite " + name + " is unknown to GnuTLS"};
    allowed_.push_back(suite);
    add(ciphers, suite->cipher);
    add(kx, suite->kx);
  }
  std::string versions = config_.max_version == TlsVersion::tls1_3 ? ":+VERS-TLS1.3" : "";
  if (config_.min_version == TlsVersion::tls1_2) versions += ":+VERS-TLS1.2";
  bool tls13_server = config_.role == Role::server && config_.max_version == TlsVersion::tls1_3;
  priorities_.reserve(std::size(groups));
  for (std::size_t first = 0; first < (tls13_server ? std::size(groups) : 1); ++first) {
    std::string group_list = ":-GROUP-ALL:+GROUP-" + std::string(groups[first].name);
    for (std::size_t i = 0; i < std::size(groups); ++i)
      if (i != first) group_list += ":+GROUP-" + std::string(groups[i].name);
    // NORMAL's signature algorithms; ECDHE groups only; the server's order wins.
    std::string priority = "NORMAL:-VERS-ALL" + versions + ":-CIPHER-ALL" + ciphers + ":-MAC-ALL:+AEAD:-KX-ALL" + kx +
                           group_list + ":%SERVER_PRECEDENCE";
    const char* error_at = nullptr;
    gnutls_priority_t made = nullptr;
    if (int rc = gnutls_priority_init(&made, priority.c_str(), &error_at); rc < 0)
      return library_error("cannot use the priority string " + priority + " (at " + (error_at ? error_at : "?") + ")",
                           rc);
    priorities_.push_back(made);
  }
  return std::nullopt;
}

std::optional<Error> GnuTlsContext::load_trust() {
  if (config_.ca_file.empty() && config_.ca_dir.empty() && config_.ca_pem.empty()) {
    // An empty or missing system store leaves no anchor: every chain is then untrusted.
    gnutls_certificate_set_x509_system_trust(credentials_);
    return std::nullopt;
  }
  int rc = 0;
  if (!config_.ca_file.empty() &&
      (rc = gnutls_certificate_set_x509_trust_file(credentials_, config_.ca_file.c_str(), GNUTLS_X509_FMT_PEM)) <= 0)
    return library_error("cannot load trust anchors from ca_file \"" + config_.ca_file + "\"", rc);
  if (!config_.ca_dir.empty() &&
      (rc = gnutls_certificate_set_x509_trust_dir(credentials_, config_.ca_dir.c_str(), GNUTLS_X509_FMT_PEM)) < 0)
    return library_error("cannot load trust anchors from ca_dir \"" + config_.ca_dir + "\"", rc);
  gnutls_datum_t pem = datum(config_.ca_pem);
  if (!config_.ca_pem.empty() &&
      (rc = gnutls_certificate_set_x509_trust_mem(credentials_, &pem, GNUTLS_X509_FMT_PEM)) <= 0)
    return library_error("ca_pem holds no usable PEM certificate", rc);
  return std::nullopt;
}

std::optional<Error> GnuTlsContext::load_identity() {
  if (config_.cert_chain_file.empty() && config_.cert_chain_pem.empty()) return std::nullopt;
  // Files are read here, so that every mix of files and PEM text takes one path.
  OwnedDatum chain_file, key_file;
  gnutls_datum_t chain = datum(config_.cert_chain_pem), key = datum(config_.private_key_pem);
  int rc = 0;
  if (!config_.cert_chain_file.empty()) {
    if ((rc = gnutls_load_file(config_.cert_chain_file.c_str(), &chain_file.d)) < 0)
      return library_error("cannot load cert_chain_file \"" + config_.cert_chain_file + "\"", rc);
    chain = chain_file.d;
  }
  if (!config_.private_key_file.empty()) {
    if ((rc = gnutls_load_file(config_.private_key_file.c_str(), &key_file.d)) < 0)
      return library_error("cannot load private_key_file \"" + config_.private_key_file + "\"", rc);
    key = key_file.d;
  }
  rc = gnutls_certificate_set_x509_key_mem2(credentials_, &chain, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
    return library_error("the private key does not match the certificate", rc);
  if (rc < 0) return library_error("the certificate chain and private key are not usable PEM", rc);
  return std::nullopt;
}

// ---- hooks: GnuTLS's C callbacks into the engine ----------------------------

GnuTlsEngine& engine_of(gnutls_session_t session) {
  return *static_cast<GnuTlsEngine*>(gnutls_session_get_ptr(session));
}

ssize_t send_hook(gnutls_transport_ptr_t self, const void* data, size_t len) {
  return static_cast<GnuTlsEngine*>(self)->send(data, len);
}
ssize_t receive_hook(gnutls_transport_ptr_t self, void* data, size_t len) {
  return static_cast<GnuTlsEngine*>(self)->receive(data, len);
}
// Unused with GNUTLS_NONBLOCK, but GnuTLS wants one beside a custom pull
// function: "maybe" (0 would be a fatal timeout); the pull function then tells.
int receive_timeout_hook(gnutls_transport_ptr_t, unsigned) { return 1; }
int verify_hook(gnutls_session_t session) { return engine_of(session).verify(); }
int keylog_hook(gnutls_session_t session, const char* label, const gnutls_datum_t* secret) {
  return engine_of(session).on_secret(label, *secret);
}
int handshake_hook(gnutls_session_t session, unsigned type, unsigned when, unsigned incoming,
                   const gnutls_datum_t* message) {
  return engine_of(session).on_handshake_message(type, when, incoming != 0, *message);
}

// ---- the rest of the engine -------------------------------------------------

// The subjectAltNames of a DER certificate; GnuTLS's own name check would
// fall back to the CN.
policy::SubjectAltNames subject_alt_names(const gnutls_datum_t& der) {
  policy::SubjectAltNames names;
  gnutls_x509_crt_t crt = nullptr;
  if (gnutls_x509_crt_init(&crt) < 0) throw std::bad_alloc();
  std::unique_ptr<gnutls_x509_crt_int, void (*)(gnutls_x509_crt_t)> owned(crt, gnutls_x509_crt_deinit);
  if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) < 0) return names;
  std::vector<unsigned char> buf(256);
  for (unsigned seq = 0;;) {
    size_t size = buf.size();
    int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf.data(), &size, nullptr);
    if (type == GNUTLS_E_SHORT_MEMORY_BUFFER) {
      buf.resize(size + 1);
      continue;
    }
    if (type == GNUTLS_E_MEMORY_ERROR) throw std::bad_alloc();
    if (type < 0) return names;  // GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE: the end of the list
    if (type == GNUTLS_SAN_DNSNAME) names.dns.emplace_back(reinterpret_cast<const char*>(buf.data()), size);
    if (type == GNUTLS_SAN_IPADDRESS) names.ip.emplace_back(buf.begin(), buf.begin() + static_cast<long>(size));
    ++seq;
  }
}

// Extracting the names parses the leaf again (gnutls_certificate_verify_peers
// keeps its parse to itself): a quarter of a million instructions, 2.5 % of
// a full handshake (callgrind). A client mostly meets the same leaf again,
// so the context keeps the last one's names, keyed by its DER bytes.
policy::SubjectAltNames GnuTlsContext::names_of(const gnutls_datum_t& leaf) const {
  std::span<const unsigned char> der(leaf.data, leaf.size);
  {
    std::lock_guard lock(names_mutex_);
    if (std::ranges::equal(der, names_der_)) return names_;
  }
  policy::SubjectAltNames names = subject_alt_names(leaf);
  std::lock_guard lock(names_mutex_);
  names_der_.assign(der.begin(), der.end());
  names_ = names;
  return names;
}

// Chain, purpose (serverAuth / clientAuth) and, on a client, the host name.
policy::CertificateFaults GnuTlsEngine::peer_faults() {
  const Config& config = context_.config();
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session_, &count);
  if (!chain || count == 0)  // a server with ClientAuth::optional or required
    return policy::verify_mode(config) == policy::Verify::required ? fault(Fault::missing) : 0;
  bool client = config.role == Role::client;
  const char* purpose_oid = client ? GNUTLS_KP_TLS_WWW_SERVER : GNUTLS_KP_TLS_WWW_CLIENT;
  gnutls_typed_vdata_st purpose{.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                .data = reinterpret_cast<unsigned char*>(const_cast<char*>(purpose_oid)), .size = 0};
  int rc = gnutls_certificate_verify_peers(session_, &purpose, 1, &verify_status_);
  if (rc == GNUTLS_E_MEMORY_ERROR) throw std::bad_alloc();
  policy::CertificateFaults faults = rc < 0 ? fault(Fault::bad_certificate) : faults_from_status(verify_status_);
  if (client && !policy::names_match(server_name_, context_.names_of(chain[0]))) faults |= fault(Fault::hostname);
  return faults;
}

std::string GnuTlsEngine::certificate_detail() const {
  OwnedDatum text;
  if (verify_status_ == 0 ||
      gnutls_certificate_verification_status_print(verify_status_, GNUTLS_CRT_X509, &text.d, 0) < 0)
    return {};
  return std::string(reinterpret_cast<const char*>(text.d.data), text.d.size);
}

int GnuTlsEngine::on_secret(const char* label, const gnutls_datum_t& secret) noexcept {
  const Config& config = context_.config();
  if (!config.keylog) return 0;  // installed anyway: GnuTLS would write SSLKEYLOGFILE itself
  gnutls_datum_t client_random{}, server_random{};
  gnutls_session_get_random(session_, &client_random, &server_random);
  return callback_failure_.run(
      "the keylog callback threw",
      [&] {
        config.keylog(nss_keylog_line(label, std::span(client_random.data, client_random.size),
                                      std::span(secret.data, secret.size)));
        return 0;
      },
      GNUTLS_E_MEMORY_ERROR);
}

int GnuTlsEngine::on_handshake_message(unsigned type, unsigned when, bool incoming,
                                       const gnutls_datum_t& message) noexcept {
  // Beside allocations, only the application's on_new_session can throw here.
  return callback_failure_.run("the on_new_session callback threw", [&] {
    bool server = context_.config().role == Role::server;
    if (type == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming && when == GNUTLS_HOOK_PRE && server)
      return on_client_hello(message);
    // The suite is checked as the server sends it and as the client receives it.
    if (type == GNUTLS_HANDSHAKE_SERVER_HELLO && when == GNUTLS_HOOK_PRE) return check_suite(message);
    // RFC 8446 §5.1: a KeyUpdate ends its record, yet GnuTLS 3.7 reads on
    // under the new keys (R23). A message that needed no pull since the
    // KeyUpdate came from the same record.
    if (incoming && io_.handshake_done() && when == GNUTLS_HOOK_PRE && key_update_pulls_ == pulls_) {
      correction_ = Correction{.protocol_alert = Alert::unexpected_message,
                               .detail = "a KeyUpdate that does not end its record (RFC 8446 §5.1)"};
      return GNUTLS_E_UNEXPECTED_PACKET;
    }
    if (type == GNUTLS_HANDSHAKE_KEY_UPDATE && incoming && when == GNUTLS_HOOK_POST) key_update_pulls_ = pulls_;
    // TLS 1.3 tickets arrive after the handshake, possibly several.
    if (type == GNUTLS_HANDSHAKE_NEW_SESSION_TICKET && incoming && when == GNUTLS_HOOK_POST && io_.handshake_done())
      surface_session();
    return 0;
  }, GNUTLS_E_MEMORY_ERROR);
}

void GnuTlsEngine::surface_session() {
  const Config& config = context_.config();
  if (config.role != Role::client || !config.on_new_session) return;
  OwnedDatum data;
  int rc = gnutls_session_get_data2(session_, &data.d);
  if (rc == GNUTLS_E_MEMORY_ERROR) throw std::bad_alloc();
  if (rc < 0) return;
  auto* bytes = reinterpret_cast<const std::byte*>(data.d.data);
  config.on_new_session(SessionBlob(bytes, bytes + data.d.size));
}

std::optional<Error> GnuTlsEngine::setup(const ConnectionOptions& options) {
  const Config& config = context_.config();
  bool client = config.role == Role::client;
  unsigned flags = (client ? GNUTLS_CLIENT : GNUTLS_SERVER) | GNUTLS_NONBLOCK;
  if (!config.session_tickets) flags |= GNUTLS_NO_TICKETS;
  // Like the others, a client sends its certificate whatever CAs the server names.
  if (client && (!config.cert_chain_file.empty() || !config.cert_chain_pem.empty())) flags |= GNUTLS_FORCE_CLIENT_CERT;
  int rc = gnutls_init(&session_, flags);
  if (rc < 0) return library_error("gnutls_init failed", rc);
  gnutls_session_set_ptr(session_, this);
  if ((rc = gnutls_priority_set(session_, context_.priority())) < 0 ||
      (rc = gnutls_credentials_set(session_, GNUTLS_CRD_CERTIFICATE, context_.credentials())) < 0)
    return library_error("cannot configure the GnuTLS session", rc);
  gnutls_transport_set_ptr(session_, this);
  gnutls_transport_set_push_function(session_, send_hook);
  gnutls_transport_set_pull_function(session_, receive_hook);
  gnutls_transport_set_pull_timeout_function(session_, receive_timeout_hook);
  gnutls_session_set_keylog_function(session_, keylog_hook);
  gnutls_handshake_set_hook_function(session_, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, handshake_hook);
  if (!client) {
    // Required: GnuTLS refuses a missing certificate itself; optional: the
    // verify hook judges one if it is sent.
    if (config.client_auth != ClientAuth::none)
      gnutls_certificate_server_set_request(
          session_, config.client_auth == ClientAuth::required ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
    if (context_.ticket_key() && (rc = gnutls_session_ticket_enable_server(session_, context_.ticket_key())) < 0)
      return library_error("cannot enable session tickets", rc);
    return std::nullopt;
  }
  const auto& alpn = context_.alpn();
  if (!alpn.empty() &&
      (rc = gnutls_alpn_set_protocols(session_, alpn.data(), static_cast<unsigned>(alpn.size()), 0)) < 0)
    return library_error("cannot set ALPN protocols", rc);
  server_name_ = policy::classify_server_name(options.server_name);
  if (server_name_.sends_sni() &&
      (rc = gnutls_server_name_set(session_, GNUTLS_NAME_DNS, server_name_.text.data(), server_name_.text.size())) < 0)
    return library_error("cannot use \"" + server_name_.text + "\" as SNI server name", rc);
  if (!options.resume_session.empty() &&
      gnutls_session_set_data(session_, options.resume_session.data(), options.resume_session.size()) < 0)
    return Error{errc::invalid_config, "resume_session is not a session saved by the gnutls backend"};
  return std::nullopt;
}

void GnuTlsEngine::on_handshake_done() {
  tls13_ = gnutls_protocol_get_version(session_) == GNUTLS_TLS1_3;
  // A TLS 1.2 ticket comes within the handshake; TLS 1.3 ones after it
  // (on_handshake_message).
  if (!tls13_) callback_failure_.run("the on_new_session callback threw", [&] { surface_session(); });
}

// ---- corrections: where GnuTLS departs from the contract -----------------------
// Each entry names the catalogue row or test that shows it; docs/divergences.md
// lists them. (R23, a KeyUpdate that does not end its record, is caught in
// on_handshake_message, where GnuTLS's handshake hook sees it.)

// R21, R33a, R33b. What the last record held, decrypted again with GnuTLS's read keys, when
// GnuTLS ended the stream on it: a record of padding only (GnuTLS says
// bad_record_mac) or an alert record holding more or less than one alert
// (GnuTLS takes the first, or says unexpected_message for a short one).
std::optional<Correction> GnuTlsEngine::inner_record_correction() const {
  gnutls_datum_t iv{}, key{};
  unsigned char seq[8];
  if (!tls13_ || !last_.kept() || last_.length <= 16 ||
      gnutls_record_get_state(session_, 1, nullptr, &iv, &key, seq) < 0 || iv.size != 12)
    return std::nullopt;
  gnutls_aead_cipher_hd_t aead = nullptr;
  if (gnutls_aead_cipher_init(&aead, gnutls_cipher_get(session_), &key) < 0) return std::nullopt;
  unsigned char plain[LastRecord::max_body];
  std::size_t size = 0;
  bool opened = false;
  // Its sequence number is the current one if GnuTLS could not open it, the
  // one before if it did: the tag tells which.
  for (std::uint64_t back = 0; back < 2 && !opened; ++back) {
    std::uint64_t n = 0;
    for (unsigned char b : seq) n = n << 8 | b;
    n -= back;
    unsigned char nonce[12];
    std::memcpy(nonce, iv.data, 12);
    for (int i = 11; i >= 4; --i, n >>= 8) nonce[i] ^= static_cast<unsigned char>(n & 0xff);
    size = sizeof plain;
    opened = gnutls_aead_cipher_decrypt(aead, nonce, 12, last_.bytes, 5, 16, last_.bytes + 5, last_.length, plain,
                                        &size) == 0;
  }
  gnutls_aead_cipher_deinit(aead);
  if (!opened) return std::nullopt;  // a bad tag: GnuTLS's bad_record_mac stands
  while (size > 0 && plain[size - 1] == 0) --size;
  if (size == 0)
    return Correction{.protocol_alert = Alert::unexpected_message,
                      .detail = "a TLS 1.3 record of padding only, without a content type"};
  if (plain[size - 1] == 21 && size - 1 != 2)
    return Correction{.protocol_alert = Alert::decode_error,
                      .detail = "an alert record that does not hold exactly one alert (RFC 8446 §5.1)"};
  return std::nullopt;
}

// The server's choices (ALPN order: AlpnWithoutOverlapIsRefused,
// ServerCipherPreferenceWins; key share: Tls13ServersUseAKeyShareTheClientSent),
// where GnuTLS would choose otherwise: the ALPN
// protocol in the server's order (policy::select_alpn; no overlap is fatal,
// RFC 7301 §3.2), and a group the client sent a key share for.
int GnuTlsEngine::on_client_hello(const gnutls_datum_t& client_hello) {
  struct Offered {
    std::span<const unsigned char> alpn, key_shares;
    bool has_alpn = false;
  } offered;
  gnutls_ext_raw_parse(
      &offered,
      [](void* ctx, unsigned id, const unsigned char* data, unsigned size) {
        auto& o = *static_cast<Offered*>(ctx);
        if (size < 2) return 0;
        if (id == 16) o.alpn = std::span(data + 2, size - 2), o.has_alpn = true;  // after the lists' lengths
        if (id == 51) o.key_shares = std::span(data + 2, size - 2);
        return 0;
      },
      &client_hello, GNUTLS_EXT_RAW_FLAG_TLS_CLIENT_HELLO);
  std::size_t first = context_.priorities();
  record::for_each_key_share_group(offered.key_shares, [&](std::array<unsigned char, 2> group) {
    for (std::size_t i = 0; i < first; ++i)
      if (group[0] == groups[i].id[0] && group[1] == groups[i].id[1]) first = i;
  });
  int rc = 0;
  if (first < context_.priorities() && (rc = gnutls_priority_set(session_, context_.priority(first))) < 0) return rc;
  const auto& ours = context_.config().alpn;
  if (ours.empty() || !offered.has_alpn) return 0;  // ALPN not used
  auto chosen = policy::select_alpn(ours, offered.alpn);
  if (!chosen) return GNUTLS_E_NO_APPLICATION_PROTOCOL;
  gnutls_datum_t protocol{.data = const_cast<unsigned char*>(chosen->data()),
                          .size = static_cast<unsigned>(chosen->size())};
  return gnutls_alpn_set_protocols(session_, &protocol, 1, GNUTLS_ALPN_MANDATORY);
}

// A suite outside Config::cipher_suites (CipherSuitesOutsideTheConfiguredSetAreNeverNegotiated):
// a GnuTLS priority string allows every combination of the suites' parts.
int GnuTlsEngine::check_suite(const gnutls_datum_t& server_hello) {
  auto chosen = record::server_hello_cipher_suite(std::span(server_hello.data, server_hello.size));
  if (!chosen || context_.allows(chosen->data())) return 0;  // a short one: GnuTLS refuses it itself
  std::string name = "a suite lastbyte does not allow";
  for (const Suite& suite : suites)
    if (suite.id[0] == (*chosen)[0] && suite.id[1] == (*chosen)[1]) name = suite.iana;
  correction_ = Correction{.handshake_reason = RejectReason::no_shared_cipher,
                           .detail = name + " was negotiated, outside Config::cipher_suites (a GnuTLS "
                                                "priority string allows every combination of the suites' ciphers "
                                                "and key exchanges)"};
  return GNUTLS_E_UNKNOWN_CIPHER_SUITE;
}

}  // namespace

const Backend& gnutls() {
  static const Backend backend{
      .name = "gnutls",
      .library_version = [] { return "GnuTLS " + std::string(gnutls_check_version(nullptr)); },
      .supports = [](TlsVersion) { return true; },
      .exports_secrets = [](TlsVersion) { return true; },  // gnutls_session_set_keylog_function, 1.2 and 1.3
      .create_context = &GnuTlsContext::create,
  };
  return backend;
}

}  // namespace lastbyte::backends
