// The scenario catalogue on every installed backend, as client and as server,
// against every installed backend as peer, under every delivery schedule and
// read size, and over loopback TCP (`_tcp_`). Test names carry the scenario id
// (R01_...).
#include <lastbyte/conformance/scenarios.hpp>

#include <gtest/gtest.h>

#include <cstdio>

namespace lastbyte::conformance {

void PrintTo(const Cell& cell, std::ostream* os) { *os << cell.name(); }

namespace {

constexpr std::uint64_t kRandomSeed = 20261125;

std::vector<Cell> all_cells() {
  std::vector<Cell> cells;
  for (const auto& scenario : scenarios())
    for (const Backend* victim : installed_backends())
      for (const Backend* peer : installed_backends()) {
        for (auto more : {cells_for(scenario, *victim, *peer, kRandomSeed), tcp_cells_for(scenario, *victim, *peer)})
          cells.insert(cells.end(), more.begin(), more.end());
      }
  return cells;
}

class Scenario : public testing::TestWithParam<Cell> {};

TEST_P(Scenario, DeliversExactBytesAndVerdict) {
  CellResult result = run_cell(GetParam());
  if (result.status == CellResult::Status::unsupported) GTEST_SKIP() << "unsupported by this library: " << result.message;
  if (result.status == CellResult::Status::known_divergence)
    GTEST_SKIP() << "known divergence (docs/divergences.md): " << result.message;
  EXPECT_EQ(result.status, CellResult::Status::pass) << result.message;
}

INSTANTIATE_TEST_SUITE_P(Catalogue, Scenario, testing::ValuesIn(all_cells()),
                         [](const testing::TestParamInfo<Cell>& cell) { return cell.param.name(); });

// ctest runs one group of cells per process (cmake/ScenarioTests.cmake.in)
// and calls it skipped only on this line: when no cell of the run ran and
// none failed. A group where some cells are unsupported or a known
// divergence and the others ran is judged by those that ran (a failure
// among them fails it; the skipped ones are listed in its output, and the
// main job's matrix counts them).
class SkippedGroupReport : public testing::Environment {
 public:
  void TearDown() override {
    const testing::UnitTest& run = *testing::UnitTest::GetInstance();
    if (run.failed_test_count() == 0 && run.successful_test_count() == 0 && run.skipped_test_count() > 0)
      std::printf("lastbyte: no cell of this group ran (unsupported by this library or a known divergence)\n");
  }
};
[[maybe_unused]] const testing::Environment* const skipped_group_report =
    testing::AddGlobalTestEnvironment(new SkippedGroupReport);

}  // namespace
}  // namespace lastbyte::conformance
