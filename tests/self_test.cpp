// The suite can fail: deliberately broken engines (conformance/broken.hpp)
// wrapped around a real backend must each be caught by the scenario
// catalogue, and with the right diagnosis.
#include <lastbyte/conformance/broken.hpp>
#include <lastbyte/conformance/scenarios.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

struct Caught {
  int failed = 0, cells = 0;
  std::string first_message;
};

// Runs `ids` with the broken backend as the victim and the real one as peer.
Caught run(Breakage breakage, std::initializer_list<std::string_view> ids) {
  const Backend& real = *installed_backends()[0];
  const Backend& broken = broken_backend(breakage, real);
  Caught caught;
  for (auto id : ids)
    for (Cell cell : cells_for(*find_scenario(id), broken, real, 7)) {
      ++caught.cells;
      CellResult result = run_cell(cell);
      if (result.status != CellResult::Status::fail) continue;
      if (caught.failed++ == 0) caught.first_message = result.message;
    }
  return caught;
}

TEST(SelfTest, CatchesAnEngineThatDropsPlaintextItHolds) {
  Caught c = run(Breakage::drops_held_plaintext, {"R01", "R03"});
  EXPECT_GT(c.failed, 0) << "the suite passed an engine that loses bytes";
  EXPECT_NE(c.first_message.find("bytes: expected"), std::string::npos) << c.first_message;
}

TEST(SelfTest, CatchesAnEngineThatHidesPlaintextItHolds) {
  Caught c = run(Breakage::hides_held_plaintext, {"R01", "R17"});
  EXPECT_GT(c.failed, 0) << "the suite passed an engine that breaks C2";
  EXPECT_NE(c.first_message.find("C2"), std::string::npos) << c.first_message;
}

TEST(SelfTest, CatchesAnEngineThatEndsBeforeDraining) {
  Caught c = run(Breakage::ends_before_draining, {"R03", "R04"});
  EXPECT_GT(c.failed, 0) << "the suite passed an engine whose end overtakes buffered records";
  EXPECT_NE(c.first_message.find("bytes: expected 300"), std::string::npos) << c.first_message;
}

}  // namespace
}  // namespace lastbyte::conformance
