// Internal to the Mbed TLS adapter (and its test): not installed.
#pragma once

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <cstddef>

namespace lastbyte::backends::mbedtls_detail {

// Mbed TLS 2.28 computes an EC group's fixed-point table (grp->T) on the
// first multiplication of its generator and stores it in the group, which
// ecp.h calls "not thread-safe to use same group in multiple threads". A
// Context shares the groups of its own key and of every trust anchor with
// all its connections, so the first concurrent handshakes would write them
// at once: two threads each install a table, and the one that loses frees
// the table a third thread may be reading (or it leaks). One generator
// multiplication per group while the Context is still private to the thread
// creating it computes every table; from then on the library only reads
// them (ecp_mul_comb reuses grp->T when it is set).
//
// Computes the table of `key`'s group (if it is an EC key) and of every EC
// key in the `anchors` chain; returns how many groups it computed, or a
// negative Mbed TLS error code.
int precompute_shared_ecp_tables(mbedtls_pk_context* key, mbedtls_x509_crt* anchors,
                                 int (*f_rng)(void*, unsigned char*, std::size_t), void* p_rng);

// Whether `pk`'s group has its table (false for non-EC keys). For the test.
bool has_generator_table(const mbedtls_pk_context& pk);

}  // namespace lastbyte::backends::mbedtls_detail
