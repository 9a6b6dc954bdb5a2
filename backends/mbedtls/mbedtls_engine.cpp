// Mbed TLS 2.28 adapter (TLS 1.2 only). I/O goes through mbedtls_ssl_set_bio
// onto the core's queues; the receive hook never reports EOF, so Mbed TLS's
// "0 means EOF" and MBEDTLS_ERR_SSL_CONN_EOF never reach the application.
#include <lastbyte/backends/mbedtls.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>
#include <lastbyte/engine/record.hpp>

#include "ecp_tables.hpp"

#include <mbedtls/asn1.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/dhm.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>  // handshake->resume: 2.28 has no public "resumed" query
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/threading.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

namespace lastbyte::backends {

namespace mbedtls_detail {

namespace {

bool is_ec(const mbedtls_pk_context& pk) {
  return mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECKEY) || mbedtls_pk_can_do(&pk, MBEDTLS_PK_ECDSA);
}

// Returns 1 if it computed the table, 0 if there was none to compute.
int precompute(mbedtls_pk_context& pk, int (*f_rng)(void*, unsigned char*, std::size_t), void* p_rng) {
  if (!is_ec(pk)) return 0;
  mbedtls_ecp_group& grp = mbedtls_pk_ec(pk)->grp;
  if (grp.T != nullptr) return 0;
  mbedtls_ecp_point product;
  mbedtls_ecp_point_init(&product);
  mbedtls_mpi one;
  mbedtls_mpi_init(&one);
  int rc = mbedtls_mpi_lset(&one, 1);
  // m = 1 is a valid scalar, and mbedtls_ecp_mul takes no shortcut for it:
  // the comb method runs, and with P == G it keeps its table in grp->T.
  if (rc == 0) rc = mbedtls_ecp_mul(&grp, &product, &one, &grp.G, f_rng, p_rng);
  mbedtls_mpi_free(&one);
  mbedtls_ecp_point_free(&product);
  return rc == 0 ? 1 : rc;
}

}  // namespace

int precompute_shared_ecp_tables(mbedtls_pk_context* key, mbedtls_x509_crt* anchors,
                                 int (*f_rng)(void*, unsigned char*, std::size_t), void* p_rng) {
  int computed = 0;
  if (key) {
    int rc = precompute(*key, f_rng, p_rng);
    if (rc < 0) return rc;
    computed += rc;
  }
  for (mbedtls_x509_crt* crt = anchors; crt && crt->raw.p; crt = crt->next) {
    int rc = precompute(crt->pk, f_rng, p_rng);
    if (rc < 0) return rc;
    computed += rc;
  }
  return computed;
}

bool has_generator_table(const mbedtls_pk_context& pk) { return is_ec(pk) && mbedtls_pk_ec(pk)->grp.T != nullptr; }

}  // namespace mbedtls_detail

