// Deliberately broken engines, wrapping a real backend: the suite must catch
// each of them (tests/self_test.cpp), proving it can fail.
#pragma once

#include <lastbyte/engine/engine.hpp>

namespace lastbyte::conformance {

enum class Breakage {
  drops_held_plaintext,  // returns one read's bytes and throws away what the library still holds
  hides_held_plaintext,  // pending_plaintext() always 0: no C2 wake-up for engine-held bytes
  ends_before_draining,  // after the first plaintext, claims to need input: the end overtakes records
};

// `inner` must outlive the returned backend; one instance per breakage.
const Backend& broken_backend(Breakage breakage, const Backend& inner);

}  // namespace lastbyte::conformance
