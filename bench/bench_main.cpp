// lastbyte vs each TLS library used directly, in one binary: in-memory
// throughput, handshakes per second (full and resumed), the drain at EOF, and
// loopback TCP (bench_tcp.cpp). Ratios: bench/ratios.py.
//
//   lastbyte-bench --benchmark_filter=throughput --benchmark_repetitions=5
//                  --benchmark_out=results.json --benchmark_out_format=json
#include "pipes.hpp"
#include "tcp.hpp"

#include <lastbyte/conformance/harness.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>

namespace lastbyte::bench {
namespace {

constexpr std::size_t write_sizes[] = {1024, 16 * 1024, 64 * 1024};
constexpr std::size_t drain_sizes[] = {256 * 1024, 1024 * 1024, 4 * 1024 * 1024};

std::string name(std::string_view group, const Implementation& impl, const Suite& suite, const std::string& tail) {
  return std::string(group) + "/" + impl.backend + "/" + impl.kind + "/" + std::string(suite.label) + "/" + tail;
}

// The pipe really runs the suite it claims to (a benchmark of the wrong
// cipher would compare nothing).
bool check_suite(benchmark::State& state, const Pipe* pipe, const Suite& suite) {
  if (!pipe) return state.SkipWithError("handshake failed"), false;
  if (pipe->negotiated_cipher() != suite.iana)
    return state.SkipWithError(("negotiated " + pipe->negotiated_cipher()).c_str()), false;
  return true;
}

void throughput(benchmark::State& state, const Implementation& impl, const Suite& suite, std::size_t size) {
  auto factory = impl.make(suite);
  auto pipe = factory ? factory->connect(false) : nullptr;
  if (!check_suite(state, pipe.get(), suite)) return;
  auto data = payload(size);
  std::vector<std::byte> sink(size);
  for (auto _ : state) {
    if (!pipe->send(data, sink)) return state.SkipWithError("transfer failed");
    benchmark::ClobberMemory();
  }
  if (sink != data) return state.SkipWithError("the server received different bytes");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

void handshakes(benchmark::State& state, const Implementation& impl, const Suite& suite, bool resume) {
  auto factory = impl.make(suite);
  auto first = factory ? factory->connect(resume) : nullptr;  // with resume: saves the session to offer
  if (!check_suite(state, first.get(), suite)) return;
  for (auto _ : state) {
    auto pipe = factory->connect(resume);
    if (!pipe) return state.SkipWithError("handshake failed");
    if (pipe->resumed() != resume) return state.SkipWithError(resume ? "not resumed" : "unexpectedly resumed");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// The timed part of drain (a function of its own so that callgrind can count
// it alone): all of `wire`, then EOF, then read() until the end.
[[gnu::noinline]] std::size_t read_to_verdict(Connection& c, std::span<const std::byte> wire,
                                              std::span<std::byte> buffer) {
  if (c.feed(wire).bytes != wire.size() || c.feed_eof()) return 0;  // does not fit the inbound queue
  std::size_t got = 0;
  for (IoResult r; (r = c.read(buffer)).status == IoStatus::ok;) got += r.bytes;
  return got;
}

// `size` bytes of records and close_notify are already in the inbound queue
// when EOF arrives: the time to read all of it and reach the verdict.
void drain(benchmark::State& state, const Backend& backend, const Suite& suite, std::size_t size) {
  Config client = client_config(suite), server = server_config(suite);
  client.inbound_capacity = size + size / 8 + 64 * 1024;  // all records fit: "buffered when EOF arrives"
  server.outbound_capacity = client.inbound_capacity;
  auto client_context = Context::create(client, backend);
  auto server_context = Context::create(server, backend);
  if (!client_context || !server_context) return state.SkipWithError("context");
  auto data = payload(size);
  std::vector<std::byte> buffer(16 * 1024);
  for (auto _ : state) {
    state.PauseTiming();
    auto c = Connection::create(*client_context);
    auto s = Connection::create(*server_context);
    if (!c || !s || !handshake_in_memory(*c, *s)) return state.SkipWithError("handshake failed");
    for (std::span<const std::byte> rest(data); !rest.empty();) {
      auto w = s->write(rest);
      if (w.status != IoStatus::ok) return state.SkipWithError("server write");
      rest = rest.subspan(w.bytes);
    }
    s->close();
    state.ResumeTiming();
    if (read_to_verdict(*c, s->output(), buffer) != size || !c->verdict() ||
        !std::holds_alternative<CloseNotify>(*c->verdict()))
      return state.SkipWithError("incomplete drain");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
}

// LASTBYTE_BENCH_ITERATIONS=N pins the iteration count of the throughput
// handshake and drain benchmarks, so that bench/instructions.sh can take callgrind's counts for
// N and N+10 iterations and report the steady-state cost of one.
void pin_iterations(benchmark::internal::Benchmark* b) {
  if (const char* n = std::getenv("LASTBYTE_BENCH_ITERATIONS")) b->Iterations(std::atoll(n));
}

void register_all() {
  for (const Suite& suite : suites)
    for (const Implementation& impl : implementations()) {
      if (!impl.supports(suite.version)) continue;
      for (std::size_t size : write_sizes)
        pin_iterations(benchmark::RegisterBenchmark(name("throughput", impl, suite, std::to_string(size)).c_str(),
                                                    throughput, impl, suite, size));
      for (bool resume : {false, true})
        pin_iterations(benchmark::RegisterBenchmark(name("handshake", impl, suite, resume ? "resumed" : "full").c_str(),
                                                    handshakes, impl, suite, resume));
    }
  for (const Suite& suite : suites)
    for (const Backend* backend : conformance::installed_backends()) {
      if (!backend->supports(suite.version)) continue;
      for (std::size_t size : drain_sizes)
        pin_iterations(benchmark::RegisterBenchmark(("drain/" + std::string(backend->name) + "/lastbyte/" +
                                                     std::string(suite.label) + "/" + std::to_string(size)).c_str(),
                                                    drain, *backend, suite, size)
                           ->Unit(benchmark::kMicrosecond));
    }
  register_tcp_benchmarks();
}

}  // namespace
}  // namespace lastbyte::bench

int main(int argc, char** argv) {
  lastbyte::bench::register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("lastbyte.backends", [] {
    std::string all;
    for (const auto* b : lastbyte::conformance::installed_backends())
      all += (all.empty() ? "" : "; ") + std::string(b->name) + " " + b->library_version();
    return all;
  }());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
