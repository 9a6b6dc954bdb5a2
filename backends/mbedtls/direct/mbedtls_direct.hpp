// Mbed TLS 2.28 driven directly, without lastbyte: the setup its two direct
// consumers share. Native mode (mbedtls_native.cpp) and the benchmarks'
// baseline (mbedtls_bench.cpp) configure each side through Config, so they
// configure Mbed TLS alike.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include <string>

namespace lastbyte::direct::mbedtls {

// What refused a configuration: the call (nullptr: nothing did) and its error code.
struct Refusal {
  const char* call = nullptr;
  int rc = 0;
};
inline Refusal refused(int rc, const char* call) { return rc == 0 ? Refusal{} : Refusal{call, rc}; }

// One side's long-lived configuration: an mbedtls_ssl_config seeded with its
// own CTR-DRBG, TLS 1.2 pinned (2.28 has no TLS 1.3 to speak of), and the
// certificates it points at: a client's trust anchors or a server's chain and key.
struct Config {
  mbedtls_ssl_config conf;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_x509_crt certs;  // client: trust anchors; server: its chain
  mbedtls_pk_context key;  // server: the chain's key

  Config() {
    mbedtls_ssl_config_init(&conf);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&certs);
    mbedtls_pk_init(&key);
  }
  ~Config() {
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&certs);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_ssl_config_free(&conf);
  }
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  // The defaults for a client or a server, the RNG and the version.
  Refusal setup(bool server) {
    if (auto r = refused(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0),
                         "mbedtls_ctr_drbg_seed");
        r.call)
      return r;
    if (auto r = refused(mbedtls_ssl_config_defaults(&conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT),
                         "mbedtls_ssl_config_defaults");
        r.call)
      return r;
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    return {};
  }

  // Client: every certificate in `pem` as a trust anchor.
  Refusal trust(const std::string& pem) {
    if (auto r = refused(mbedtls_x509_crt_parse(&certs, bytes(pem), pem.size() + 1), "parsing the CA"); r.call)
      return r;
    mbedtls_ssl_conf_ca_chain(&conf, &certs, nullptr);
    return {};
  }

  // Server: the chain (leaf first) and its key.
  Refusal identity(const std::string& chain, const std::string& key_pem) {
    if (auto r = refused(mbedtls_x509_crt_parse(&certs, bytes(chain), chain.size() + 1),
                         "parsing the certificate chain");
        r.call)
      return r;
    if (auto r = refused(mbedtls_pk_parse_key(&key, bytes(key_pem), key_pem.size() + 1, nullptr, 0),
                         "parsing the key");
        r.call)
      return r;
    return refused(mbedtls_ssl_conf_own_cert(&conf, &certs, &key), "mbedtls_ssl_conf_own_cert");
  }

 private:
  // PEM text with its terminating NUL, as the parsers want it.
  static const unsigned char* bytes(const std::string& pem) {
    return reinterpret_cast<const unsigned char*>(pem.c_str());
  }
};

}  // namespace lastbyte::direct::mbedtls
