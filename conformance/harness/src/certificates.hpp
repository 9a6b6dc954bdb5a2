// V01–V08 (docs/scenarios.md, "Certificates"): rows of the catalogue whose oracle
// is the client's certificate decision rather than a byte stream
// (add_certificate_rows, rows.hpp), and what native mode needs of them.
#pragma once

#include <lastbyte/conformance/scenarios.hpp>

namespace lastbyte::conformance::detail {

// `delivered` (may be null) receives the client's decision on the row's name.
CellResult run_certificate_cell(const Cell& cell, Delivered* delivered = nullptr);

// What a V row's server presents, and the name the client asks for: native
// mode presents the same certificate to each library's own verification.
struct CertificateCase {
  std::string chain_pem;
  std::string key_pem;
  std::string name;                    // what the client verifies
  std::optional<RejectReason> reject;  // lastbyte's decision (nullopt: accepted)
};
// Generated afresh; throws std::logic_error for an id that is not a V row.
CertificateCase certificate_case(std::string_view id);

}  // namespace lastbyte::conformance::detail
