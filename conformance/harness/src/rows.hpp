// Rows of the catalogue kept beside scenarios.cpp: the write side (W01-W07,
// write_side.cpp) and the injected records (I01-I09, injected.cpp).
#pragma once

#include <lastbyte/conformance/scenarios.hpp>

#include <initializer_list>
#include <vector>

namespace lastbyte::conformance::detail {

void add_write_rows(std::vector<Scenario>& catalogue);
void add_injected_rows(std::vector<Scenario>& catalogue);

Bytes bytes(std::initializer_list<int> values);
// A NewSessionTicket the client cannot tell from a real one (RFC 8446 §4.6.1).
Bytes new_session_ticket(int nonce);

}  // namespace lastbyte::conformance::detail
