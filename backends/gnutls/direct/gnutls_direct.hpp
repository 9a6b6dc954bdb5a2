// GnuTLS 3.7 driven directly, without lastbyte: the setup its two direct
// consumers share. Native mode (gnutls_native.cpp) and the benchmarks'
// baseline (gnutls_bench.cpp) pin the version and load trust anchors and
// identities through these, so they configure GnuTLS alike.
#pragma once

#include <lastbyte/config.hpp>

#include <gnutls/gnutls.h>

#include <string>
#include <string_view>

namespace lastbyte::direct::gnutls {

// What refused a configuration: the call (nullptr: nothing did) and its error code.
struct Refusal {
  const char* call = nullptr;
  int rc = 0;
};
inline Refusal refused(int rc, const char* call) { return rc >= 0 ? Refusal{} : Refusal{call, rc}; }

// The priority string's start that pins one protocol version.
inline std::string version_priority(TlsVersion version) {
  return version == TlsVersion::tls1_3 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3" : "NORMAL:-VERS-ALL:+VERS-TLS1.2";
}

// GnuTLS takes PEM as a datum it only reads.
inline gnutls_datum_t datum(std::string_view pem) {
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())), static_cast<unsigned>(pem.size())};
}

// Client: every certificate in `pem` as a trust anchor.
inline Refusal load_trust(gnutls_certificate_credentials_t credentials, std::string_view pem) {
  gnutls_datum_t ca = datum(pem);
  return refused(gnutls_certificate_set_x509_trust_mem(credentials, &ca, GNUTLS_X509_FMT_PEM),
                 "gnutls_certificate_set_x509_trust_mem");
}

// Server: the chain (leaf first) and its key.
inline Refusal load_identity(gnutls_certificate_credentials_t credentials, std::string_view chain,
                             std::string_view key_pem) {
  gnutls_datum_t cert = datum(chain), key = datum(key_pem);
  return refused(gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0),
                 "gnutls_certificate_set_x509_key_mem2");
}

}  // namespace lastbyte::direct::gnutls