namespace {

// ---- errors -----------------------------------------------------------------

std::string describe_error(int rc) {
  char buf[160];
  mbedtls_strerror(rc, buf, sizeof buf);
  return buf;
}

// Mbed TLS error codes are a high-level module's code plus a low-level
// one (MBEDTLS_ERR_X509_INVALID_FORMAT + MBEDTLS_ERR_ASN1_ALLOC_FAILED, ...):
// either part may say that an allocation failed.
bool is_allocation_failure(int rc) {
  if (rc >= 0) return false;
  int high = -(-rc & 0xff80), low = -(-rc & 0x7f);
  for (int code : {high, low})
    switch (code) {
      case MBEDTLS_ERR_SSL_ALLOC_FAILED:
      case MBEDTLS_ERR_X509_ALLOC_FAILED:
      case MBEDTLS_ERR_PK_ALLOC_FAILED:
      case MBEDTLS_ERR_ECP_ALLOC_FAILED:
      case MBEDTLS_ERR_MD_ALLOC_FAILED:
      case MBEDTLS_ERR_CIPHER_ALLOC_FAILED:
      case MBEDTLS_ERR_PEM_ALLOC_FAILED:
      case MBEDTLS_ERR_DHM_ALLOC_FAILED:
      case MBEDTLS_ERR_MPI_ALLOC_FAILED:
      case MBEDTLS_ERR_ASN1_ALLOC_FAILED: return true;
      default: break;
    }
  return false;
}

// Failures of Mbed TLS itself, never the peer's doing: an internal error,
// the ECDH shared secret of a point already accepted, a mutex (the
// deterministic ECDSA of 2.28 ignores mbedtls_hmac_drbg_seed_buf()'s
// allocation failure; the unseeded generator's mutex then reports
// MBEDTLS_ERR_THREADING_BAD_INPUT_DATA).
bool is_local_failure(int rc) {
  int low = rc < 0 ? -(-rc & 0x7f) : 0;
  return rc == MBEDTLS_ERR_SSL_INTERNAL_ERROR || rc == MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE_CS ||
         low == MBEDTLS_ERR_THREADING_BAD_INPUT_DATA || low == MBEDTLS_ERR_THREADING_MUTEX_ERROR;
}

Error library_error(const std::string& what, int rc) {
  return {.code = is_allocation_failure(rc) ? errc::out_of_memory : errc::backend_failure,
          .detail = what + " (" + describe_error(rc) + ")"};
}

// PEM text as Mbed TLS wants it: NUL-terminated, length including the NUL.
const unsigned char* pem_bytes(const std::string& pem) { return reinterpret_cast<const unsigned char*>(pem.c_str()); }

// ---- error classes ----------------------------------------------------------

// Verification flags to certificate faults; policy::reason_for picks the
// one reported, in the same order on every backend.
using Fault = policy::CertificateFault;
policy::CertificateFaults faults_from_flags(std::uint32_t flags) {
  constexpr std::pair<std::uint32_t, Fault> table[] = {
      {MBEDTLS_X509_BADCERT_MISSING, Fault::missing},
      {MBEDTLS_X509_BADCERT_NOT_TRUSTED, Fault::untrusted},
      {MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE,
       Fault::usage},
      {MBEDTLS_X509_BADCERT_CN_MISMATCH, Fault::hostname},
      {MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE, Fault::expired},
  };
  policy::CertificateFaults faults = 0;
  std::uint32_t known = 0;
  for (auto [bits, fault] : table) {
    if (flags & bits) faults |= static_cast<policy::CertificateFaults>(fault);
    known |= bits;
  }
  if (flags & ~known) faults |= static_cast<policy::CertificateFaults>(Fault::bad_certificate);
  return faults;
}

// The names the core's policy matches: subjectAltName only (2.28's own
// check falls back to the CN, and knows no iPAddress names).
policy::SubjectAltNames subject_alt_names(const mbedtls_x509_crt& crt) {
  policy::SubjectAltNames names;
  if (!(crt.ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME)) return names;
  for (const mbedtls_x509_sequence* san = &crt.subject_alt_names; san && san->buf.p; san = san->next) {
    const unsigned char* value = san->buf.p;
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2))  // dNSName
      names.dns.emplace_back(reinterpret_cast<const char*>(value), san->buf.len);
    if (san->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7))  // iPAddress
      names.ip.emplace_back(value, value + san->buf.len);
  }
  return names;
}

// A failed handshake's reason where Mbed TLS's error says more than its alert.
std::optional<RejectReason> reject_reason_from_error(int rc) {
  if (rc == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE) return RejectReason::certificate_required;
  if (rc == MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE || rc == MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN)
    return RejectReason::no_shared_cipher;
  if (rc == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION) return RejectReason::protocol_version;
  return std::nullopt;
}

// After the handshake: Mbed TLS error codes to one alert class.
Alert alert_class(int rc) {
  switch (rc) {
    case MBEDTLS_ERR_SSL_INVALID_MAC: return Alert::bad_record_mac;
    case MBEDTLS_ERR_SSL_INVALID_RECORD: return Alert::record_overflow;
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE:
    case MBEDTLS_ERR_SSL_UNEXPECTED_RECORD: return Alert::unexpected_message;
    default: return Alert::decode_error;
  }
}

// ---- the engine -------------------------------------------------------------

