// wolfSSL 5.5 adapter. I/O goes through wolfSSL's I/O callbacks onto the
// core's queues; the receive callback never reports EOF or a reset, so
// SOCKET_PEER_CLOSED_E and friends never reach the application.
#include <lastbyte/backends/wolfssl.hpp>
#include <lastbyte/engine/engine.hpp>
#include <lastbyte/engine/policy.hpp>

// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/ssl.h>
// clang-format on
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/asn.h>  // DecodedCert: the names of a certificate
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include "wolfssl_errors.hpp"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <type_traits>

namespace lastbyte::backends {
namespace {

// ---- errors -----------------------------------------------------------------

// describe_error, and what each error code tells (wolfssl_errors.hpp).
using namespace wolfssl_errors;

Error library_error(const std::string& what, int code = 0) {
  return {errc::backend_failure, code ? what + " (" + describe_error(code) + ")" : what};
}

auto* bytes(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }
long size(const std::string& s) { return static_cast<long>(s.size()); }

// wolfSSL reports many allocation failures under other names: a signature
// that "does not verify" (ASN_SIG_CONFIRM_E), a parse error (ASN_PARSE_E,
// BUFFER_E), a bignum that cannot be read (MP_READ_E) or its own code
// (MP_MEM, -2), and it goes on after some. So the adapter puts itself in
// front of wolfSSL's allocators (the library's defaults, or what the
// application installed with wolfSSL_SetAllocators; again at every
// Context::create, in front of functions installed since) and notes, per
// thread, that one returned nothing.
thread_local bool allocation_failed = false;
wolfSSL_Malloc_cb next_malloc = nullptr;
wolfSSL_Free_cb next_free = nullptr;
wolfSSL_Realloc_cb next_realloc = nullptr;

void* noting_malloc(size_t size) {
  void* p = next_malloc ? next_malloc(size) : std::malloc(size);
  if (!p && size != 0) allocation_failed = true;
  return p;
}
void noting_free(void* p) { next_free ? next_free(p) : std::free(p); }
void* noting_realloc(void* p, size_t size) {
  void* q = next_realloc ? next_realloc(p, size) : std::realloc(p, size);
  if (!q && size != 0) allocation_failed = true;
  return q;
}

// Clears the per-thread note for the wolfSSL calls that follow; true once
// one of their allocations failed.
struct AllocationWatch {
  AllocationWatch() { allocation_failed = false; }
  bool failed() const { return allocation_failed; }
};

void watch_allocations() {
  wolfSSL_Malloc_cb m = nullptr;
  wolfSSL_Free_cb f = nullptr;
  wolfSSL_Realloc_cb r = nullptr;
  wolfSSL_GetAllocators(&m, &f, &r);
  if (m == noting_malloc) return;
  next_malloc = m;
  next_free = f;
  next_realloc = r;
  wolfSSL_SetAllocators(noting_malloc, noting_free, noting_realloc);
}

// ---- error classes ----------------------------------------------------------

// The facts a wolfSSL error code tells: wolfssl_errors.hpp.

// The EC public point of a DER key, uncompressed (X9.63), or empty; frees
// `der` (allocated by wolfSSL's i2d functions) on every path.
template <class Decode>
std::vector<unsigned char> ec_point(unsigned char* der, int der_len, Decode decode) {
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(der, [](unsigned char* p) {
    XFREE(p, nullptr, DYNAMIC_TYPE_OPENSSL);
  });
  std::vector<unsigned char> point;
  ecc_key key;
  if (der == nullptr || der_len <= 0 || wc_ecc_init(&key) != 0) return point;
  word32 index = 0, len = 133;
  point.resize(len);
  if (decode(der, &index, &key, static_cast<word32>(der_len)) != 0 || wc_ecc_export_x963(&key, point.data(), &len) != 0)
    len = 0;
  point.resize(len);
  wc_ecc_free(&key);
  return point;
}

// wolfSSL_CTX_check_private_key() accepts any EC key in this build, so EC
// pairs are compared here (public point of the key vs the certificate's).
// The certificate's key is read as DER: wolfSSL_X509_get_pubkey() leaks
// what it built when one of its allocations fails.
bool ec_key_matches_certificate(WOLFSSL_CTX* ctx) {
  WOLFSSL_X509* cert = wolfSSL_CTX_get0_certificate(ctx);
  WOLFSSL_EVP_PKEY* private_key = wolfSSL_CTX_get0_privatekey(ctx);
  if (!cert || !private_key || wolfSSL_X509_get_pubkey_type(cert) != ECDSAk) return true;
  int public_len = 0;
  if (wolfSSL_X509_get_pubkey_buffer(cert, nullptr, &public_len) != WOLFSSL_SUCCESS || public_len <= 0) return false;
  auto* public_der = static_cast<unsigned char*>(XMALLOC(static_cast<std::size_t>(public_len), nullptr, DYNAMIC_TYPE_OPENSSL));
  if (public_der && wolfSSL_X509_get_pubkey_buffer(cert, public_der, &public_len) != WOLFSSL_SUCCESS) public_len = 0;
  auto expected = ec_point(public_der, public_len, wc_EccPublicKeyDecode);
  // Sequenced before ec_point() reads the pointer it fills (an argument
  // list would leave the order unspecified).
  unsigned char* private_der = nullptr;
  int private_len = wolfSSL_i2d_PrivateKey(private_key, &private_der);
  auto actual = ec_point(private_der, private_len, [](const byte* der, word32* index, ecc_key* key, word32 len) {
    int rc = wc_EccPrivateKeyDecode(der, index, key, len);
    return rc != 0 ? rc : wc_ecc_make_pub(key, nullptr);
  });
  return !expected.empty() && expected == actual;
}

// Debian's wolfSSL is built with FP_ECC and HAVE_THREAD_LS: each thread that
// does ECC keeps its own fixed-point cache (no sharing, no lock), which must
// be released with wc_ecc_fp_free() before the thread ends, or it leaks
// (about 800 KiB per cached base point). Every thread that does ECC through
// the adapter registers this once: threads that drive a handshake, and
// threads that create a Context (the EC key check multiplies).
void release_ecc_cache_at_thread_exit() {
  struct Releaser {
    ~Releaser() { wc_ecc_fp_free(); }
  };
  thread_local Releaser releaser;
  (void)releaser;
}

// wolfSSL_Init() is retried while it fails (it allocates): one failure must
// not break every later Context.
std::optional<Error> init_library() {
  static std::mutex mutex;
  static bool initialised = false;
  std::lock_guard lock(mutex);
  watch_allocations();
  AllocationWatch watch;
  if (!initialised) initialised = wolfSSL_Init() == WOLFSSL_SUCCESS;
  if (!initialised)
    return Error{.code = watch.failed() ? errc::out_of_memory : errc::backend_failure, .detail = "wolfSSL_Init failed"};
  return std::nullopt;
}

// ---- the engine -------------------------------------------------------------

class WolfSslContext;
int receive_hook(WOLFSSL* ssl, char* data, int len, void*);
int send_hook(WOLFSSL* ssl, char* data, int len, void*);
int verify_hook(int preverified, WOLFSSL_X509_STORE_CTX* store);
int new_session_hook(WOLFSSL* ssl, WOLFSSL_SESSION* session);

class WolfSslEngine final : public Engine {
 public:
  WolfSslEngine(EngineIo io, WolfSslContext& context) : io_(io), context_(context) {}
  ~WolfSslEngine() override { wolfSSL_free(ssl_); }

