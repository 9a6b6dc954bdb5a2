// OpenSSL context setup shared by the OpenSSL baselines (direct_openssl.cpp,
// the blocking and Asio clients and the server of bench_tcp.cpp): the same
// pinned version and suite, and the test PKI loaded from memory.
#pragma once

#include "pipes.hpp"

#include <lastbyte/testing/pki.hpp>

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <string>

namespace lastbyte::bench {

inline void pin_suite(SSL_CTX* ctx, const Suite& suite) {
  int version = suite.version == TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, version);
  SSL_CTX_set_max_proto_version(ctx, version);
  std::string name(suite.iana);
  if (suite.version == TlsVersion::tls1_3) SSL_CTX_set_ciphersuites(ctx, name.c_str());
  else SSL_CTX_set_cipher_list(ctx, OPENSSL_cipher_name(name.c_str()));
}

template <typename Object, typename Reader>
Object* read_pem(const std::string& pem, Reader reader) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Object* object = reader(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return object;
}

// The server's leaf and key, or (client) the test CA as the only trust anchor.
inline void load_test_pki(SSL_CTX* ctx, bool server) {
  const auto& pki = testing::test_pki();
  if (server) {
    X509* cert = read_pem<X509>(pki.server.cert_pem, PEM_read_bio_X509);
    EVP_PKEY* key = read_pem<EVP_PKEY>(pki.server.key_pem, PEM_read_bio_PrivateKey);
    SSL_CTX_use_certificate(ctx, cert);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(cert);
    EVP_PKEY_free(key);
  } else {
    X509* ca = read_pem<X509>(pki.ca.cert_pem, PEM_read_bio_X509);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
    X509_free(ca);
  }
}

}  // namespace lastbyte::bench
