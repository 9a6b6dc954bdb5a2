// lastbyte vs each TLS library used directly, in one binary: in-memory
// throughput and its AEAD ceiling, keep-alive request/response exchanges,
// handshakes per second (full and resumed), the drain at EOF, and loopback
// TCP (bench_tcp.cpp). Ratios: bench/ratios.py.
//
//   lastbyte-bench --benchmark_filter=throughput --benchmark_repetitions=5
//                  --benchmark_out=results.json --benchmark_out_format=json
#include "pipes.hpp"
#include "tcp.hpp"

#include <lastbyte/conformance/harness.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>

namespace lastbyte::bench {
namespace {

constexpr std::size_t write_sizes[] = {1024, 16 * 1024, 64 * 1024};
constexpr std::size_t response_sizes[] = {1024, 16 * 1024};
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

// Keep-alive exchanges on one established pair, back to back: each one
// finds the pair idle, as a server finds a keep-alive connection when its
// next request arrives.
void request_response(benchmark::State& state, const Implementation& impl, const Suite& suite,
                      std::size_t response_size) {
  auto factory = impl.make(suite);
  auto pipe = factory ? factory->connect(false) : nullptr;
  if (!check_suite(state, pipe.get(), suite)) return;
  Exchange exchange(response_size);
  for (auto _ : state) {
    if (!exchange.run(*pipe)) return state.SkipWithError("exchange failed");
    benchmark::ClobberMemory();
  }
  if (!exchange.arrived_intact()) return state.SkipWithError("a side received different bytes");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

// TLS's largest record: bulk data is sealed in records of this much plaintext.
constexpr std::size_t max_record = 16 * 1024;

// `data` sealed and opened record by record into `sink`, each record with
// its own nonce (the sequence number XORed into the IV, as TLS 1.3 does) and
// an AAD the size of the version's (the 5-byte record header in TLS 1.3;
// sequence number and header, 13 bytes, in TLS 1.2). Not inlined, so that
// bench/instructions.sh can count it alone.
[[gnu::noinline]] bool seal_and_open(Aead& aead, TlsVersion version, std::span<const std::byte> data,
                                     std::span<std::byte> sink, std::span<std::byte> sealed, std::uint64_t& sequence) {
  std::array<std::byte, Aead::nonce_size> nonce{};
  std::array<std::byte, 13> aad{};
  std::span<const std::byte> record_aad(aad.data(), version == TlsVersion::tls1_3 ? 5 : 13);
  for (std::size_t at = 0; at < data.size(); at += max_record, ++sequence) {
    std::size_t n = std::min(max_record, data.size() - at);
    for (std::size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<std::byte>(sequence >> (56 - 8 * i));
    auto record = sealed.first(n + Aead::tag_size);
    if (!aead.seal(nonce, record_aad, data.subspan(at, n), record) || !aead.open(nonce, record_aad, record, sink.subspan(at, n)))
      return false;
  }
  return true;
}

// The ceiling of the throughput group: the same bytes sealed and opened with
// the library's own AEAD, nothing else. No TLS layer over that library can
// move them faster; bench/ratios.py reports each pipe's share of it.
void aead_ceiling(benchmark::State& state, const AeadImplementation& impl, const Suite& suite, std::size_t size) {
  std::vector<std::byte> key(aead_key_size(suite), std::byte{0x5c});
  auto aead = impl.make(suite, key);
  if (!aead) return state.SkipWithError("the library would not key its AEAD");
  auto data = payload(size);
  std::vector<std::byte> sink(size), sealed(std::min(size, max_record) + Aead::tag_size);
  std::uint64_t sequence = 0;
  for (auto _ : state) {
    if (!seal_and_open(*aead, suite.version, data, sink, sealed, sequence)) return state.SkipWithError("seal or open failed");
    benchmark::ClobberMemory();
  }
  if (sink != data) return state.SkipWithError("opened different bytes");
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

// Issue 13's feed cost: the inbound queue holds `queued` bytes of complete
// records nobody read yet (an event loop that feeds before it reads), and
// each iteration feeds one more 64-byte record and reads one: the time per
// fed byte must not grow with what the queue holds (it once moved the whole
// queue for every record fed). The queue is 4 MiB, so that the run's 20,000
// records (1.7 MB) fit behind 2 MiB queued without the back-pressure a full
// queue applies (then nothing is taken until records are read): it ends
// 93 % full. Records are sealed before the timing.
constexpr std::size_t feed_records = 20000;
constexpr std::size_t feed_capacity = 4 << 20;
constexpr std::size_t feed_queued[] = {0, 64 * 1024, 512 * 1024, 1 << 20, 2 << 20};

void feed_while_queued(benchmark::State& state, const Backend& backend, const Suite& suite, std::size_t queued) {
  Config client = client_config(suite), server = server_config(suite);
  server.session_tickets = false;
  client.inbound_capacity = feed_capacity;
  auto client_context = Context::create(client, backend);
  auto server_context = Context::create(server, backend);
  if (!client_context || !server_context) return state.SkipWithError("context");
  auto c = Connection::create(*client_context);
  auto s = Connection::create(*server_context);
  if (!c || !s || !handshake_in_memory(*c, *s)) return state.SkipWithError("handshake failed");
  auto record = payload(64);
  // The prefill (records that stay queued), then one record per iteration.
  std::size_t prefill_records = 0;
  std::vector<std::span<const std::byte>> records;
  std::vector<std::byte> wire;
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < feed_records + queued / 64 + 1; ++i) {
    if (s->write(record).bytes != record.size()) return state.SkipWithError("server write");
    starts.push_back(wire.size());
    wire.insert(wire.end(), s->output().begin(), s->output().end());
    s->consume_output(s->output().size());
  }
  starts.push_back(wire.size());
  for (std::size_t i = 0; i + 1 < starts.size(); ++i)
    records.emplace_back(std::span(wire).subspan(starts[i], starts[i + 1] - starts[i]));
  std::size_t prefilled = 0;
  while (prefilled + records[prefill_records].size() <= queued) {
    if (c->feed(records[prefill_records]).bytes != records[prefill_records].size())
      return state.SkipWithError("prefill does not fit");
    prefilled += records[prefill_records++].size();
  }
  std::byte buffer[64];
  std::size_t next = prefill_records, fed = 0;
  for (auto _ : state) {
    if (next == records.size()) return state.SkipWithError("out of sealed records: pin fewer iterations");
    auto r = c->feed(records[next]);
    if (r.bytes != records[next].size()) return state.SkipWithError("feed took less than a record");
    fed += r.bytes;
    ++next;
    if (c->read(buffer).bytes != sizeof buffer) return state.SkipWithError("read");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(fed));
  state.counters["queued_bytes"] = static_cast<double>(prefilled);
}

// LASTBYTE_BENCH_ITERATIONS=N pins the iteration count of the throughput,
// request/response, AEAD, handshake and drain benchmarks, so that bench/instructions.sh can take callgrind's counts for
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
  // lastbyte keeping its queues and the library's buffers while idle
  // (Config::keep_buffers_when_idle): what the default's release at every
  // quiet moment costs, since each write here is read before the next.
  for (const Suite& suite : suites)
    for (const Backend* backend : conformance::installed_backends()) {
      if (!backend->supports(suite.version)) continue;
      Implementation kept = lastbyte_kept(*backend);
      for (std::size_t size : write_sizes)
        pin_iterations(benchmark::RegisterBenchmark(name("throughput", kept, suite, std::to_string(size)).c_str(),
                                                    throughput, kept, suite, size));
      for (std::size_t size : response_sizes)
        pin_iterations(benchmark::RegisterBenchmark(name("request_response", kept, suite, std::to_string(size)).c_str(),
                                                    request_response, kept, suite, size));
    }
  // Every kind of implementations(): lastbyte, the library directly, and
  // OpenSSL directly with SSL_MODE_RELEASE_BUFFERS.
  for (const Suite& suite : suites)
    for (const Implementation& impl : implementations()) {
      if (!impl.supports(suite.version)) continue;
      for (std::size_t size : response_sizes)
        pin_iterations(benchmark::RegisterBenchmark(name("request_response", impl, suite, std::to_string(size)).c_str(),
                                                    request_response, impl, suite, size));
    }
  for (const Suite& suite : suites)
    for (const AeadImplementation& impl : aead_implementations()) {
      if (!impl.supports(suite.version)) continue;
      for (std::size_t size : write_sizes)
        pin_iterations(benchmark::RegisterBenchmark(
            ("aead/" + impl.backend + "/cipher/" + std::string(suite.label) + "/" + std::to_string(size)).c_str(),
            aead_ceiling, impl, suite, size));
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
  for (const Suite& suite : suites)
    for (const Backend* backend : conformance::installed_backends()) {
      if (!backend->supports(suite.version)) continue;
      for (std::size_t queued : feed_queued)
        benchmark::RegisterBenchmark(("feed/" + std::string(backend->name) + "/lastbyte/" + std::string(suite.label) +
                                      "/queued:" + std::to_string(queued)).c_str(),
                                     feed_while_queued, *backend, suite, queued)
            ->Iterations(feed_records);
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
