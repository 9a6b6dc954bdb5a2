// OpenSSL 3 adapter. I/O goes through a custom BIO onto the core's queues;
// the BIO never reports EOF, so OpenSSL never decides how a stream ended.
#include <lastbyte/backends/openssl.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <new>
#include <optional>

namespace lastbyte::backends {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

// ---- errors -----------------------------------------------------------------

// OpenSSL 3.0 goes on after many allocation failures, and reports them
// under other names or not at all: SSL_CTX_new() takes a signature
// algorithm it could not allocate a context for as unavailable (a later
// handshake fails for want of one; ERR_pop_to_mark() erased the error), a
// client that cannot allocate to check its own key sends an empty
// Certificate, a signature check that cannot copy its context reads as
// "bad signature", a certificate parsed while one failed as "EE
// certificate key too weak". The error queue cannot tell them apart, so the
// adapter watches OpenSSL's allocator: before OpenSSL allocates anything
// (and again at every Context::create, in front of functions the
// application installed since), it chains its own functions in front of
// what CRYPTO_set_mem_functions() holds, and notes per thread that one
// returned nothing.
thread_local bool allocation_failed = false;
CRYPTO_malloc_fn next_malloc = nullptr;
CRYPTO_realloc_fn next_realloc = nullptr;
CRYPTO_free_fn next_free = nullptr;

// OpenSSL's own defaults are CRYPTO_malloc() & co., which would call back
// into these: their behaviour is repeated here instead.
void* noting_malloc(size_t num, const char* file, int line) {
  void* p = next_malloc != CRYPTO_malloc ? next_malloc(num, file, line) : num == 0 ? nullptr : std::malloc(num);
  if (!p && num != 0) allocation_failed = true;
  return p;
}
void* noting_realloc(void* str, size_t num, const char* file, int line) {
  void* p = nullptr;
  if (next_realloc != CRYPTO_realloc)
    p = next_realloc(str, num, file, line);
  else if (!str)
    return noting_malloc(num, file, line);
  else if (num == 0)
    std::free(str);
  else
    p = std::realloc(str, num);
  if (!p && num != 0) allocation_failed = true;
  return p;
}
void noting_free(void* str, const char* file, int line) {
  if (next_free != CRYPTO_free)
    next_free(str, file, line);
  else
    std::free(str);
}

// False when OpenSSL allocated with its defaults before the watch could be
// installed (it refuses new functions then): the error queue and
// X509_V_ERR_OUT_OF_MEM are all the adapter sees of allocation failures.
bool watch_allocations() {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  CRYPTO_malloc_fn m = nullptr;
  CRYPTO_realloc_fn r = nullptr;
  CRYPTO_free_fn f = nullptr;
  CRYPTO_get_mem_functions(&m, &r, &f);
  if (m == noting_malloc) return true;
  next_malloc = m;
  next_realloc = r;
  next_free = f;
  return CRYPTO_set_mem_functions(noting_malloc, noting_realloc, noting_free) == 1;
}

// Before the program's own static initialisers (libcrypto's constructors
// allocate nothing).
[[gnu::constructor(101)]] void watch_allocations_at_load() { watch_allocations(); }

// Clears the per-thread note for the OpenSSL calls that follow; true once
// one of their allocations failed.
struct AllocationWatch {
  AllocationWatch() { allocation_failed = false; }
  bool failed() const { return allocation_failed; }
};

// OpenSSL's thread-local error queue, consumed. An allocation failure is
// often reported under a later, vaguer entry ("EVP lib", "internal error"),
// so every entry is looked at, not only the last.
struct ErrorQueue {
  std::string text;  // the last entry
  int last_lib = 0, last_reason = 0;
  bool out_of_memory = false;
};

ErrorQueue take_error_queue() {
  ErrorQueue queue;
  unsigned long last = 0;
  while (unsigned long code = ERR_get_error()) {
    if (ERR_GET_REASON(code) == ERR_R_MALLOC_FAILURE) queue.out_of_memory = true;
    last = code;
  }
  if (last != 0) {
    char buf[256];
    ERR_error_string_n(last, buf, sizeof buf);
    queue.text = buf;
    queue.last_lib = ERR_GET_LIB(last);
    queue.last_reason = ERR_GET_REASON(last);
  }
  return queue;
}

Error library_error(std::string what) {
  ErrorQueue queue = take_error_queue();
  std::string detail = queue.text.empty() ? what : what + " (" + queue.text + ")";
  return {.code = queue.out_of_memory ? errc::out_of_memory : errc::backend_failure, .detail = std::move(detail)};
}

Expected<BioPtr> memory_bio(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return library_error("BIO_new_mem_buf failed");
  return bio;
}

// A PEM read loop ends on "no start line" once every object was read; any
// other error (an allocation) ended it early.
bool pem_loop_ended_cleanly() {
  unsigned long code = ERR_peek_last_error();
  bool clean = code == 0 || (ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE);
  if (clean) ERR_clear_error();
  return clean;
}

// ---- error classes ----------------------------------------------------------

// OpenSSL keeps one verification error, the first it met: a set of one
// fault for policy::reason_for (which orders faults the same way).
using Fault = policy::CertificateFault;
policy::CertificateFaults faults_from_verify(long result) {
  auto only = [](Fault f) { return static_cast<policy::CertificateFaults>(f); };
  switch (result) {
    case X509_V_OK: return 0;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID: return only(Fault::expired);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return only(Fault::hostname);
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE: return only(Fault::usage);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED: return only(Fault::untrusted);
    default: return only(Fault::bad_certificate);
  }
}

// A failed handshake's reason where OpenSSL's error says more than its alert.
std::optional<RejectReason> reject_reason_from_error(int library_reason) {
  if (library_reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return RejectReason::certificate_required;
  if (library_reason == SSL_R_NO_SHARED_CIPHER) return RejectReason::no_shared_cipher;
  return std::nullopt;
}

// SSL_get_error() needs an empty error queue before each operation. Clearing
// an empty one still walks all its slots (about 250 instructions, three times
// a record: 6 % of a 1 KiB write+read in OpenSSL 3.0, callgrind), so look first.
void clear_error_queue() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

// The alert class of a record-layer failure, for when OpenSSL sent no alert
// to report it by: after our close_notify it sends none (ssl3_send_alert
// refuses once SSL_SENT_SHUTDOWN is set), yet the peer broke the protocol.
std::optional<Alert> alert_for_reason(int library_reason) {
  switch (library_reason) {
    case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
    case SSL_R_DECRYPTION_FAILED: return Alert::bad_record_mac;
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_ENCRYPTED_LENGTH_TOO_LONG:
    case SSL_R_DATA_LENGTH_TOO_LONG: return Alert::record_overflow;
    case SSL_R_UNEXPECTED_MESSAGE:
    case SSL_R_UNEXPECTED_RECORD:
    case SSL_R_BAD_RECORD_TYPE: return Alert::unexpected_message;
    case SSL_R_WRONG_VERSION_NUMBER: return Alert::protocol_version;
    case SSL_R_INVALID_ALERT:
    case SSL_R_BAD_LENGTH:
    case SSL_R_LENGTH_MISMATCH:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_BAD_PACKET_LENGTH: return Alert::decode_error;
    case SSL_R_BAD_KEY_UPDATE: return Alert::illegal_parameter;
    default: return std::nullopt;
  }
}

std::optional<Alert> corrected_alert_class(int library_reason);  // corrections, below

// The class of a failure after the handshake: the alert OpenSSL sent names
// it; where it sent none, its reason does.
std::optional<Alert> protocol_alert_from_error(int library_reason, bool alert_sent) {
  if (auto corrected = corrected_alert_class(library_reason)) return corrected;
  return alert_sent ? std::nullopt : alert_for_reason(library_reason);
}

bool is_fatal_alert(int level, int code, bool tls13) {
  auto alert = static_cast<Alert>(code);
  // RFC 8446 §6: TLS 1.3 ignores the level, and every alert but close_notify
  // and user_canceled is an error, no_renegotiation (reserved there) too:
  // OpenSSL fails on it, and without it recorded here the verdict was
  // LocalError instead of PeerAlert{no_renegotiation}.
  if (tls13) return alert != Alert::close_notify && alert != Alert::user_canceled;
  return level == SSL3_AL_FATAL ||
         (alert != Alert::close_notify && alert != Alert::user_canceled && alert != Alert::no_renegotiation);
}

// ---- the engine -------------------------------------------------------------

class OpenSslContext;
// OpenSSL's C callbacks (hooks, below).
int send_hook(BIO* bio, const char* data, size_t len, size_t* written);
int receive_hook(BIO* bio, char* data, size_t len, size_t* read);
long control_hook(BIO*, int cmd, long, void*);
void alert_hook(const SSL* ssl, int where, int ret);
void keylog_hook(const SSL* ssl, const char* line);
int new_session_hook(SSL* ssl, SSL_SESSION* session);
int alpn_hook(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
              void* context);
// The BIO onto the core's queues (hooks, below); nullptr: see the error queue.
const BIO_METHOD* engine_io_method();


class OpenSslEngine final : public Engine {
 public:
  OpenSslEngine(EngineIo io, OpenSslContext& context) : io_(io), context_(context) {}
  ~OpenSslEngine() override { SSL_free(ssl_); }

  std::optional<Error> setup(SSL_CTX* ctx, const ConnectionOptions& options);

  // A call during which an allocation failed has failed, whatever OpenSSL
  // returned: what it did after the failure cannot be trusted (the core
  // does not send what it queued).
  EngineStatus handshake() override {
    clear_error_queue();
    AllocationWatch watch;
    int rc = SSL_do_handshake(ssl_);
    if (failed_by_us(watch)) return EngineStatus::failed;
    return rc == 1 ? EngineStatus::done : status_after(rc);
  }

  EngineResult read(std::span<std::byte> out) override {
    clear_error_queue();
    AllocationWatch watch;
    size_t n = 0;
    int rc = SSL_read_ex(ssl_, out.data(), out.size(), &n);
    if (failed_by_us(watch)) return {0, EngineStatus::failed};
    if (rc == 1) return {n, EngineStatus::done};
    return {0, status_after(0)};
  }

  EngineResult write(std::span<const std::byte> plaintext) override {
    clear_error_queue();
    AllocationWatch watch;
    size_t n = 0;
    int rc = SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &n);
    if (failed_by_us(watch)) return {0, EngineStatus::failed};
    if (rc == 1) return {n, EngineStatus::done};
    return {0, status_after(0)};
  }

  EngineStatus send_close_notify() override {
    clear_error_queue();
    AllocationWatch watch;
    int rc = SSL_shutdown(ssl_);
    if (failed_by_us(watch)) return EngineStatus::failed;
    return rc >= 0 ? EngineStatus::done : status_after(-1);
  }

  std::size_t pending_plaintext() const override { return static_cast<std::size_t>(SSL_pending(ssl_)); }

  // Its read and write buffers (about 17 KiB each), which it keeps for the
  // connection's life unless told: SSL_free_buffers() frees them when they
  // hold nothing, and OpenSSL allocates them again on the next record.
  // Never while it holds bytes: OpenSSL before 3.0.14 freed a read buffer
  // still in use (CVE-2024-4741); 3.0.14 and later refuse by themselves.
  void release_idle_buffers() override {
    if (SSL_has_pending(ssl_) == 0) SSL_free_buffers(ssl_);
  }

  SessionInfo session_info() const override {
    SessionInfo info;
    info.version = SSL_version(ssl_) == TLS1_3_VERSION ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_)) info.cipher = SSL_CIPHER_standard_name(cipher);
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
    if (alpn) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
    info.resumed = SSL_session_reused(ssl_) == 1;
    return info;
  }

  EngineFailure failure() const override {
    long verify = SSL_get_verify_result(ssl_);
    return {
        .callback_failed = callback_failure_.why(),
        .out_of_memory = out_of_memory_ || verify == X509_V_ERR_OUT_OF_MEM,
        .alert_received = received_alert_,
        .alert_sent = sent_alert_,
        // OpenSSL's own failures: it sends internal_error for them.
        .library_internal = library_reason_ == ERR_R_INTERNAL_ERROR ||
                            (library_lib_ == ERR_LIB_SSL && library_reason_ == SSL_R_MISSING_FATAL),
        .certificate_faults = faults_from_verify(verify),
        .handshake_reason = reject_reason_from_error(library_reason_),
        .protocol_alert = protocol_alert_from_error(library_reason_, sent_alert_.has_value()),
        .detail = detail_,
        .certificate_detail = verify == X509_V_OK ? "" : X509_verify_cert_error_string(verify),
    };
  }

  // ---- OpenSSL's callbacks (through the hooks below) ----

  void send(std::span<const std::byte> ciphertext) { io_.push(ciphertext); }
  std::size_t receive(std::span<std::byte> out) { return io_.pull(out); }

  void on_alert(int where, int ret) {
    int level = ret >> 8, code = ret & 0xff;
    if (!is_fatal_alert(level, code, SSL_version(ssl_) == TLS1_3_VERSION)) return;
    auto& slot = (where & SSL_CB_READ) ? received_alert_ : sent_alert_;
    if (!slot) slot = static_cast<Alert>(code);
  }

  void new_session(SSL_SESSION* session);
  OpenSslContext& context() { return context_; }
  CallbackFailure& callback_failure() { return callback_failure_; }

 private:
  bool failed_by_us(const AllocationWatch& watch) {
    if (watch.failed()) {
      out_of_memory_ = true;
      detail_ = take_error_queue().text;
    }
    return out_of_memory_ || callback_failure_;
  }

  EngineStatus status_after(int rc) {
    switch (SSL_get_error(ssl_, rc)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE: return EngineStatus::want_input;
      case SSL_ERROR_ZERO_RETURN: return EngineStatus::peer_closed;
      default: {
        // Without the watch (see watch_allocations) the queue may still
        // name the allocation failure.
        ErrorQueue queue = take_error_queue();
        library_lib_ = queue.last_lib;
        library_reason_ = queue.last_reason;
        out_of_memory_ = out_of_memory_ || queue.out_of_memory;
        detail_ = std::move(queue.text);
        return EngineStatus::failed;
      }
    }
  }

  EngineIo io_;
  OpenSslContext& context_;
  SSL* ssl_ = nullptr;
  std::optional<Alert> received_alert_, sent_alert_;
  int library_lib_ = 0, library_reason_ = 0;
  bool out_of_memory_ = false;
  CallbackFailure callback_failure_;
  std::string detail_;
};

