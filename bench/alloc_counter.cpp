#include "alloc_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cerrno>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace lastbyte::bench::heap {

namespace {
std::atomic<std::size_t> live{0}, peak{0}, count{0};
}  // namespace

void* counted(void* p) {  // (internal to this file and the hooks below)
  if (!p) return p;
  std::size_t now = live.fetch_add(malloc_usable_size(p), std::memory_order_relaxed) + malloc_usable_size(p);
  count.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t seen = peak.load(std::memory_order_relaxed);
       now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed);) {
  }
  return p;
}

void uncounted(void* p) {
  if (p) live.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
}

std::size_t live_bytes() { return live.load(); }
std::size_t peak_bytes() { return peak.load(); }
std::size_t allocations() { return count.load(); }
void reset_peak() { peak.store(live.load()); }

}  // namespace lastbyte::bench::heap

using lastbyte::bench::heap::counted;
using lastbyte::bench::heap::uncounted;

extern "C" {

void* malloc(std::size_t n) { return counted(__libc_malloc(n)); }
void* calloc(std::size_t n, std::size_t size) { return counted(__libc_calloc(n, size)); }
void free(void* p) {
  uncounted(p);
  __libc_free(p);
}
void* realloc(void* p, std::size_t n) {
  uncounted(p);
  void* q = __libc_realloc(p, n);
  if (!q && n != 0 && p) return counted(p), nullptr;  // the old block is still ours
  return counted(q);
}
void* memalign(std::size_t alignment, std::size_t n) { return counted(__libc_memalign(alignment, n)); }
void* aligned_alloc(std::size_t alignment, std::size_t n) { return memalign(alignment, n); }
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
  void* p = memalign(alignment, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"
