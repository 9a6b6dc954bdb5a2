// Writes the test PKI for the C API test (a C program cannot call the C++
// generator): DIR/ca.pem, ca.der, server.pem, server.key, server.der,
// server.key.der (PKCS#8), client.pem, client.key. Generated per run, never
// checked in.
#include <lastbyte/testing/pki.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

bool write(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  return static_cast<bool>(out);
}

std::string der_of_certificate(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  unsigned char* der = nullptr;
  int n = cert ? i2d_X509(cert, &der) : -1;
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)) : std::string();
  OPENSSL_free(der);
  X509_free(cert);
  BIO_free(bio);
  return out;
}

std::string der_of_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO* out = BIO_new(BIO_s_mem());
  std::string der;
  if (key && out && i2d_PKCS8PrivateKey_bio(out, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    long n = BIO_get_mem_data(out, &data);
    der.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(out);
  EVP_PKEY_free(key);
  BIO_free(bio);
  return der;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: lastbyte-write-test-pki DIR\n");
    return 2;
  }
  std::string dir = argv[1];
  const auto& pki = lastbyte::testing::test_pki();
  std::string ca_der = der_of_certificate(pki.ca.cert_pem), server_der = der_of_certificate(pki.server.cert_pem),
              key_der = der_of_key(pki.server.key_pem);
  bool ok = !ca_der.empty() && !server_der.empty() && !key_der.empty() && write(dir + "/ca.pem", pki.ca.cert_pem) &&
            write(dir + "/ca.der", ca_der) && write(dir + "/server.pem", pki.server.cert_pem) &&
            write(dir + "/server.key", pki.server.key_pem) && write(dir + "/server.der", server_der) &&
            write(dir + "/server.key.der", key_der) && write(dir + "/client.pem", pki.client.cert_pem) &&
            write(dir + "/client.key", pki.client.key_pem);
  if (!ok) std::fprintf(stderr, "lastbyte-write-test-pki: cannot write the PKI into %s\n", dir.c_str());
  return ok ? 0 : 1;
}
