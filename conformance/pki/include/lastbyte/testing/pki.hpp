// Throwaway certificates for tests and tools: ECDSA P-256, generated in memory.
#pragma once

#include <string>
#include <vector>

namespace lastbyte::testing {

struct Identity {
  std::string cert_pem;  // leaf (or root) certificate
  std::string key_pem;   // its private key
};

enum class Usage { server, client, ca };

struct CertSpec {
  std::string common_name = {};
  std::vector<std::string> dns_names = {};   // subjectAltName DNS entries (none: CN-only certificate)
  std::vector<std::string> ip_addresses = {};  // subjectAltName IP entries
  int valid_from_days = -1;               // relative to now
  int valid_until_days = 30;
  Usage usage = Usage::server;  // extendedKeyUsage serverAuth / clientAuth; ca: a CA certificate
};

// Throws std::runtime_error if libcrypto fails (tests only).
Identity make_root(const std::string& common_name);
Identity issue(const Identity& issuer, const CertSpec& spec);
Identity self_signed(const CertSpec& spec);

// One CA with a server leaf for "server.test", "localhost", 127.0.0.1 and ::1,
// and a client leaf; generated once per process.
struct TestPki {
  Identity ca;
  Identity server;
  Identity client;
};
const TestPki& test_pki();

}  // namespace lastbyte::testing
