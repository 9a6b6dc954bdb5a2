// Every installed backend with TLS 1.3 and 1.2, as gtest parameters, for the
// test files that run one case per backend and version.
#pragma once

#include <lastbyte/conformance/harness.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace lastbyte::conformance {

struct Params {
  const Backend* backend;
  TlsVersion version;
};

inline std::vector<Params> all_params() {
  std::vector<Params> out;
  for (const Backend* b : installed_backends())
    for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2}) out.push_back({b, v});
  return out;
}

inline std::string param_name(const ::testing::TestParamInfo<Params>& p) {
  return std::string(p.param.backend->name) + (p.param.version == TlsVersion::tls1_3 ? "_tls13" : "_tls12");
}

// A test run once per installed backend and version (all_params()); a
// version the library lacks is skipped with that reason, never passed.
class BackendTest : public ::testing::TestWithParam<Params> {
 protected:
  void SetUp() override {
    if (!backend().supports(version())) GTEST_SKIP() << "unsupported by this library: " << backend().library_version();
  }
  const Backend& backend() const { return *GetParam().backend; }
  TlsVersion version() const { return GetParam().version; }

  // A client and a server of this backend, from these configurations.
  MemoryPair pair(Config client, Config server) {
    auto p = MemoryPair::create(backend(), std::move(client), backend(), std::move(server));
    if (!p) throw std::runtime_error(p.error().message());
    return std::move(*p);
  }
};

}  // namespace lastbyte::conformance
