// The soak can fail: with a deliberately broken engine (conformance/broken.hpp)
// on one side, seeded pairs must report it, with the diagnosis and the
// reproducer (docs/adversarial.md, "Soak").
#include <lastbyte/conformance/broken.hpp>
#include <lastbyte/conformance/soak.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

struct Caught {
  long failed = 0;
  std::string first;
};

Caught soak_with(Breakage breakage, TlsVersion version, int pairs) {
  const Backend& real = *installed_backends()[0];
  const Backend& broken = broken_backend(breakage, real);
  Caught caught;
  // Broken as the client: the victim half of the time, the peer otherwise.
  auto cell = SoakCell::create(broken, real, version);
  EXPECT_TRUE(cell) << (cell ? "" : cell.error().message());
  if (!cell) return caught;
  SoakStats stats;
  for (int seed = 1; seed <= pairs; ++seed)
    if (auto failure = (*cell)->run(static_cast<std::uint64_t>(seed), stats); failure && caught.failed++ == 0)
      caught.first = *failure;
  EXPECT_EQ(stats.failures, caught.failed);
  return caught;
}

TEST(SoakSelfTest, CatchesAnEngineThatDropsPlaintextItHolds) {
  Caught c = soak_with(Breakage::drops_held_plaintext, TlsVersion::tls1_3, 60);
  EXPECT_GT(c.failed, 0) << "the soak passed an engine that loses bytes";
  EXPECT_NE(c.first.find("bytes: "), std::string::npos) << c.first;
  EXPECT_NE(c.first.find("reproduce: lastbyte-soak --client broken --server "), std::string::npos) << c.first;
}

TEST(SoakSelfTest, CatchesAnEngineThatHidesPlaintextItHolds) {
  Caught c = soak_with(Breakage::hides_held_plaintext, TlsVersion::tls1_2, 60);
  EXPECT_GT(c.failed, 0) << "the soak passed an engine that breaks C2";
  EXPECT_NE(c.first.find("C2"), std::string::npos) << c.first;
}

TEST(SoakSelfTest, CatchesAnEngineThatEndsBeforeDraining) {
  Caught c = soak_with(Breakage::ends_before_draining, TlsVersion::tls1_3, 60);
  EXPECT_GT(c.failed, 0) << "the soak passed an engine whose end overtakes buffered records";
}

}  // namespace
}  // namespace lastbyte::conformance
