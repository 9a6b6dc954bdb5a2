// Heap bytes per established idle connection pair (client + server) and the
// peak during a 16 KiB transfer, lastbyte vs each library used directly.
// Reported as Google Benchmark counters; time is not the point here.
#include "alloc_counter.hpp"
#include "pipes.hpp"

#include <lastbyte/conformance/harness.hpp>

#include <benchmark/benchmark.h>

namespace lastbyte::bench {
namespace {

constexpr int idle_pairs = 16;

void idle(benchmark::State& state, const Implementation& impl, const Suite& suite) {
  auto factory = impl.make(suite);
  // Warm up: caches filled on first use are not per connection (wolfSSL's
  // per-thread FP_ECC table keeps up to 15 points; the OpenSSL and wolfSSL
  // adapters keep the Context's last 32 sessions, policy::SessionCache;
  // lastbyte's per-thread block cache holds at most 4 queue blocks).
  for (int i = 0; i < 48; ++i)
    if (!factory || !factory->connect(false)) return state.SkipWithError("handshake failed");
  double per_pair = 0;
  for (auto _ : state) {
    std::size_t before = heap::live_bytes();
    std::vector<std::unique_ptr<Pipe>> pipes;
    for (int i = 0; i < idle_pairs; ++i) pipes.push_back(factory->connect(false));
    std::size_t transport = 0;
    for (const auto& pipe : pipes) transport += pipe ? pipe->transport_bytes() : 0;
    per_pair = static_cast<double>(heap::live_bytes() - before - transport) / idle_pairs;
  }
  state.counters["bytes_per_idle_pair"] = per_pair;
}

// Records one at a time, each read before the next is written: with
// lastbyte's default the pair goes idle and busy again for every record.
void record_by_record(benchmark::State& state, const Implementation& impl, const Suite& suite) {
  constexpr int records = 100;
  auto factory = impl.make(suite);
  auto pipe = factory ? factory->connect(false) : nullptr;
  if (!pipe) return state.SkipWithError("handshake failed");
  auto data = payload(1024);
  std::vector<std::byte> sink(data.size());
  pipe->send(data, sink);
  double per_record = 0;
  for (auto _ : state) {
    std::size_t calls = heap::allocations();
    for (int i = 0; i < records; ++i)
      if (!pipe->send(data, sink)) return state.SkipWithError("transfer failed");
    per_record = static_cast<double>(heap::allocations() - calls) / records;
  }
  state.counters["allocations_per_record"] = per_record;
}

void transfer_peak(benchmark::State& state, const Implementation& impl, const Suite& suite) {
  auto factory = impl.make(suite);
  auto pipe = factory ? factory->connect(false) : nullptr;
  if (!pipe) return state.SkipWithError("handshake failed");
  auto data = payload(16 * 1024);
  std::vector<std::byte> sink(data.size());
  pipe->send(data, sink);  // warm: buffers a library allocates lazily
  std::size_t peak = 0, allocations = 0;
  for (auto _ : state) {
    std::size_t base = heap::live_bytes(), calls = heap::allocations();
    heap::reset_peak();
    if (!pipe->send(data, sink)) return state.SkipWithError("transfer failed");
    peak = heap::peak_bytes() - base;
    allocations = heap::allocations() - calls;
  }
  state.counters["peak_extra_bytes"] = static_cast<double>(peak);
  state.counters["allocations"] = static_cast<double>(allocations);
}

}  // namespace
}  // namespace lastbyte::bench

int main(int argc, char** argv) {
  using namespace lastbyte::bench;
  for (const Suite& suite : suites)
    for (const Implementation& impl : implementations()) {
      if (!impl.supports(suite.version)) continue;
      std::string tail = impl.backend + "/" + impl.kind + "/" + std::string(suite.label);
      benchmark::RegisterBenchmark(("memory_idle/" + tail + "/pair").c_str(), idle, impl, suite)->Iterations(1);
      benchmark::RegisterBenchmark(("memory_transfer/" + tail + "/16384").c_str(), transfer_peak, impl, suite)
          ->Iterations(1);
      benchmark::RegisterBenchmark(("memory_records/" + tail + "/1024").c_str(), record_by_record, impl, suite)
          ->Iterations(1);
    }
  // lastbyte keeping its queues and the library's buffers while idle
  // (Config::keep_buffers_when_idle): the default before issue 13.
  for (const Suite& suite : suites)
    for (const lastbyte::Backend* backend : lastbyte::conformance::installed_backends()) {
      if (!backend->supports(suite.version)) continue;
      Implementation kept{std::string(backend->name), "lastbyte_kept", backend->supports,
                          [backend](const Suite& s) { return make_lastbyte(*backend, s, 0, true); }};
      std::string tail = kept.backend + "/" + kept.kind + "/" + std::string(suite.label);
      benchmark::RegisterBenchmark(("memory_idle/" + tail + "/pair").c_str(), idle, kept, suite)->Iterations(1);
      benchmark::RegisterBenchmark(("memory_records/" + tail + "/1024").c_str(), record_by_record, kept, suite)
          ->Iterations(1);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