  std::optional<Error> setup(WOLFSSL_CTX* ctx, const ConnectionOptions& options);

  // A call during which an allocation failed has failed, whatever wolfSSL
  // returned: what it did after the failure cannot be trusted (the core
  // does not send what it queued).
  EngineStatus handshake() override {
    release_ecc_cache_at_thread_exit();
    AllocationWatch watch;
    int rc = wolfSSL_negotiate(ssl_);
    if (failed_by_us(watch)) return EngineStatus::failed;
    if (rc != WOLFSSL_SUCCESS) return status_after(rc);
    on_handshake_done();
    return failed_by_us(watch) ? EngineStatus::failed : EngineStatus::done;
  }

  EngineResult read(std::span<std::byte> out) override {
    AllocationWatch watch;
    int rc = wolfSSL_read(ssl_, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), 1 << 30)));
    if (failed_by_us(watch)) return {0, EngineStatus::failed};
    if (rc > 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
    return {0, status_after(rc)};
  }

  EngineResult write(std::span<const std::byte> plaintext) override {
    AllocationWatch watch;
    int rc = wolfSSL_write(ssl_, plaintext.data(), static_cast<int>(std::min<std::size_t>(plaintext.size(), 1 << 30)));
    if (failed_by_us(watch)) return {0, EngineStatus::failed};
    if (rc > 0) return {static_cast<std::size_t>(rc), EngineStatus::done};
    return {0, status_after(rc)};
  }

