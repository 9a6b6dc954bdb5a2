// The catalogue's families, one file each: the peer's reads and closes
// (R rows, read_side.cpp), the write side (W rows, write_side.cpp), injected
// records (I rows, injected.cpp) and certificates (V rows, certificates.cpp).
// Each adds its rows in catalogue order through Catalogue::add, the one way
// a row is registered.
#pragma once

#include <lastbyte/conformance/scenarios.hpp>

#include <initializer_list>
#include <vector>

namespace lastbyte::conformance::detail {

class Catalogue {
 public:
  void add(Scenario row) { rows_.push_back(std::move(row)); }
  std::vector<Scenario> take() { return std::move(rows_); }

 private:
  std::vector<Scenario> rows_;
};

void add_read_rows(Catalogue& catalogue);
void add_injected_rows(Catalogue& catalogue);
void add_write_rows(Catalogue& catalogue);
void add_certificate_rows(Catalogue& catalogue);

Bytes bytes(std::initializer_list<int> values);
// A NewSessionTicket the client cannot tell from a real one (RFC 8446 §4.6.1).
Bytes new_session_ticket(int nonce);

}  // namespace lastbyte::conformance::detail
