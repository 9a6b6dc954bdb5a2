// The scenario catalogue on every installed backend, as client and as server,
// against every installed backend as peer, under every delivery schedule and
// read size, and over loopback TCP (`_tcp_`). Test names carry the scenario id
// (R01_...).
#include <lastbyte/conformance/scenarios.hpp>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lastbyte::conformance