  EngineStatus send_close_notify() override {
    AllocationWatch watch;
    int rc = wolfSSL_shutdown(ssl_);
    if (failed_by_us(watch)) return EngineStatus::failed;
    return rc >= 0 || rc == WOLFSSL_SHUTDOWN_NOT_DONE ? EngineStatus::done : status_after(rc);
  }

  std::size_t pending_plaintext() const override { return static_cast<std::size_t>(wolfSSL_pending(ssl_)); }

  // wolfSSL 5.5 (built without LARGE_STATIC_BUFFERS, as Debian's is)
  // allocates a buffer for a record larger than its few static bytes and
  // frees it once the record is handled: between records it holds none.
  void release_idle_buffers() override {}

  SessionInfo session_info() const override {
    SessionInfo info;
    info.version = wolfSSL_version(ssl_) == TLS1_3_VERSION ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    int suite = wolfSSL_get_current_cipher_suite(ssl_);
    if (const char* name = wolfSSL_get_cipher_name_iana_from_suite(static_cast<unsigned char>(suite >> 8),
                                                                   static_cast<unsigned char>(suite & 0xff)))
      info.cipher = name;
    char* alpn = nullptr;
    unsigned short alpn_len = 0;
    if (wolfSSL_ALPN_GetProtocol(ssl_, &alpn, &alpn_len) == WOLFSSL_SUCCESS && alpn) info.alpn.assign(alpn, alpn_len);
    info.resumed = wolfSSL_session_reused(ssl_) == 1;
    return info;
  }

  EngineFailure failure() const override {
    WOLFSSL_ALERT_HISTORY history{};
    wolfSSL_get_alert_history(ssl_, &history);
    auto alert = [](int code) { return code >= 0 ? std::optional(static_cast<Alert>(code)) : std::nullopt; };
    EngineFailure facts = facts_from_error(error_, verify_error_);
    facts.callback_failed = callback_failure_.why();
    facts.out_of_memory = facts.out_of_memory || out_of_memory_;
    if (error_ == FATAL_ERROR) facts.alert_received = alert(history.last_rx.code);
    facts.alert_sent = alert(history.last_tx.code);
    return facts;
  }

  // The verify callback: wolfSSL's chain verdict, then our name policy.
  int verify(int preverified, WOLFSSL_X509_STORE_CTX* store);
  void new_session(WOLFSSL_SESSION* session);

  int send(char* data, int len) {
    io_.push(std::as_bytes(std::span(data, static_cast<std::size_t>(len))));
    return len;
  }

  int receive(char* data, int len) {
    std::size_t n = io_.pull(std::as_writable_bytes(std::span(data, static_cast<std::size_t>(len))));
    return n > 0 ? static_cast<int>(n) : WOLFSSL_CBIO_ERR_WANT_READ;  // never EOF: the core decides
  }

  const WolfSslContext& context() const { return context_; }
  CallbackFailure& callback_failure() { return callback_failure_; }
  struct NewSession {
    SessionBlob blob;
    policy::SessionCache::Session parsed;  // nullptr: it could not be copied
  };
  void on_new_session(NewSession session);

