// R36: fresh loopback connections (2,000 by default) per client/server backend pair, the
// server closing right after its response: every body complete.
#include <lastbyte/conformance/harness.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

namespace lastbyte::conformance {
namespace {

using Pair = std::pair<const Backend*, const Backend*>;

std::vector<Pair> all_pairs() {
  std::vector<Pair> pairs;
  for (const Backend* c : installed_backends())
    for (const Backend* s : installed_backends()) pairs.emplace_back(c, s);
  return pairs;
}

class R36 : public ::testing::TestWithParam<Pair> {};

// 2,000 as docs/scenarios.md asks; the sanitizer preset sets
// LASTBYTE_R36_CONNECTIONS lower to stay inside the CI budget.
int connection_count() {
  const char* env = std::getenv("LASTBYTE_R36_CONNECTIONS");
  return env ? std::max(1, std::atoi(env)) : 2000;
}

TEST_P(R36, FreshConnectionsEveryBodyComplete) {
  const int n = connection_count();
  auto result = run_http_exchanges(*GetParam().first, *GetParam().second, n, 64 * 1024);
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->connections, n);
  EXPECT_EQ(result->complete, n) << "short or corrupted bodies";
  EXPECT_EQ(result->verdicts["close_notify"], n);
  std::cout << n << " connections, " << result->complete << " complete bodies, " << to_string(result->version) << "\n";
  if (result->limited) std::cout << "TLS 1.2, because TLS 1.3 is " << describe(*result->limited) << "\n";
}

INSTANTIATE_TEST_SUITE_P(Loopback, R36, ::testing::ValuesIn(all_pairs()), [](const auto& p) {
  return std::string(p.param.first->name) + "_client_" + std::string(p.param.second->name) + "_server";
});

}  // namespace
}  // namespace lastbyte::conformance