// ---- the context ------------------------------------------------------------

class OpenSslContext final : public EngineContext {
 public:
  explicit OpenSslContext(const Config& config, SslCtxPtr ctx) : config_(config), ctx_(std::move(ctx)) {}

  static Expected<std::unique_ptr<EngineContext>> create(const Config& config);
  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override;

  const Config& config() const { return config_; }
  policy::SessionCache& sessions() { return sessions_; }

 private:
  std::optional<Error> configure();
  std::optional<Error> load_trust();
  std::optional<Error> load_identity();
  std::optional<Error> configure_alpn();
  std::optional<Error> settle_certificate_caches();

  Config config_;
  SslCtxPtr ctx_;
  std::vector<unsigned char> alpn_wire_;  // RFC 7301 ProtocolNameList
  // Resuming a session of this cache costs an SSL_SESSION_dup() instead of
  // d2i_SSL_SESSION(), which re-parses the server's certificate: twice a
  // whole resumed TLS 1.2 handshake (callgrind, bench/README.md).
  policy::SessionCache sessions_;
};

int version_constant(TlsVersion v) { return v == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION; }

// A context or a session set up while an allocation failed is not used,
// even where OpenSSL went on (a signature algorithm dropped, a CA not stored).
Error went_on_after_allocation_failure(const std::optional<Error>& error) {
  return {.code = errc::out_of_memory, .detail = error ? error->detail : "OpenSSL went on after an allocation failed"};
}