 private:
  bool failed_by_us(const AllocationWatch& watch) {
    out_of_memory_ = out_of_memory_ || watch.failed();
    return out_of_memory_ || callback_failure_;
  }

  EngineStatus status_after(int rc) {
    int error = wolfSSL_get_error(ssl_, rc);
    switch (error) {
      case WOLFSSL_ERROR_WANT_READ:
      case WOLFSSL_ERROR_WANT_WRITE: return EngineStatus::want_input;
      case WOLFSSL_ERROR_ZERO_RETURN: return EngineStatus::peer_closed;
      default: error_ = error; return EngineStatus::failed;
    }
  }

  void on_handshake_done();

  EngineIo io_;
  NewSession session_during_handshake_;
  WolfSslContext& context_;
  WOLFSSL* ssl_ = nullptr;
  policy::ServerName server_name_;
  int error_ = 0;
  int verify_error_ = 0;
  bool out_of_memory_ = false;
  CallbackFailure callback_failure_;
};

// ---- the context ------------------------------------------------------------

// A context or a session set up while an allocation failed is not used,
// even where wolfSSL went on (a CA it could not store, a cipher list it
// could not copy).
Error went_on_after_allocation_failure(const std::optional<Error>& error) {
  return {.code = errc::out_of_memory, .detail = error ? error->detail : "wolfSSL went on after an allocation failed"};
}

class WolfSslContext final : public EngineContext {
 public:
  explicit WolfSslContext(const Config& config) : config_(config) {}
  ~WolfSslContext() override { wolfSSL_CTX_free(ctx_); }

  static Expected<std::unique_ptr<EngineContext>> create(const Config& config) {
    if (auto error = init_library()) return *error;
    release_ecc_cache_at_thread_exit();  // ec_key_matches_certificate() fills this thread's cache
    AllocationWatch watch;
    auto context = std::make_unique<WolfSslContext>(config);
    auto error = context->configure();
    if (watch.failed()) return went_on_after_allocation_failure(error);
    if (error) return *error;
    return std::unique_ptr<EngineContext>(std::move(context));
  }

  Expected<std::unique_ptr<Engine>> new_engine(EngineIo io, const ConnectionOptions& options) override {
    AllocationWatch watch;
    auto engine = std::make_unique<WolfSslEngine>(io, *this);
    auto error = engine->setup(ctx_, options);
    if (watch.failed()) return went_on_after_allocation_failure(error);
    if (error) return *error;
    return std::unique_ptr<Engine>(std::move(engine));
  }

  const Config& config() const { return config_; }
  const std::string& alpn_list() const { return alpn_list_; }
  // Sessions this context handed out as blobs, kept parsed (a
  // wolfSSL_SESSION_dup() when the session is surfaced): resuming one skips
  // wolfSSL_d2i_SSL_SESSION().
  policy::SessionCache& sessions() { return sessions_; }

 private:
  std::optional<Error> configure();
  std::optional<Error> load_trust();
  std::optional<Error> load_identity();

  WOLFSSL_METHOD* method() const {
    bool client = config_.role == Role::client;
    if (config_.max_version == TlsVersion::tls1_2) return client ? wolfTLSv1_2_client_method() : wolfTLSv1_2_server_method();
    if (config_.min_version == TlsVersion::tls1_3) return client ? wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method();
    return client ? wolfTLS_client_method() : wolfTLS_server_method();
  }

  static int select_alpn(WOLFSSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                         unsigned int inlen, void* self) noexcept {  // allocates nothing
    auto chosen = policy::select_alpn(static_cast<WolfSslContext*>(self)->config_.alpn, std::span(in, inlen));
    if (!chosen) return fatal_return;  // no overlap is fatal (RFC 7301 §3.2)
    *out = chosen->data();
    *outlen = static_cast<unsigned char>(chosen->size());
    return 0;  // SSL_TLSEXT_ERR_OK
  }

  Config config_;
  WOLFSSL_CTX* ctx_ = nullptr;
  std::string alpn_list_;  // comma-separated, as wolfSSL_UseALPN wants it
  policy::SessionCache sessions_;
};

