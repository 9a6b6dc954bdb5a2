// The index from contract clauses to the rows that prove them
// (lastbyte-conformance --clauses): every clause has a row, every row names
// a clause, and only clauses that exist. tests/clauses_test.py checks what
// the runner prints against docs/design.md and the tests it names.
#include <lastbyte/conformance/clauses.hpp>

#include <gtest/gtest.h>

namespace lastbyte::conformance {
namespace {

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

bool mentions(const std::vector<std::string>& problems, std::string_view text) {
  for (const auto& problem : problems)
    if (problem.find(text) != std::string::npos) return true;
  return false;
}

TEST(Clauses, TheTableHoldsC1ToC10InOrder) {
  auto clauses = contract_clauses();
  ASSERT_EQ(clauses.size(), 10u);
  for (std::size_t i = 0; i < clauses.size(); ++i) {
    EXPECT_EQ(to_string(clauses[i].id), "C" + std::to_string(i + 1));
    EXPECT_FALSE(clauses[i].name.empty());
    EXPECT_FALSE(clauses[i].statement.empty());
    EXPECT_FALSE(clauses[i].tests.empty()) << to_string(clauses[i].id);
  }
}

TEST(Clauses, TheCatalogueProvesEveryClauseAndNamesNoOther) {
  EXPECT_EQ(joined(clause_problems(scenarios(), contract_clauses())), "");
}

TEST(Clauses, AClauseWithoutARowIsAProblem) {
  const std::vector<Scenario> rows = {{.id = "Z01", .clauses = {Clause::C1}}};
  auto problems = clause_problems(rows, contract_clauses());
  EXPECT_EQ(problems.size(), 9u) << joined(problems);
  EXPECT_TRUE(mentions(problems, "C10 (Nothing accepted is lost (write side)) has no row")) << joined(problems);
  EXPECT_FALSE(mentions(problems, "C1 ")) << joined(problems);
}

TEST(Clauses, ARowNamingAnUnknownClauseIsAProblem) {
  std::vector<Scenario> rows;
  for (const ContractClause& clause : contract_clauses()) rows.push_back({.id = "Z01", .clauses = {clause.id}});
  rows.push_back({.id = "Z02", .clauses = {Clause::C4, static_cast<Clause>(11)}});
  EXPECT_EQ(joined(clause_problems(rows, contract_clauses())), "Z02 names C11, which is no contract clause\n");
  // A clause dropped from the table while rows still name it.
  auto without_c7 = std::vector<ContractClause>(contract_clauses().begin(), contract_clauses().end());
  std::erase_if(without_c7, [](const ContractClause& c) { return c.id == Clause::C7; });
  EXPECT_TRUE(mentions(clause_problems(scenarios(), without_c7), "names C7, which is no contract clause"));
}

TEST(Clauses, ARowNamingNoClauseIsAProblem) {
  std::vector<Scenario> rows;
  for (const ContractClause& clause : contract_clauses()) rows.push_back({.id = "Z01", .clauses = {clause.id}});
  rows.push_back({.id = "Z03"});
  EXPECT_EQ(joined(clause_problems(rows, contract_clauses())), "Z03 names no contract clause\n");
}

}  // namespace
}  // namespace lastbyte::conformance