Expected<std::unique_ptr<EngineContext>> OpenSslContext::create(const Config& config) {
  watch_allocations();
  clear_error_queue();  // what others left there is not ours
  AllocationWatch watch;
  auto context = [&]() -> Expected<std::unique_ptr<OpenSslContext>> {
    SslCtxPtr ctx(SSL_CTX_new(config.role == Role::client ? TLS_client_method() : TLS_server_method()));
    if (!ctx) return library_error("SSL_CTX_new failed");
    auto made = std::make_unique<OpenSslContext>(config, std::move(ctx));
    if (auto error = made->configure()) return *error;
    return made;
  }();
  if (watch.failed()) return went_on_after_allocation_failure(context ? std::nullopt : std::optional(context.error()));
  if (!context) return context.error();
  return std::unique_ptr<EngineContext>(std::move(*context));
}

// The core hands over IANA names, each allowed and matching the version
// range; OpenSSL takes TLS 1.3 suites by IANA name and TLS 1.2 ones by its own.
std::optional<Error> set_cipher_suites(SSL_CTX* ctx, const std::vector<std::string>& iana_names) {
  std::string tls13, tls12;
  for (const auto& name : iana_names) {
    std::string& list = is_tls13_cipher_suite(name) ? tls13 : tls12;
    list += (list.empty() ? "" : ":") + std::string(is_tls13_cipher_suite(name) ? name : OPENSSL_cipher_name(name.c_str()));
  }
  if (SSL_CTX_set_ciphersuites(ctx, tls13.c_str()) != 1) return library_error("cannot set the TLS 1.3 suites " + tls13);
  if (!tls12.empty() && SSL_CTX_set_cipher_list(ctx, tls12.c_str()) != 1)
    return library_error("cannot set the TLS 1.2 suites " + tls12);
  return std::nullopt;
}