std::optional<Error> WolfSslContext::configure() {
  ctx_ = wolfSSL_CTX_new(method());
  if (!ctx_) return library_error("wolfSSL_CTX_new failed");
  if (wolfSSL_CTX_SetMinVersion(ctx_, config_.min_version == TlsVersion::tls1_3 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2) !=
      WOLFSSL_SUCCESS)
    return library_error("cannot set the minimum TLS version");
  // wolfSSL takes IANA names as they come from the core.
  std::string suites;
  for (const auto& name : config_.cipher_suites) suites += (suites.empty() ? "" : ":") + name;
  if (wolfSSL_CTX_set_cipher_list(ctx_, suites.c_str()) != WOLFSSL_SUCCESS)
    return library_error("cannot set the cipher suites " + suites);
  wolfSSL_CTX_SetIORecv(ctx_, receive_hook);
  wolfSSL_CTX_SetIOSend(ctx_, send_hook);

  bool client = config_.role == Role::client;
  policy::Verify verify = policy::verify_mode(config_);
  int mode = verify == policy::Verify::none       ? WOLFSSL_VERIFY_NONE
             : verify == policy::Verify::optional ? WOLFSSL_VERIFY_PEER
                                                  : WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  wolfSSL_CTX_set_verify(ctx_, mode, mode == WOLFSSL_VERIFY_NONE ? nullptr : verify_hook);
  if (mode != WOLFSSL_VERIFY_NONE)
    if (auto error = load_trust()) return error;
  if (auto error = load_identity()) return error;

  if (client) {
    if (config_.session_tickets && wolfSSL_CTX_UseSessionTicket(ctx_) != WOLFSSL_SUCCESS)
      return library_error("cannot enable session tickets");
    if (config_.on_new_session) {
      wolfSSL_CTX_set_session_cache_mode(ctx_, WOLFSSL_SESS_CACHE_CLIENT);
      wolfSSL_CTX_sess_set_new_cb(ctx_, new_session_hook);
    }
  } else {
    static constexpr unsigned char sid_context[] = "lastbyte";
    if (wolfSSL_CTX_set_session_id_context(ctx_, sid_context, sizeof sid_context - 1) != WOLFSSL_SUCCESS)
      return library_error("cannot set the session id context");
    if (!config_.session_tickets &&
        (wolfSSL_CTX_NoTicketTLSv12(ctx_) != WOLFSSL_SUCCESS || wolfSSL_CTX_set_num_tickets(ctx_, 0) != WOLFSSL_SUCCESS))
      return library_error("cannot disable session tickets");
  }
  for (const auto& protocol : config_.alpn) alpn_list_ += (alpn_list_.empty() ? "" : ",") + protocol;
  if (!client && !config_.alpn.empty()) wolfSSL_CTX_set_alpn_select_cb(ctx_, select_alpn, this);
  return std::nullopt;
}

std::optional<Error> WolfSslContext::load_trust() {
  if (config_.ca_file.empty() && config_.ca_dir.empty() && config_.ca_pem.empty()) {
    // An empty system store leaves no anchor: every chain is then untrusted.
    wolfSSL_CTX_load_system_CA_certs(ctx_);
    return std::nullopt;
  }
  if (!config_.ca_file.empty() || !config_.ca_dir.empty()) {
    const char* file = config_.ca_file.empty() ? nullptr : config_.ca_file.c_str();
    const char* dir = config_.ca_dir.empty() ? nullptr : config_.ca_dir.c_str();
    if (int rc = wolfSSL_CTX_load_verify_locations(ctx_, file, dir); rc != WOLFSSL_SUCCESS)
      return library_error("cannot load trust anchors from ca_file \"" + config_.ca_file + "\" / ca_dir \"" +
                               config_.ca_dir + "\"",
                           rc);
  }
  if (!config_.ca_pem.empty())
    if (int rc = wolfSSL_CTX_load_verify_buffer(ctx_, bytes(config_.ca_pem), size(config_.ca_pem), WOLFSSL_FILETYPE_PEM);
        rc != WOLFSSL_SUCCESS)
      return library_error("ca_pem holds no usable PEM certificate", rc);
  return std::nullopt;
}

