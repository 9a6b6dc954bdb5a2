// Mbed TLS 2.28 writes an EC group's fixed-point table on the group's first
// generator multiplication (backends/mbedtls/ecp_tables.hpp). The adapter
// computes the tables of the groups a Context shares before any connection
// exists; these tests pin both the library behaviour that makes that
// necessary and the helper that does it.
#include "ecp_tables.hpp"

#include <lastbyte/testing/pki.hpp>

#include <gtest/gtest.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

namespace {

using lastbyte::backends::mbedtls_detail::has_generator_table;
using lastbyte::backends::mbedtls_detail::precompute_shared_ecp_tables;

struct Parsed {
  Parsed() {
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&key);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    const auto& pki = lastbyte::testing::test_pki();
    ok = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, nullptr, 0) == 0 &&
         mbedtls_x509_crt_parse(&ca, reinterpret_cast<const unsigned char*>(pki.ca.cert_pem.c_str()),
                                pki.ca.cert_pem.size() + 1) == 0 &&
         mbedtls_pk_parse_key(&key, reinterpret_cast<const unsigned char*>(pki.server.key_pem.c_str()),
                              pki.server.key_pem.size() + 1, nullptr, 0) == 0;
  }
  ~Parsed() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&ca);
  }
  mbedtls_x509_crt ca;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool ok = false;
};

// If this fails, the installed Mbed TLS ships static tables and the
// precomputation (and its note in mbedtls.hpp) can go.
TEST(MbedTlsSharedGroups, LibraryComputesTheTableLazily) {
  Parsed p;
  ASSERT_TRUE(p.ok);
  EXPECT_FALSE(has_generator_table(p.key));
  EXPECT_FALSE(has_generator_table(p.ca.pk));
}

TEST(MbedTlsSharedGroups, KeyAndTrustAnchorTablesArePrecomputedBeforeSharing) {
  Parsed p;
  ASSERT_TRUE(p.ok);
  EXPECT_EQ(precompute_shared_ecp_tables(&p.key, &p.ca, mbedtls_ctr_drbg_random, &p.drbg), 2);
  EXPECT_TRUE(has_generator_table(p.key));
  EXPECT_TRUE(has_generator_table(p.ca.pk));
  // Done once: a second call has nothing left to compute.
  EXPECT_EQ(precompute_shared_ecp_tables(&p.key, &p.ca, mbedtls_ctr_drbg_random, &p.drbg), 0);
}

}  // namespace
