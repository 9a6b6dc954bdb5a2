// OpenSSL 3 driven directly, without lastbyte: the setup its two direct
// consumers share. Native mode (openssl_native.cpp) and the benchmarks'
// baseline (openssl_bench.cpp, and the blocking and Asio clients and the
// server of bench/bench_tcp.cpp) pin versions and suites, load trust anchors
// and identities from memory through these, so they configure OpenSSL alike.
#pragma once

#include <lastbyte/config.hpp>
#include <lastbyte/testing/pki.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>
#include <string_view>

namespace lastbyte::direct::openssl {

// The one protocol version both ends may negotiate.
inline void pin_version(SSL_CTX* ctx, TlsVersion version) {
  int v = version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, v);
  SSL_CTX_set_max_proto_version(ctx, v);
}

// pin_version, and the one suite (its IANA name) it may negotiate.
inline void pin_suite(SSL_CTX* ctx, TlsVersion version, std::string_view iana) {
  pin_version(ctx, version);
  std::string name(iana);
  if (version == TlsVersion::tls1_3) SSL_CTX_set_ciphersuites(ctx, name.c_str());
  else SSL_CTX_set_cipher_list(ctx, OPENSSL_cipher_name(name.c_str()));
}

template <typename Object, typename Reader>
Object* read_pem(std::string_view pem, Reader reader) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Object* object = reader(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return object;
}

// Every certificate in `pem` as a trust anchor of the context's store.
inline void load_trust(SSL_CTX* ctx, std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cert);
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on "no start line"
}

// The leaf of `chain`, the certificates after it as its chain, and its key.
// nullptr, or the call that refused them (the reason is in the error queue).
inline const char* load_identity(SSL_CTX* ctx, std::string_view chain, std::string_view key_pem) {
  BIO* bio = BIO_new_mem_buf(chain.data(), static_cast<int>(chain.size()));
  X509* leaf = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  int ok = leaf ? SSL_CTX_use_certificate(ctx, leaf) : 0;
  X509_free(leaf);
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) SSL_CTX_add0_chain_cert(ctx, cert);
  BIO_free(bio);
  ERR_clear_error();
  if (ok != 1) return "SSL_CTX_use_certificate";
  EVP_PKEY* key = read_pem<EVP_PKEY>(key_pem, PEM_read_bio_PrivateKey);
  ok = key ? SSL_CTX_use_PrivateKey(ctx, key) : 0;
  EVP_PKEY_free(key);
  return ok == 1 ? nullptr : "SSL_CTX_use_PrivateKey";
}

// The test PKI: the server's identity, or (client) its CA as the only trust anchor.
inline void load_test_pki(SSL_CTX* ctx, bool server) {
  const auto& pki = testing::test_pki();
  if (server) load_identity(ctx, pki.server.cert_pem, pki.server.key_pem);
  else load_trust(ctx, pki.ca.cert_pem);
}

}  // namespace lastbyte::direct::openssl