std::optional<Error> WolfSslContext::load_identity() {
  int rc = WOLFSSL_SUCCESS;
  if (!config_.cert_chain_file.empty() &&
      (rc = wolfSSL_CTX_use_certificate_chain_file(ctx_, config_.cert_chain_file.c_str())) != WOLFSSL_SUCCESS)
    return library_error("cannot load cert_chain_file \"" + config_.cert_chain_file + "\"", rc);
  if (!config_.cert_chain_pem.empty() &&
      (rc = wolfSSL_CTX_use_certificate_chain_buffer(ctx_, bytes(config_.cert_chain_pem), size(config_.cert_chain_pem))) !=
          WOLFSSL_SUCCESS)
    return library_error("cert_chain_pem is not a usable PEM certificate chain", rc);
  if (!config_.private_key_file.empty() &&
      (rc = wolfSSL_CTX_use_PrivateKey_file(ctx_, config_.private_key_file.c_str(), WOLFSSL_FILETYPE_PEM)) !=
          WOLFSSL_SUCCESS)
    return library_error("cannot load private_key_file \"" + config_.private_key_file + "\"", rc);
  if (!config_.private_key_pem.empty() &&
      (rc = wolfSSL_CTX_use_PrivateKey_buffer(ctx_, bytes(config_.private_key_pem), size(config_.private_key_pem),
                                              WOLFSSL_FILETYPE_PEM)) != WOLFSSL_SUCCESS)
    return library_error("private_key_pem is not a usable PEM private key", rc);
  bool has_identity = !config_.cert_chain_file.empty() || !config_.cert_chain_pem.empty();
  if (has_identity && (wolfSSL_CTX_check_private_key(ctx_) != WOLFSSL_SUCCESS || !ec_key_matches_certificate(ctx_)))
    return library_error("the private key does not match the certificate");
  return std::nullopt;
}

// ---- hooks: wolfSSL's C callbacks into the engine ---------------------------

WolfSslEngine& engine_of(WOLFSSL* ssl) { return *static_cast<WolfSslEngine*>(wolfSSL_get_app_data(ssl)); }

int receive_hook(WOLFSSL* ssl, char* data, int len, void*) { return engine_of(ssl).receive(data, len); }
int send_hook(WOLFSSL* ssl, char* data, int len, void*) { return engine_of(ssl).send(data, len); }

int verify_hook(int preverified, WOLFSSL_X509_STORE_CTX* store) {
  auto* ssl = static_cast<WOLFSSL*>(wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx()));
  if (!ssl) return 0;
  WolfSslEngine& engine = engine_of(ssl);
  // A check that failed refuses the certificate (0).
  return engine.callback_failure().run("the certificate check threw", [&] { return engine.verify(preverified, store); });
}

int new_session_hook(WOLFSSL* ssl, WOLFSSL_SESSION* session) {
  WolfSslEngine& engine = engine_of(ssl);
  engine.callback_failure().run("the on_new_session callback threw", [&] { engine.new_session(session); });
  return 0;  // we kept no reference
}

// A session that cannot be serialised (no memory) fails the connection
// rather than reach the application truncated or not at all.
void WolfSslEngine::new_session(WOLFSSL_SESSION* session) {
  int len = wolfSSL_i2d_SSL_SESSION(session, nullptr);
  SessionBlob blob(static_cast<std::size_t>(std::max(len, 0)));
  auto* p = reinterpret_cast<unsigned char*>(blob.data());
  if (len <= 0 || wolfSSL_i2d_SSL_SESSION(session, &p) != len) throw std::bad_alloc();
  // The copy for the context's cache; one that cannot be made (no memory)
  // is parsed from its blob when it is resumed.
  policy::SessionCache::Session parsed;
  if (WOLFSSL_SESSION* copy = wolfSSL_SESSION_dup(session)) parsed.reset(copy, wolfSSL_SESSION_free);
  on_new_session({.blob = std::move(blob), .parsed = std::move(parsed)});
}

