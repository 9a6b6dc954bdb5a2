// wolfSSL 5.5 driven directly, without lastbyte: the setup its two direct
// consumers share. Native mode (wolfssl_native.cpp) and the benchmarks'
// baseline (wolfssl_bench.cpp) make their contexts and load trust anchors
// and identities through these, so they configure wolfSSL alike.
#pragma once

#include <lastbyte/config.hpp>

// clang-format off
#include <wolfssl/options.h>  // must come first: the build's feature macros
#include <wolfssl/ssl.h>
// clang-format on
#include <wolfssl/wolfcrypt/ecc.h>

#include <string_view>

namespace lastbyte::direct::wolfssl {

// What refused a configuration: the call (nullptr: nothing did) and its return code.
struct Refusal {
  const char* call = nullptr;
  int rc = WOLFSSL_SUCCESS;
};
inline Refusal refused(int rc, const char* call) { return rc == WOLFSSL_SUCCESS ? Refusal{} : Refusal{call, rc}; }

// A context for one side, the version pinned by the method (wolfSSL_Init once).
inline WOLFSSL_CTX* new_context(bool server, TlsVersion version) {
  static const bool initialised = wolfSSL_Init() == WOLFSSL_SUCCESS;
  (void)initialised;
  bool tls13 = version == TlsVersion::tls1_3;
  return wolfSSL_CTX_new(server ? (tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method())
                                : (tls13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method()));
}

inline const unsigned char* bytes(std::string_view pem) { return reinterpret_cast<const unsigned char*>(pem.data()); }
inline long size(std::string_view pem) { return static_cast<long>(pem.size()); }

// Client: every certificate in `pem` as a trust anchor.
inline Refusal load_trust(WOLFSSL_CTX* ctx, std::string_view pem) {
  return refused(wolfSSL_CTX_load_verify_buffer(ctx, bytes(pem), size(pem), WOLFSSL_FILETYPE_PEM),
                 "wolfSSL_CTX_load_verify_buffer");
}

// Server: the chain (leaf first) and its key.
inline Refusal load_identity(WOLFSSL_CTX* ctx, std::string_view chain, std::string_view key) {
  if (auto r = refused(wolfSSL_CTX_use_certificate_chain_buffer(ctx, bytes(chain), size(chain)),
                       "wolfSSL_CTX_use_certificate_chain_buffer");
      r.call)
    return r;
  return refused(wolfSSL_CTX_use_PrivateKey_buffer(ctx, bytes(key), size(key), WOLFSSL_FILETYPE_PEM),
                 "wolfSSL_CTX_use_PrivateKey_buffer");
}

// Debian's build has FP_ECC: a thread that did ECC keeps a cache until it
// calls wc_ecc_fp_free() (LeakSanitizer sees it otherwise). Call on each
// thread that drives wolfSSL; releases the cache when that thread ends.
inline void release_ecc_cache_at_thread_exit() {
  struct Releaser {
    ~Releaser() { wc_ecc_fp_free(); }
  };
  thread_local Releaser releaser;
  (void)releaser;
}

}  // namespace lastbyte::direct::wolfssl
