// Counts heap use of the whole process (the TLS libraries' allocations
// included) by interposing malloc and friends; linked only into
// lastbyte-bench-memory, so the timing benchmarks run on the plain allocator.
#pragma once

#include <cstddef>

namespace lastbyte::bench::heap {

std::size_t live_bytes();     // allocated and not yet freed (usable sizes)
std::size_t peak_bytes();     // highest live_bytes() since reset_peak()
std::size_t allocations();    // calls that allocated, since start
void reset_peak();

}  // namespace lastbyte::bench::heap