std::optional<Error> OpenSslContext::configure() {
  SSL_CTX* ctx = ctx_.get();
  SSL_CTX_set_min_proto_version(ctx, version_constant(config_.min_version));
  SSL_CTX_set_max_proto_version(ctx, version_constant(config_.max_version));
  // No SSL_OP_IGNORE_UNEXPECTED_EOF: truncation is the core's to report.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (auto error = set_cipher_suites(ctx, config_.cipher_suites)) return error;

  if (config_.keylog) SSL_CTX_set_keylog_callback(ctx, keylog_hook);

  if (!config_.session_tickets) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  if (config_.role == Role::server) {
    static constexpr unsigned char sid_context[] = "lastbyte";
    SSL_CTX_set_session_id_context(ctx, sid_context, sizeof sid_context - 1);
  } else if (config_.on_new_session) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_hook);
  }

  policy::Verify verify = policy::verify_mode(config_);
  SSL_CTX_set_verify(ctx,
                     verify == policy::Verify::none       ? SSL_VERIFY_NONE
                     : verify == policy::Verify::optional ? SSL_VERIFY_PEER
                                                          : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     nullptr);
  if (verify != policy::Verify::none)
    if (auto error = load_trust()) return error;
  if (auto error = load_identity()) return error;
  if (auto error = settle_certificate_caches()) return error;
  return configure_alpn();
}