class MbedTlsContext;
class MbedTlsEngine;
int send_hook(void* engine, const unsigned char* data, std::size_t len);
int receive_hook(void* engine, unsigned char* data, std::size_t len);
int verify_hook(void* context, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags);
int keylog_hook(void* context, const unsigned char* master, const unsigned char*, std::size_t, std::size_t,
                std::size_t, const unsigned char client_random[32], const unsigned char[32], mbedtls_tls_prf_types);

// The engine whose call is running on this thread: Mbed TLS 2.28 passes
// its key export callback the configuration's context only.
thread_local MbedTlsEngine* running_engine = nullptr;

class MbedTlsEngine final : public Engine {
 public:
  MbedTlsEngine(EngineIo io, const MbedTlsContext& context) : io_(io), context_(context) { mbedtls_ssl_init(&ssl_); }
  ~MbedTlsEngine() override { mbedtls_ssl_free(&ssl_); }

  std::optional<Error> setup(const ConnectionOptions& options);

  EngineStatus handshake() override {
    Running running(this);
    while (ssl_.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
      int rc = mbedtls_ssl_handshake_step(&ssl_);
      if (ssl_.handshake && ssl_.handshake->resume) resumed_ = true;
      if (callback_failure_) return EngineStatus::failed;
      if (rc != 0) return status_after(rc);
    }
    on_handshake_done();
    return callback_failure_ ? EngineStatus::failed : EngineStatus::done;
  }

