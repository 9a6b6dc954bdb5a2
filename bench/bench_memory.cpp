// Heap bytes per established idle connection pair (client + server), the
// peak during a 16 KiB transfer and during keep-alive request/response
// exchanges, lastbyte vs each library used directly.
// Reported as Google Benchmark counters; time is not the point here.
#include "alloc_counter.hpp"
#include "pipes.hpp"

#include <lastbyte/conformance/harness.hpp>

#include <benchmark/benchmark.h>

namespace lastbyte::bench {
namespace {

constexpr int idle_pairs = 16;

// Caches filled on first use are not per connection (wolfSSL's per-thread
// FP_ECC table keeps up to 15 points; the OpenSSL and wolfSSL adapters keep
// the Context's last 32 sessions, policy::SessionCache; lastbyte's
// per-thread block cache holds at most 4 queue blocks): filled before
// anything is counted. false if a handshake failed.
bool warm_up(PipeFactory* factory) {
  for (int i = 0; i < 48; ++i)
    if (!factory || !factory->connect(false)) return false;
  return true;
}

void idle(benchmark::State& state, const Implementation& impl, const Suite& suite) {
  auto factory = impl.make(suite);
  if (!warm_up(factory.get())) return state.SkipWithError("handshake failed");
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

// lastbyte's per-thread block cache (at most 4 queue blocks, filled by the
// warm-up and by earlier benchmarks) would lend a new pair its queues with
// no malloc, hiding them from the heap count. A pair that keeps its buffers
// (Config::keep_buffers_when_idle) takes all four and holds them while it
// lives; queue blocks are the same whatever the backend.
std::unique_ptr<Pipe> empty_block_cache(const Suite& suite) {
  for (const Backend* backend : conformance::installed_backends())
    if (backend->supports(suite.version))
      if (auto factory = lastbyte_kept(*backend).make(suite)) return factory->connect(false);
  return nullptr;
}

// Keep-alive exchanges (bench_main's request_response) on a new pair: the
// pair's heap at its highest during the exchanges (all the process
// allocated since just before the pair was made, the in-memory network left
// out, the block cache emptied first: the blocks the pair parks there
// between exchanges count) and the allocations per exchange. The
// first exchange is not counted: buffers a library allocates on first use.
void exchange_peak(benchmark::State& state, const Implementation& impl, const Suite& suite,
                   std::size_t response_size) {
  constexpr int exchanges = 20;
  auto factory = impl.make(suite);
  if (!warm_up(factory.get())) return state.SkipWithError("handshake failed");
  Exchange exchange(response_size);
  double peak = 0, allocations = 0;
  for (auto _ : state) {
    // Open while the pair is measured, as on a server with other
    // connections: the session a factory saved from it stays referenced by
    // it (as in `idle`), rather than freed inside the count when the new
    // pair's session replaces it.
    auto previous = factory->connect(false);
    auto cache_holder = empty_block_cache(suite);
    if (!previous || !cache_holder) return state.SkipWithError("handshake failed");
    std::size_t before = heap::live_bytes();
    auto pipe = factory->connect(false);
    if (!pipe || !exchange.run(*pipe)) return state.SkipWithError("exchange failed");
    std::size_t calls = heap::allocations();
    heap::reset_peak();
    for (int i = 0; i < exchanges; ++i)
      if (!exchange.run(*pipe)) return state.SkipWithError("exchange failed");
    peak = static_cast<double>(heap::peak_bytes() - before - pipe->transport_bytes());
    allocations = static_cast<double>(heap::allocations() - calls) / exchanges;
  }
  if (!exchange.arrived_intact()) return state.SkipWithError("a side received different bytes");
  state.counters["pair_peak_bytes"] = peak;
  state.counters["allocations_per_exchange"] = allocations;
}

}  // namespace
}  // namespace lastbyte::bench

int main(int argc, char** argv) {
  using namespace lastbyte::bench;
  constexpr std::size_t response_sizes[] = {1024, 16 * 1024};
  auto register_exchanges = [&](const Implementation& impl, const Suite& suite, const std::string& tail) {
    for (std::size_t size : response_sizes)
      benchmark::RegisterBenchmark(("memory_exchange/" + tail + "/" + std::to_string(size)).c_str(), exchange_peak,
                                   impl, suite, size)
          ->Iterations(1);
  };
  for (const Suite& suite : suites)
    for (const Implementation& impl : implementations()) {
      if (!impl.supports(suite.version)) continue;
      std::string tail = impl.backend + "/" + impl.kind + "/" + std::string(suite.label);
      benchmark::RegisterBenchmark(("memory_idle/" + tail + "/pair").c_str(), idle, impl, suite)->Iterations(1);
      benchmark::RegisterBenchmark(("memory_transfer/" + tail + "/16384").c_str(), transfer_peak, impl, suite)
          ->Iterations(1);
      benchmark::RegisterBenchmark(("memory_records/" + tail + "/1024").c_str(), record_by_record, impl, suite)
          ->Iterations(1);
      register_exchanges(impl, suite, tail);
    }
  // lastbyte keeping its queues and the library's buffers while idle
  // (Config::keep_buffers_when_idle): the default before issue 13.
  for (const Suite& suite : suites)
    for (const lastbyte::Backend* backend : lastbyte::conformance::installed_backends()) {
      if (!backend->supports(suite.version)) continue;
      Implementation kept = lastbyte_kept(*backend);
      std::string tail = kept.backend + "/" + kept.kind + "/" + std::string(suite.label);
      benchmark::RegisterBenchmark(("memory_idle/" + tail + "/pair").c_str(), idle, kept, suite)->Iterations(1);
      benchmark::RegisterBenchmark(("memory_records/" + tail + "/1024").c_str(), record_by_record, kept, suite)
          ->Iterations(1);
      register_exchanges(kept, suite, tail);
    }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
