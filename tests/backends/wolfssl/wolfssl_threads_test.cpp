// wolfSSL's FP_ECC cache is per thread (backends/wolfssl/include/lastbyte/
// backends/wolfssl.hpp): every thread that does ECC through the adapter must
// release it when it ends, also a thread that only creates Contexts.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/harness.hpp>

#include <gtest/gtest.h>
#include <malloc.h>

#include <thread>

namespace lastbyte::conformance {
namespace {

// Bytes in use on the heap (mallinfo2); 0 under the sanitizers, whose
// allocator does not report it (there LeakSanitizer catches the leak).
std::size_t heap_in_use() { return mallinfo2().uordblks; }

TEST(WolfSslThreads, ThreadThatOnlyCreatesContextsReleasesItsEccCache) {
  auto backend = find_backend("wolfssl", installed_backends());
  if (!backend) GTEST_SKIP() << "wolfssl is not installed: " << backend.error().message();
  Config config = server_config(TlsVersion::tls1_3);  // the test PKI is made here, not counted
  std::size_t before = heap_in_use();
  std::thread creator([&] {
    // The cache keeps a base point once it was used twice: four Contexts fill it.
    for (int i = 0; i < 4; ++i) {
      auto context = Context::create(config, **backend);
      ASSERT_TRUE(context) << context.error().message();
    }
  });
  creator.join();
  std::size_t after = heap_in_use();
  // Without the release, 1.6 MB stay behind (valgrind: wc_ecc_new_point).
  EXPECT_LT(after, before + 256 * 1024) << "heap grew by " << (after - before) << " bytes";
}

}  // namespace
}  // namespace lastbyte::conformance