  EngineResult read(std::span<std::byte> out) override {
    Running running(this);
    int rc;
    std::size_t before;
    // Read on while Mbed TLS consumes records without returning plaintext:
    // 0 is an empty record (our bio never reports EOF; the core's record gate
    // bounds how many come in a row, R14, R15), and WANT_READ after pulling
    // a record is a warning alert it passed up and ignored (2.28 returns
    // WANT_READ for a TLS 1.2 no_renegotiation warning). Only a WANT_READ
    // that pulled nothing means every complete record was consumed: taken
    // for that, the core reported Truncated with complete records and the
    // peer's close_notify still queued.
    do {
      before = pulled_;
      rc = mbedtls_ssl_read(&ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size());
    } while (rc == 0 || (rc == MBEDTLS_ERR_SSL_WANT_READ && pulled_ != before));
    if (rc > 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
    return {0, status_after(rc)};
  }

  EngineResult write(std::span<const std::byte> plaintext) override {
    Running running(this);
    int rc = mbedtls_ssl_write(&ssl_, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size());
    if (rc >= 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
    return {0, status_after(rc)};
  }

  EngineStatus send_close_notify() override {
    Running running(this);
    int rc = mbedtls_ssl_close_notify(&ssl_);
    return rc == 0 ? EngineStatus::done : status_after(rc);
  }

  // The verify callback, once per certificate of the chain, the leaf last:
  // a chain that comes out with flags is kept (as DER) to be confirmed
  // (verdict_repeats); Mbed TLS frees its own copy when verification fails.
  int on_verified(const mbedtls_x509_crt* crt, int depth, std::uint32_t flags) noexcept {
    if (confirming_) return 0;
    flags_seen_ = flags_seen_ || flags != 0;
    if (depth != 0 || !std::exchange(flags_seen_, false)) return 0;
    try {
      refused_chain_.clear();
      for (const mbedtls_x509_crt* c = crt; c && c->raw.p; c = c->next)
        refused_chain_.emplace_back(c->raw.p, c->raw.p + c->raw.len);
      return 0;
    } catch (const std::bad_alloc&) {
      return MBEDTLS_ERR_X509_ALLOC_FAILED;
    }
  }

  const policy::ServerName& server_name() const { return server_name_; }

  std::size_t pending_plaintext() const override { return mbedtls_ssl_get_bytes_avail(&ssl_); }

  // Mbed TLS 2.28 allocates its input and output buffers (16.7 KiB each)
  // in mbedtls_ssl_setup() and keeps them for the session's life; only a
  // build with MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH, which Debian's is not,
  // shrinks them. Nothing can be freed.
  void release_idle_buffers() override {}

  SessionInfo session_info() const override {
    SessionInfo info;
    info.version = TlsVersion::tls1_2;
    std::string name = mbedtls_ssl_get_ciphersuite(&ssl_);  // "TLS-ECDHE-...": IANA with dashes
    std::replace(name.begin(), name.end(), '-', '_');
    info.cipher = name;
    if (const char* alpn = mbedtls_ssl_get_alpn_protocol(&ssl_)) info.alpn = alpn;
    info.resumed = resumed_;
    return info;
  }

  EngineFailure failure() const override {
    std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
    return {
        .callback_failed = callback_failure_.why(),
        .out_of_memory = out_of_memory_ || is_allocation_failure(error_),
        .alert_received = error_ == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ? std::optional(static_cast<Alert>(ssl_.in_msg[1]))
                                                                      : std::nullopt,
        .alert_sent = handshake_alert_sent_,
        .library_internal = is_local_failure(error_),
        // Set by chain verification and by the key-usage checks (which fail
        // with MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE instead); -1: no check ran.
        .certificate_faults = flags != static_cast<std::uint32_t>(-1) ? faults_from_flags(flags) : 0,
        .handshake_reason = reject_reason_from_error(error_),
        .protocol_alert = alert_class(error_),
        .detail = describe_error(error_),
    };
  }

  // ---- Mbed TLS's callbacks (through the hooks below) ----

  int send(const unsigned char* data, std::size_t len) {
    // Handshake alerts are still plaintext: note which one we sent, since
    // Mbed TLS reports only an error code.
    if (!io_.handshake_done())
      if (auto alert = record::plaintext_fatal_alert(std::span(data, len))) handshake_alert_sent_ = static_cast<Alert>(*alert);
    io_.push(std::as_bytes(std::span(data, len)));
    return static_cast<int>(len);
  }

  int receive(unsigned char* data, std::size_t len) {
    std::size_t n = io_.pull(std::as_writable_bytes(std::span(data, len)));
    pulled_ += n;
    return n > 0 ? static_cast<int>(n) : MBEDTLS_ERR_SSL_WANT_READ;  // never EOF: the core decides
  }

  CallbackFailure& callback_failure() { return callback_failure_; }

 private:

  EngineStatus status_after(int rc) {
    switch (rc) {
      case MBEDTLS_ERR_SSL_WANT_READ:
      case MBEDTLS_ERR_SSL_WANT_WRITE: return EngineStatus::want_input;
      case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY: return EngineStatus::peer_closed;
      default:
        error_ = rc;
        if (!io_.handshake_done() && (!verdict_repeats() || !peer_share_is_bad(rc))) out_of_memory_ = true;
        return EngineStatus::failed;
    }
  }

  bool verdict_repeats();
  bool peer_share_is_bad(int rc) const;
  void on_handshake_done();

  struct Running {
    explicit Running(MbedTlsEngine* engine) : previous(running_engine) { running_engine = engine; }
    ~Running() { running_engine = previous; }
    MbedTlsEngine* previous;
  };

  EngineIo io_;
  const MbedTlsContext& context_;
  mbedtls_ssl_context ssl_;
  int error_ = 0;
  std::size_t pulled_ = 0;  // ciphertext bytes Mbed TLS took from the core's queue
  policy::ServerName server_name_;
  bool resumed_ = false;
  bool out_of_memory_ = false;
  CallbackFailure callback_failure_;
  std::optional<Alert> handshake_alert_sent_;
  bool flags_seen_ = false, confirming_ = false;
  std::vector<std::vector<unsigned char>> refused_chain_;  // DER, leaf first
};

// ---- the context ------------------------------------------------------------

class MbedTlsContext final : public EngineContext {
 public:
  explicit MbedTlsContext(const Config& config) : config_(config) {
    mbedtls_ssl_config_init(&conf_);
    mbedtls_entropy_init(&entropy_);
    mbedtls_ctr_drbg_init(&drbg_);
    mbedtls_x509_crt_init(&ca_);
    mbedtls_x509_crt_init(&chain_);
    mbedtls_pk_init(&key_);
    mbedtls_ssl_ticket_init(&tickets_);
  }
  ~MbedTlsContext() override {
    mbedtls_ssl_ticket_free(&tickets_);
    mbedtls_pk_free(&key_);
    mbedtls_x509_crt_free(&chain_);
    mbedtls_x509_crt_free(&ca_);
    mbedtls_ctr_drbg_free(&drbg_);
    mbedtls_entropy_free(&entropy_);
    mbedtls_ssl_config_free(&conf_);
  }

  static Expected<std::unique_ptr<EngineContext>> create(const Config& config) {
    auto context = std::make_unique<MbedTlsContext>(config);
    if (auto error = context->configure()) return *error;
    return std::unique_ptr<EngineContext>(std::move(context));
  }

  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override {
    auto engine = std::make_unique<MbedTlsEngine>(io, *this);
    if (auto error = engine->setup(options)) return *error;
    return std::unique_ptr<Engine>(std::move(engine));
  }

  const Config& config() const { return config_; }
  const mbedtls_ssl_config* conf() const { return &conf_; }

 private:
  std::optional<Error> configure();
  std::optional<Error> load_trust();
  std::vector<int> cipher_suites_;  // zero-terminated; conf_ points into it
  std::optional<Error> load_identity();

  Config config_;
  mbedtls_ssl_config conf_;
  mbedtls_entropy_context entropy_;
  mbedtls_ctr_drbg_context drbg_;
  mbedtls_x509_crt ca_, chain_;
  mbedtls_pk_context key_;
  mbedtls_ssl_ticket_context tickets_;
  std::vector<const char*> alpn_;  // NULL-terminated, pointing into config_.alpn
};

std::optional<Error> MbedTlsContext::configure() {
  bool client = config_.role == Role::client;
  int rc = mbedtls_ctr_drbg_seed(&drbg_, mbedtls_entropy_func, &entropy_,
                                 reinterpret_cast<const unsigned char*>("lastbyte"), 8);
  if (rc != 0) return library_error("cannot seed the random generator", rc);
  rc = mbedtls_ssl_config_defaults(&conf_, client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
                                   MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc != 0) return library_error("mbedtls_ssl_config_defaults failed", rc);
  mbedtls_ssl_conf_rng(&conf_, mbedtls_ctr_drbg_random, &drbg_);
  mbedtls_ssl_conf_min_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_max_version(&conf_, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  // IANA names from the core (allowed, TLS 1.2 only here); Mbed TLS spells them with dashes.
  for (std::string name : config_.cipher_suites) {
    std::replace(name.begin(), name.end(), '_', '-');
    int id = mbedtls_ssl_get_ciphersuite_id(name.c_str());
    if (id == 0) return Error{errc::unsupported_by_backend, "cipher suite " + name + " is not in this Mbed TLS build"};
    cipher_suites_.push_back(id);
  }
  cipher_suites_.push_back(0);
  mbedtls_ssl_conf_ciphersuites(&conf_, cipher_suites_.data());
  mbedtls_ssl_conf_renegotiation(&conf_, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
  mbedtls_ssl_conf_legacy_renegotiation(&conf_, MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
  if (config_.keylog) mbedtls_ssl_conf_export_keys_ext_cb(&conf_, keylog_hook, this);

  policy::Verify mode = policy::verify_mode(config_);
  mbedtls_ssl_conf_authmode(&conf_, mode == policy::Verify::none       ? MBEDTLS_SSL_VERIFY_NONE
                                    : mode == policy::Verify::optional ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                                       : MBEDTLS_SSL_VERIFY_REQUIRED);
  if (mode != policy::Verify::none) {
    if (auto error = load_trust()) return error;
    mbedtls_ssl_conf_ca_chain(&conf_, &ca_, nullptr);
    mbedtls_ssl_conf_verify(&conf_, verify_hook, this);
  }
  if (auto error = load_identity()) return error;
  // Before any connection exists: see ecp_tables.hpp (the groups every
  // handshake of this Context reads from several threads).
  if ((rc = mbedtls_detail::precompute_shared_ecp_tables(&key_, &ca_, mbedtls_ctr_drbg_random, &drbg_)) < 0)
    return library_error("cannot precompute the EC tables of the key and trust anchors", rc);

  if (client) {
    mbedtls_ssl_conf_session_tickets(&conf_, config_.session_tickets ? MBEDTLS_SSL_SESSION_TICKETS_ENABLED
                                                                     : MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
  } else if (config_.session_tickets) {
    rc = mbedtls_ssl_ticket_setup(&tickets_, mbedtls_ctr_drbg_random, &drbg_, MBEDTLS_CIPHER_AES_256_GCM, 86400);
    if (rc != 0) return library_error("cannot set up session tickets", rc);
    mbedtls_ssl_conf_session_tickets_cb(&conf_, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &tickets_);
  }
  if (!config_.alpn.empty()) {
    for (const auto& protocol : config_.alpn) alpn_.push_back(protocol.c_str());
    alpn_.push_back(nullptr);
    if ((rc = mbedtls_ssl_conf_alpn_protocols(&conf_, alpn_.data())) != 0)
      return library_error("cannot set ALPN protocols", rc);
  }
  return std::nullopt;
}

std::optional<Error> MbedTlsContext::load_trust() {
  if (config_.ca_file.empty() && config_.ca_dir.empty() && config_.ca_pem.empty()) {
    // An empty or missing system store leaves no anchor: every chain is then
    // untrusted, as with the other backends.
    mbedtls_x509_crt_parse_path(&ca_, "/etc/ssl/certs");
    return std::nullopt;
  }
  int rc = 0;
  if (!config_.ca_file.empty() && (rc = mbedtls_x509_crt_parse_file(&ca_, config_.ca_file.c_str())) < 0)
    return library_error("cannot load trust anchors from ca_file \"" + config_.ca_file + "\"", rc);
  if (!config_.ca_dir.empty() && (rc = mbedtls_x509_crt_parse_path(&ca_, config_.ca_dir.c_str())) < 0)
    return library_error("cannot load trust anchors from ca_dir \"" + config_.ca_dir + "\"", rc);
  if (!config_.ca_pem.empty() &&
      (rc = mbedtls_x509_crt_parse(&ca_, pem_bytes(config_.ca_pem), config_.ca_pem.size() + 1)) != 0)
    return library_error("ca_pem holds no usable PEM certificate", rc);
  return std::nullopt;
}

std::optional<Error> MbedTlsContext::load_identity() {
  int rc = 0;
  if (!config_.cert_chain_file.empty() && (rc = mbedtls_x509_crt_parse_file(&chain_, config_.cert_chain_file.c_str())) != 0)
    return library_error("cannot load cert_chain_file \"" + config_.cert_chain_file + "\"", rc);
  if (!config_.cert_chain_pem.empty() &&
      (rc = mbedtls_x509_crt_parse(&chain_, pem_bytes(config_.cert_chain_pem), config_.cert_chain_pem.size() + 1)) != 0)
    return library_error("cert_chain_pem is not a usable PEM certificate chain", rc);
  if (!config_.private_key_file.empty() &&
      (rc = mbedtls_pk_parse_keyfile(&key_, config_.private_key_file.c_str(), nullptr)) != 0)
    return library_error("cannot load private_key_file \"" + config_.private_key_file + "\"", rc);
  if (!config_.private_key_pem.empty() &&
      (rc = mbedtls_pk_parse_key(&key_, pem_bytes(config_.private_key_pem), config_.private_key_pem.size() + 1,
                                 nullptr, 0)) != 0)
    return library_error("private_key_pem is not a usable PEM private key", rc);
  if (config_.cert_chain_file.empty() && config_.cert_chain_pem.empty()) return std::nullopt;
  if ((rc = mbedtls_pk_check_pair(&chain_.pk, &key_)) != 0)
    return library_error("the private key does not match the certificate", rc);
  if ((rc = mbedtls_ssl_conf_own_cert(&conf_, &chain_, &key_)) != 0)
    return library_error("cannot use the certificate chain", rc);
  return std::nullopt;
}

// ---- hooks: Mbed TLS's C callbacks into the engine ---------------------------

int send_hook(void* engine, const unsigned char* data, std::size_t len) {
  return static_cast<MbedTlsEngine*>(engine)->send(data, len);
}
int receive_hook(void* engine, unsigned char* data, std::size_t len) {
  return static_cast<MbedTlsEngine*>(engine)->receive(data, len);
}

// The server's name is the core's policy to check (policy::names_match), in
// place of 2.28's own check.
int verify_hook(void* context, mbedtls_x509_crt* crt, int depth, std::uint32_t* flags) {
  if (!running_engine) return 0;
  if (depth == 0 && static_cast<MbedTlsContext*>(context)->config().role == Role::client) {
    int rc = running_engine->callback_failure().run(
        "the certificate check threw",
        [&] {
          bool named = policy::names_match(running_engine->server_name(), subject_alt_names(*crt));
          *flags = named ? *flags & ~MBEDTLS_X509_BADCERT_CN_MISMATCH : *flags | MBEDTLS_X509_BADCERT_CN_MISMATCH;
          return 0;
        },
        MBEDTLS_ERR_X509_ALLOC_FAILED);
    if (rc != 0) return rc;
  }
  return running_engine->on_verified(crt, depth, *flags);
}

int keylog_hook(void* context, const unsigned char* master, const unsigned char*, std::size_t, std::size_t,
                std::size_t, const unsigned char client_random[32], const unsigned char[32], mbedtls_tls_prf_types) {
  if (!running_engine) return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
  bool ok = running_engine->callback_failure().run("the keylog callback threw", [&] {
    static_cast<MbedTlsContext*>(context)->config().keylog(
        nss_keylog_line("CLIENT_RANDOM", std::span(client_random, 32), std::span(master, 48)));
  });
  return ok ? 0 : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

// ---- the rest of the engine ---------------------------------------------------

std::optional<Error> MbedTlsEngine::setup(const ConnectionOptions& options) {
  const Config& config = context_.config();
  int rc = mbedtls_ssl_setup(&ssl_, context_.conf());
  if (rc != 0) return library_error("mbedtls_ssl_setup failed", rc);
  mbedtls_ssl_set_bio(&ssl_, this, send_hook, receive_hook, nullptr);
  if (config.role == Role::server) return std::nullopt;
  // SNI for a DNS name (the verify callback checks the name, DNS or IP).
  server_name_ = policy::classify_server_name(options.server_name);
  if (server_name_.sends_sni() && (rc = mbedtls_ssl_set_hostname(&ssl_, server_name_.text.c_str())) != 0)
    return library_error("cannot use \"" + server_name_.text + "\" as server name", rc);
  if (!options.resume_session.empty()) {
    mbedtls_ssl_session session;
    mbedtls_ssl_session_init(&session);
    rc = mbedtls_ssl_session_load(&session, reinterpret_cast<const unsigned char*>(options.resume_session.data()),
                                  options.resume_session.size());
    if (rc == 0) rc = mbedtls_ssl_set_session(&ssl_, &session);
    mbedtls_ssl_session_free(&session);
    if (is_allocation_failure(rc)) return library_error("cannot load resume_session", rc);
    if (rc != 0) return Error{errc::invalid_config, "resume_session is not a session saved by the mbedtls backend"};
  }
  return std::nullopt;
}

// A session that cannot be serialised (no memory) fails the connection
// rather than reach the application truncated or not at all.
void MbedTlsEngine::on_handshake_done() {
  const Config& config = context_.config();
  if (config.role != Role::client || !config.on_new_session) return;
  // Serialised straight from the live session: mbedtls_ssl_get_session()
  // would first copy it, re-parsing the server's certificate (a fifth of a
  // resumed handshake's instructions, callgrind).
  const mbedtls_ssl_session* session = ssl_.session;
  std::size_t len = 0;
  if (!session || mbedtls_ssl_session_save(session, nullptr, 0, &len) != MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL) return;
  callback_failure_.run("the on_new_session callback threw", [&] {
    SessionBlob blob(len);
    if (mbedtls_ssl_session_save(session, reinterpret_cast<unsigned char*>(blob.data()), len, &len) != 0)
      throw std::bad_alloc();
    config.on_new_session(blob);
  });
}

// ---- corrections: where Mbed TLS departs from the contract ---------------------
// Each entry names the catalogue row or test that shows it; docs/divergences.md
// lists them. Both correct the out-of-memory fact: Mbed TLS blames the peer
// for some of its own allocation failures.

// alloc_failure_mbedtls_*: Mbed TLS reads a signature check that could not allocate as "not
// trusted" (x509_crt_check_signature() keeps only pass or fail), so a
// verdict on the peer's chain is confirmed once, on a fresh parse of it
// with the same anchors, profile, name and callback: one that does not
// repeat, or cannot be checked for want of memory, was an allocation
// failure.
bool MbedTlsEngine::verdict_repeats() {
  std::uint32_t flags = mbedtls_ssl_get_verify_result(&ssl_);
  if (flags == 0 || flags == static_cast<std::uint32_t>(-1) || refused_chain_.empty()) return true;
  // The key-usage checks come after verification and allocate nothing.
  constexpr std::uint32_t usage =
      MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE;
  const mbedtls_ssl_config* conf = ssl_.conf;
  mbedtls_x509_crt chain;
  mbedtls_x509_crt_init(&chain);
  int rc = 0;
  for (const auto& der : refused_chain_)
    if (rc == 0) rc = mbedtls_x509_crt_parse_der(&chain, der.data(), der.size());
  std::uint32_t again = 0;
  if (rc == 0) {
    confirming_ = true;
    rc = mbedtls_x509_crt_verify_with_profile(&chain, conf->ca_chain, conf->ca_crl, conf->cert_profile, ssl_.hostname,
                                              &again, conf->f_vrfy, conf->p_vrfy);
    confirming_ = false;
  }
  mbedtls_x509_crt_free(&chain);
  return rc != 0 && !is_allocation_failure(rc) && again == (flags & ~usage);
}

// alloc_failure_mbedtls_*: Mbed TLS turns an allocation failure while it reads the peer's ECDH share
// into a code that blames the peer (MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE,
// MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE_RP), so the share, still in the
// input buffer, is read once more by a fresh context: one that reads now
// (and names a curve we offered), or cannot be read for want of memory,
// was an allocation failure.
bool MbedTlsEngine::peer_share_is_bad(int rc) const {
  bool client = rc == MBEDTLS_ERR_SSL_BAD_HS_SERVER_KEY_EXCHANGE && ssl_.state == MBEDTLS_SSL_SERVER_KEY_EXCHANGE;
  bool server = rc == MBEDTLS_ERR_SSL_BAD_HS_CLIENT_KEY_EXCHANGE_RP && ssl_.state == MBEDTLS_SSL_CLIENT_KEY_EXCHANGE;
  if ((!client && !server) || !ssl_.handshake || ssl_.in_hslen < mbedtls_ssl_hs_hdr_len(&ssl_)) return true;
  const unsigned char* p = ssl_.in_msg + mbedtls_ssl_hs_hdr_len(&ssl_);
  const unsigned char* end = ssl_.in_msg + ssl_.in_hslen;
  mbedtls_ecdh_context fresh;
  mbedtls_ecdh_init(&fresh);
  int again = 0;
  if (client) {
    again = mbedtls_ecdh_read_params(&fresh, &p, end);
    if (again == 0 && mbedtls_ssl_check_curve(&ssl_, fresh.grp.id) != 0) again = rc;
  } else {
    again = mbedtls_ecdh_setup(&fresh, ssl_.handshake->ecdh_ctx.grp.id);
    if (again == 0) again = mbedtls_ecdh_read_public(&fresh, p, static_cast<std::size_t>(end - p));
  }
  mbedtls_ecdh_free(&fresh);
  return again != 0 && !is_allocation_failure(again);
}

}  // namespace

const Backend& mbedtls() {
  static const Backend backend{
      .name = "mbedtls",
      .library_version =
          [] {
            char version[18];
            mbedtls_version_get_string_full(version);
            return std::string(version);
          },
      .supports = [](TlsVersion v) { return v == TlsVersion::tls1_2; },
      .exports_secrets = [](TlsVersion v) { return v == TlsVersion::tls1_2; },  // mbedtls_ssl_conf_export_keys_ext_cb
      .create_context = &MbedTlsContext::create,
  };
  return backend;
}

}  // namespace lastbyte::backends