// OpenSSL computes a certificate's extension cache (flags, key usage,
// fingerprint) the first time it needs it and keeps it, also when an
// allocation failed meanwhile: a trust anchor or our own certificate whose
// cache was filled during a handshake that ran out of memory would turn
// every later verification on this context into "self-signed certificate in
// certificate chain" or "certificate chain too long". So the caches of the
// certificates the context shares are filled here, while a failure still
// fails Context::create.
std::optional<Error> OpenSslContext::settle_certificate_caches() {
  SSL_CTX* ctx = ctx_.get();
  auto settle = [](X509* cert) { return X509_check_purpose(cert, -1, 0) == 1; };
  STACK_OF(X509_OBJECT)* anchors = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(anchors); ++i)
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(anchors, i)); cert && !settle(cert))
      return library_error("cannot read a trust anchor's extensions");
  if (X509* own = SSL_CTX_get0_certificate(ctx); own && !settle(own))
    return library_error("cannot read the certificate's extensions");
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  for (int i = 0; i < sk_X509_num(chain); ++i)
    if (!settle(sk_X509_value(chain, i))) return library_error("cannot read a chain certificate's extensions");
  return std::nullopt;
}

std::optional<Error> OpenSslContext::load_trust() {
  SSL_CTX* ctx = ctx_.get();
  if (config_.ca_file.empty() && config_.ca_dir.empty() && config_.ca_pem.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) return library_error("cannot load the system trust store");
    return std::nullopt;
  }
  if (!config_.ca_file.empty() || !config_.ca_dir.empty()) {
    const char* file = config_.ca_file.empty() ? nullptr : config_.ca_file.c_str();
    const char* dir = config_.ca_dir.empty() ? nullptr : config_.ca_dir.c_str();
    if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1)
      return library_error("cannot load trust anchors from ca_file \"" + config_.ca_file + "\" / ca_dir \"" +
                           config_.ca_dir + "\"");
  }
  if (!config_.ca_pem.empty()) {
    auto bio = memory_bio(config_.ca_pem);
    if (!bio) return bio.error();
    int added = 0;
    while (X509* cert = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) {
      int ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert);
      X509_free(cert);
      if (ok != 1) return library_error("cannot add a ca_pem certificate to the trust store");
      ++added;
    }
    if (!pem_loop_ended_cleanly()) return library_error("cannot read ca_pem");
    if (added == 0) return Error{errc::backend_failure, "ca_pem holds no PEM certificate"};
  }
  return std::nullopt;
}

