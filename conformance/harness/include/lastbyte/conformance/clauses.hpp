// The decrypt-pending contract's clauses C1–C10 (docs/design.md, where they
// are normative; core/include/lastbyte/connection.hpp) and what proves each:
// the catalogue rows that name it (Scenario::clauses) and the gtest tests
// listed here. `lastbyte-conformance --clauses` prints the index; the ctests
// scenario_clauses and Clauses.* keep it true.
#pragma once

#include <lastbyte/conformance/scenarios.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance {

struct ContractClause {
  Clause id = Clause::C1;
  std::string_view name = {};       // "Order"
  std::string_view statement = {};  // docs/design.md's wording, whitespace aside (the ctest compares them)
  // Tests of tests/ that prove it beyond the rows, as gtest names them
  // without a parametrised suite's prefix and suffix (Suite.Test); the ctest
  // checks that each exists.
  std::vector<std::string_view> tests = {};
};

std::span<const ContractClause> contract_clauses();

// "C1".."C10"; for a value no clause has, "C" and its number all the same,
// so that a problem report can name it.
std::string to_string(Clause clause);

// What makes the index wrong: a clause no row proves, a row that names no
// clause, a row naming a clause `clauses` does not hold. Empty when it is
// right.
std::vector<std::string> clause_problems(std::span<const Scenario> rows, std::span<const ContractClause> clauses);

}  // namespace lastbyte::conformance
