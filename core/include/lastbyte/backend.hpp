// Which backend a program gets. The one chosen with -DLASTBYTE_BACKEND at
// configure time is default_backend(); programs that link several backend
// targets (tests, the conformance runner) pick among them by name.
#pragma once

#include <lastbyte/engine.hpp>
#include <lastbyte/expected.hpp>

#include <span>
#include <string_view>

namespace lastbyte {

// Defined by the lastbyte::lastbyte target (core + the configured adapter).
const Backend& default_backend();

// `available` is what the program linked. An unknown name yields
// errc::unknown_backend with the names that are available.
Expected<const Backend*> find_backend(std::string_view name,
                                      std::span<const Backend* const> available);

}  // namespace lastbyte