std::optional<Error> OpenSslContext::load_identity() {
  SSL_CTX* ctx = ctx_.get();
  if (!config_.cert_chain_file.empty() && SSL_CTX_use_certificate_chain_file(ctx, config_.cert_chain_file.c_str()) != 1)
    return library_error("cannot load cert_chain_file \"" + config_.cert_chain_file + "\"");
  if (!config_.cert_chain_pem.empty()) {
    auto bio = memory_bio(config_.cert_chain_pem);
    if (!bio) return bio.error();
    X509* leaf = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr);
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
      X509_free(leaf);
      return library_error("cert_chain_pem does not start with a usable PEM certificate");
    }
    X509_free(leaf);
    while (X509* cert = PEM_read_bio_X509(bio->get(), nullptr, nullptr, nullptr)) {
      if (SSL_CTX_add0_chain_cert(ctx, cert) != 1) {
        X509_free(cert);
        return library_error("cannot add a cert_chain_pem certificate to the chain");
      }
    }
    if (!pem_loop_ended_cleanly()) return library_error("cannot read cert_chain_pem");
  }
  if (!config_.private_key_file.empty() &&
      SSL_CTX_use_PrivateKey_file(ctx, config_.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return library_error("cannot load private_key_file \"" + config_.private_key_file + "\"");
  if (!config_.private_key_pem.empty()) {
    auto bio = memory_bio(config_.private_key_pem);
    if (!bio) return bio.error();
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio->get(), nullptr, nullptr, nullptr);
    int ok = key ? SSL_CTX_use_PrivateKey(ctx, key) : 0;
    EVP_PKEY_free(key);
    if (ok != 1) return library_error("private_key_pem is not a usable PEM private key");
  }
  bool has_identity = !config_.cert_chain_file.empty() || !config_.cert_chain_pem.empty();
  if (has_identity && SSL_CTX_check_private_key(ctx) != 1)
    return library_error("the private key does not match the certificate");
  return std::nullopt;
}

std::optional<Error> OpenSslContext::configure_alpn() {
  if (config_.alpn.empty()) return std::nullopt;
  alpn_wire_ = policy::alpn_wire(config_.alpn);
  if (config_.role == Role::client) {
    if (SSL_CTX_set_alpn_protos(ctx_.get(), alpn_wire_.data(), static_cast<unsigned>(alpn_wire_.size())) != 0)
      return library_error("cannot set ALPN protocols");
    return std::nullopt;
  }
  SSL_CTX_set_alpn_select_cb(ctx_.get(), alpn_hook, this);
  return std::nullopt;
}

