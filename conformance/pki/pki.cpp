#include <lastbyte/testing/pki.hpp>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace lastbyte::testing {
namespace {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what + " failed");
}

KeyPtr new_key() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

KeyPtr read_key(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  check(key != nullptr, "reading a private key");
  return key;
}

CertPtr read_cert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  check(cert != nullptr, "reading a certificate");
  return cert;
}

template <class Write, class T>
std::string to_pem(Write write, T* object) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  check(write(bio.get(), object) == 1, "PEM encoding");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "building an X.509 extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string san_value(const CertSpec& spec) {
  std::string san;
  for (const auto& name : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  return san;
}

// issuer == nullptr: self-signed with `key`.
Identity make(const CertSpec& spec, X509* issuer_cert, EVP_PKEY* issuer_key) {
  KeyPtr key = new_key();
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, Deleter<BN_free>> serial(BN_new());
  BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), long{spec.valid_from_days} * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), long{spec.valid_until_days} * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509* issuer = issuer_cert ? issuer_cert : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer));

  add_extension(cert.get(), issuer, NID_subject_key_identifier, "hash");
  add_extension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always");
  if (spec.usage == Usage::ca) {
    add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), issuer, NID_ext_key_usage, spec.usage == Usage::server ? "serverAuth" : "clientAuth");
  }
  if (auto san = san_value(spec); !san.empty()) add_extension(cert.get(), issuer, NID_subject_alt_name, san);
  check(X509_sign(cert.get(), issuer_key ? issuer_key : key.get(), EVP_sha256()) > 0, "X509_sign");

  return {to_pem(PEM_write_bio_X509, cert.get()),
          to_pem([](BIO* b, EVP_PKEY* k) { return PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr); },
                 key.get())};
}

}  // namespace

Identity make_root(const std::string& common_name) {
  CertSpec spec;
  spec.common_name = common_name;
  spec.usage = Usage::ca;
  spec.valid_until_days = 3650;
  return make(spec, nullptr, nullptr);
}

Identity issue(const Identity& issuer, const CertSpec& spec) {
  CertPtr issuer_cert = read_cert(issuer.cert_pem);
  KeyPtr issuer_key = read_key(issuer.key_pem);
  return make(spec, issuer_cert.get(), issuer_key.get());
}

Identity self_signed(const CertSpec& spec) { return make(spec, nullptr, nullptr); }

const TestPki& test_pki() {
  static const TestPki pki = [] {
    TestPki p;
    p.ca = make_root("lastbyte test CA");
    p.server = issue(p.ca, {.common_name = "server.test",
                            .dns_names = {"server.test", "localhost"},
                            .ip_addresses = {"127.0.0.1", "::1"}});
    p.client = issue(p.ca, {.common_name = "lastbyte test client", .usage = Usage::client});
    return p;
  }();
  return pki;
}

}  // namespace lastbyte::testing
