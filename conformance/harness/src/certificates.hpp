// C01–C08 (SCENARIOS.md, "Certificates"): rows of the catalogue whose oracle
// is the client's certificate decision rather than a byte stream.
#pragma once

#include <lastbyte/conformance/scenarios.hpp>

#include <vector>

namespace lastbyte::conformance::detail {

void add_certificate_rows(std::vector<Scenario>& catalogue);
CellResult run_certificate_cell(const Cell& cell);

}  // namespace lastbyte::conformance::detail