Expected<std::unique_ptr<Engine>> OpenSslContext::new_engine(EngineIo io, const ConnectionOptions& options) {
  clear_error_queue();
  AllocationWatch watch;
  auto engine = std::make_unique<OpenSslEngine>(io, *this);
  auto error = engine->setup(ctx_.get(), options);
  if (watch.failed()) return went_on_after_allocation_failure(error);
  if (error) return *error;
  return std::unique_ptr<Engine>(std::move(engine));
}

// ---- hooks: OpenSSL's C callbacks into the engine ----------------------------

OpenSslEngine& engine_of(const SSL* ssl) { return *static_cast<OpenSslEngine*>(SSL_get_app_data(ssl)); }
OpenSslEngine& engine_of(BIO* bio) { return *static_cast<OpenSslEngine*>(BIO_get_data(bio)); }

// Made once per process; not cached while it cannot be made (an
// allocation failed), so that one failure does not break every later
// connection. nullptr: see the error queue.
const BIO_METHOD* engine_io_method() {
  static std::mutex mutex;
  static BIO_METHOD* method = nullptr;
  std::lock_guard lock(mutex);
  if (method) return method;
  int index = BIO_get_new_index();
  BIO_METHOD* m = index == -1 ? nullptr : BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "lastbyte-engine-io");
  if (!m) return nullptr;
  if (BIO_meth_set_write_ex(m, send_hook) != 1 || BIO_meth_set_read_ex(m, receive_hook) != 1 ||
      BIO_meth_set_ctrl(m, control_hook) != 1 ||
      BIO_meth_set_create(m, [](BIO* bio) { BIO_set_init(bio, 1); return 1; }) != 1) {
    BIO_meth_free(m);
    return nullptr;
  }
  return method = m;
}

int send_hook(BIO* bio, const char* data, size_t len, size_t* written) {
  engine_of(bio).send(std::as_bytes(std::span(data, len)));
  *written = len;
  return 1;
}

int receive_hook(BIO* bio, char* data, size_t len, size_t* read) {
  BIO_clear_retry_flags(bio);
  *read = engine_of(bio).receive(std::as_writable_bytes(std::span(data, len)));
  if (*read > 0) return 1;
  BIO_set_retry_read(bio);  // "nothing yet", never EOF: the core decides how streams end
  return 0;
}