// ---- the rest of the engine -------------------------------------------------

// The subjectAltNames of a certificate, read from a decoding of its DER:
// wolfSSL_X509_get_ext_d2i() leaks a GENERAL_NAME when one of its
// allocations fails. wolfSSL's own name check would fall back to the CN.
policy::SubjectAltNames subject_alt_names(WOLFSSL_X509* cert) {
  policy::SubjectAltNames names;
  int der_len = 0;
  const unsigned char* der = wolfSSL_X509_get_der(cert, &der_len);
  if (!der || der_len <= 0) return names;
  DecodedCert decoded;
  wc_InitDecodedCert(&decoded, der, static_cast<word32>(der_len), nullptr);
  try {
    if (wc_ParseCert(&decoded, CERT_TYPE, NO_VERIFY, nullptr) == 0)
      for (const DNS_entry* entry = decoded.altNames; entry; entry = entry->next) {
        const auto* name = reinterpret_cast<const unsigned char*>(entry->name);
        auto size = static_cast<std::size_t>(std::max(entry->len, 0));
        if (entry->type == ASN_DNS_TYPE) names.dns.emplace_back(entry->name, size);
        if (entry->type == ASN_IP_TYPE) names.ip.emplace_back(name, name + size);  // 4 or 16 bytes
      }
  } catch (...) {
    wc_FreeDecodedCert(&decoded);
    throw;
  }
  wc_FreeDecodedCert(&decoded);
  return names;
}

int WolfSslEngine::verify(int preverified, WOLFSSL_X509_STORE_CTX* store) {
  if (!preverified) {
    if (!verify_error_) verify_error_ = wolfSSL_X509_STORE_CTX_get_error(store);
    return 0;
  }
  // The chain is fine; the name is the core's policy to check.
  if (wolfSSL_X509_STORE_CTX_get_error_depth(store) != 0 || context_.config().role != Role::client) return 1;
  if (policy::names_match(server_name_, subject_alt_names(wolfSSL_X509_STORE_CTX_get_current_cert(store)))) return 1;
  verify_error_ = server_name_.is_ip() ? IPADDR_MISMATCH : DOMAIN_NAME_MISMATCH;
  return 0;
}

std::optional<Error> WolfSslEngine::setup(WOLFSSL_CTX* ctx, const ConnectionOptions& options) {
  ssl_ = wolfSSL_new(ctx);
  if (!ssl_) return library_error("wolfSSL_new failed");
  if (wolfSSL_set_app_data(ssl_, this) != WOLFSSL_SUCCESS) return library_error("wolfSSL_set_app_data failed");
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  const Config& config = context_.config();
  if (config.keylog) wolfSSL_KeepArrays(ssl_);  // the TLS 1.2 master secret, for the key log
  if (!context_.alpn_list().empty()) {
    // A server's choice is made by the context's select callback (server
    // preference, no overlap fatal); wolfSSL only calls it with the list set.
    std::string list = context_.alpn_list();
    if (wolfSSL_UseALPN(ssl_, list.data(), static_cast<unsigned>(list.size()), WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
        WOLFSSL_SUCCESS)
      return library_error("cannot set ALPN protocols");
  }
  if (config.role == Role::server) {
    wolfSSL_set_accept_state(ssl_);
    return std::nullopt;
  }
  wolfSSL_set_connect_state(ssl_);
  server_name_ = policy::classify_server_name(options.server_name);
  const std::string& sni = server_name_.text;
  if (server_name_.sends_sni() && wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, sni.data(),
                                                 static_cast<unsigned short>(sni.size())) != WOLFSSL_SUCCESS)
    return library_error("cannot use \"" + sni + "\" as SNI server name");
  if (options.resume_session.empty()) return std::nullopt;
  // wolfSSL_set_session() copies the session into the connection
  // (wolfSSL_DupSession) and only reads the one it is given: the cached
  // object serves every connection, on any thread (threads_wolfssl, TSan).
  policy::SessionCache::Session session = context_.sessions().find(options.resume_session);
  bool parsed_from_cache = session != nullptr;
  if (!session) {
    const auto* p = reinterpret_cast<const unsigned char*>(options.resume_session.data());
    WOLFSSL_SESSION* parsed = wolfSSL_d2i_SSL_SESSION(nullptr, &p, static_cast<long>(options.resume_session.size()));
    if (!parsed) return Error{errc::invalid_config, "resume_session is not a session saved by the wolfssl backend"};
    session.reset(parsed, wolfSSL_SESSION_free);
  }
  auto* given = static_cast<WOLFSSL_SESSION*>(session.get());
  int rc = wolfSSL_set_session(ssl_, given);
  // A wolfSSL that keeps a reference to the session it is given instead of
  // copying it (newer releases do, for heap sessions) would make the cached
  // object the live session of every connection resuming from it: such a
  // connection gets its own copy.
  if (rc == WOLFSSL_SUCCESS && wolfSSL_get_session(ssl_) == given && parsed_from_cache) {
    WOLFSSL_SESSION* own = wolfSSL_SESSION_dup(given);
    if (!own) return library_error("wolfSSL_SESSION_dup failed");
    rc = wolfSSL_set_session(ssl_, own);
    wolfSSL_SESSION_free(own);
  }
  if (rc != WOLFSSL_SUCCESS) return Error{errc::invalid_config, "resume_session was refused by wolfSSL"};
  return std::nullopt;
}

