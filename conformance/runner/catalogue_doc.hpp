// docs/scenarios.md's index: every row the runner implements (the catalogue's
// R, W, I and V rows and black-box mode's X and Y rows), with its title,
// where it runs and the contract clauses it proves, generated from the code
// so the document cannot drift (ctest: scenario_catalogue_doc). And the
// index the other way round, from each clause to its rows and tests
// (--clauses; ctest: scenario_clauses).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance {

inline constexpr std::string_view catalogue_begin_marker = "<!-- catalogue:begin -->";
inline constexpr std::string_view catalogue_end_marker = "<!-- catalogue:end -->";

// R36 is no Scenario: the runner runs it itself, over real loopback TCP
// (run_http_exchanges), after the cells.
inline constexpr std::string_view r36_title =
    "HTTP-like exchange on fresh loopback connections, the server closing right after its response";

// The index as a Markdown table, one line per row id.
std::string catalogue_markdown();

// Each contract clause, its statement, the rows and the tests that prove it,
// in lines of at most report::terminal_width columns.
std::vector<std::string> clauses_index();

}  // namespace lastbyte::conformance