long control_hook(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

void alert_hook(const SSL* ssl, int where, int ret) {
  if (where & SSL_CB_ALERT) engine_of(ssl).on_alert(where, ret);
}

void keylog_hook(const SSL* ssl, const char* line) {
  OpenSslEngine& engine = engine_of(ssl);
  engine.callback_failure().run("the keylog callback threw", [&] { engine.context().config().keylog(line); });
}

int new_session_hook(SSL* ssl, SSL_SESSION* session) {
  OpenSslEngine& engine = engine_of(ssl);
  engine.callback_failure().run("the on_new_session callback threw", [&] { engine.new_session(session); });
  return 0;  // we kept no reference
}

int alpn_hook(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
              void* context) {  // allocates nothing
  auto chosen = policy::select_alpn(static_cast<OpenSslContext*>(context)->config().alpn, std::span(in, inlen));
  if (!chosen) return SSL_TLSEXT_ERR_ALERT_FATAL;  // no overlap is fatal (RFC 7301 §3.2)
  *out = chosen->data();
  *outlen = static_cast<unsigned char>(chosen->size());
  return SSL_TLSEXT_ERR_OK;
}

// ---- the rest of the engine ---------------------------------------------------

// A session that cannot be serialised (no memory) fails the connection
// rather than reach the application truncated or not at all.
void OpenSslEngine::new_session(SSL_SESSION* session) {
  int len = i2d_SSL_SESSION(session, nullptr);
  SessionBlob blob(static_cast<std::size_t>(std::max(len, 0)));
  auto* p = reinterpret_cast<unsigned char*>(blob.data());
  if (len <= 0 || i2d_SSL_SESSION(session, &p) != len) throw std::bad_alloc();
  // A copy: SSL_free() of a connection that never shut down marks its own
  // session object not resumable. One that cannot be copied (no memory) is
  // parsed from its blob when it is resumed.
  if (SSL_SESSION* copy = SSL_SESSION_dup(session))
    context_.sessions().remember(blob, policy::SessionCache::Session(copy, SSL_SESSION_free));
  context_.config().on_new_session(blob);
}

std::optional<Error> OpenSslEngine::setup(SSL_CTX* ctx, const ConnectionOptions& options) {
  ssl_ = SSL_new(ctx);
  if (!ssl_) return library_error("SSL_new failed");
  // Before anything can call back: the callbacks find the engine through
  // it (ex_data: it allocates, and a null one would be dereferenced).
  if (SSL_set_app_data(ssl_, this) != 1) return library_error("SSL_set_app_data failed");
  const BIO_METHOD* method = engine_io_method();
  BIO* bio = method ? BIO_new(method) : nullptr;
  if (!bio) return library_error("BIO_new failed");
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // takes ownership; cannot fail
  SSL_set_info_callback(ssl_, alert_hook);
  const Config& config = context_.config();
  if (config.role == Role::server) {
    SSL_set_accept_state(ssl_);
    return std::nullopt;
  }
  SSL_set_connect_state(ssl_);
  auto name = policy::classify_server_name(options.server_name);
  if (name.sends_sni() && SSL_set_tlsext_host_name(ssl_, name.text.c_str()) != 1)
    return library_error("cannot use \"" + name.text + "\" as SNI server name");
  if (policy::verify_mode(config) != policy::Verify::none) {
    // RFC 6125: names come from subjectAltName only; "*" matches one whole label.
    SSL_set_hostflags(ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    auto ip = name.ip_bytes();
    int ok = name.is_ip() ? X509_VERIFY_PARAM_set1_ip(SSL_get0_param(ssl_), ip.data(), ip.size())
                          : SSL_set1_host(ssl_, name.text.c_str());
    if (ok != 1) return library_error("cannot verify against server name \"" + name.text + "\"");
  }
  if (options.resume_session.empty()) return std::nullopt;
  auto parsed = context_.sessions().find(options.resume_session);
  SSL_SESSION* session = parsed ? SSL_SESSION_dup(static_cast<SSL_SESSION*>(parsed.get())) : nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(options.resume_session.data());
  if (!session) session = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(options.resume_session.size()));
  if (!session) {
    Error error = library_error("resume_session is not a session saved by the openssl backend");
    if (error.code != make_error_code(errc::out_of_memory)) error.code = errc::invalid_config;
    return error;
  }
  int ok = SSL_set_session(ssl_, session);
  SSL_SESSION_free(session);
  if (ok != 1) return library_error("SSL_set_session failed");
  return std::nullopt;
}

// ---- corrections: where OpenSSL departs from the contract ---------------------
// Each entry names the catalogue row that shows it (docs/divergences.md).

// R33: OpenSSL answers an alert record that is not exactly one alert with
// unexpected_message (SSL_R_INVALID_ALERT); the contract's class is
// decode_error (RFC 8446 §6: an alert that cannot be parsed).
std::optional<Alert> corrected_alert_class(int library_reason) {
  if (library_reason == SSL_R_INVALID_ALERT) return Alert::decode_error;
  return std::nullopt;
}

}  // namespace

const Backend& openssl() {
  static const Backend backend{
      .name = "openssl",
      .library_version = [] { return std::string(OpenSSL_version(OPENSSL_VERSION)); },
      .supports = [](TlsVersion) { return true; },
      .exports_secrets = [](TlsVersion) { return true; },  // SSL_CTX_set_keylog_callback, 1.2 and 1.3
      .create_context = &OpenSslContext::create,
  };
  return backend;
}

}  // namespace lastbyte::backends