// TLS 1.2: wolfSSL reports a session more than once in one handshake, the
// first time before it has kept the server's NewSessionTicket (a GnuTLS
// server, without a session-ID cache, cannot resume that one). The last one,
// surfaced once the handshake is done, is the whole session. TLS 1.3 tickets
// come after the handshake: each surfaces as it arrives.
void WolfSslEngine::on_new_session(NewSession session) {
  if (!io_.handshake_done()) {
    session_during_handshake_ = std::move(session);
    return;
  }
  context_.sessions().remember(session.blob, std::move(session.parsed));
  context_.config().on_new_session(session.blob);
}

// A key log line that cannot be written (no memory, the callback threw)
// fails the connection, as on the other backends: a requested key log is
// complete.
void WolfSslEngine::on_handshake_done() {
  const Config& config = context_.config();
  if (!session_during_handshake_.blob.empty())
    callback_failure_.run("the on_new_session callback threw", [&] {
      NewSession session = std::exchange(session_during_handshake_, {});
      context_.sessions().remember(session.blob, std::move(session.parsed));
      config.on_new_session(session.blob);
    });
  if (!config.keylog || wolfSSL_version(ssl_) != TLS1_2_VERSION) return;
  unsigned char client_random[32], master[48];
  if (wolfSSL_get_client_random(ssl_, client_random, sizeof client_random) != sizeof client_random ||
      wolfSSL_SESSION_get_master_key(wolfSSL_get_session(ssl_), master, sizeof master) != sizeof master)
    return callback_failure_.note("the TLS 1.2 master secret is not available for the key log");
  callback_failure_.run("the keylog callback threw",
            [&] { config.keylog(nss_keylog_line("CLIENT_RANDOM", client_random, master)); });
}

// ---- corrections: where wolfSSL departs from the contract ----------------------
// None is needed in the facts: wolfSSL's errors map onto the contract through
// the error classes above, and the allocation failures it reports under
// other names are caught by the allocation watching (errors, above). Its one
// known divergence, a KeyUpdate that does not end its record (R23, client),
// cannot be seen from outside its record layer (docs/divergences.md).

}  // namespace

const Backend& wolfssl() {
  static const Backend backend{
      .name = "wolfssl",
      .library_version = [] { return "wolfSSL " + std::string(wolfSSL_lib_version()); },
      .supports = [](TlsVersion) { return true; },
      // Debian's build lacks HAVE_SECRET_CALLBACK: no TLS 1.3 traffic secrets.
      .exports_secrets = [](TlsVersion v) { return v == TlsVersion::tls1_2; },
      .create_context = &WolfSslContext::create,
  };
  return backend;
}

}  // namespace lastbyte::backends
