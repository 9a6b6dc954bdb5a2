// lastbyte-soak: the seeded soak (docs/adversarial.md, "Soak"). For every
// (client backend, server backend) pair and TLS version both support,
// --pairs connection pairs in memory, pair i drawn from seed --seed + i
// (conformance/harness/src/soak.cpp says what a seed decides). Every failure
// prints its seed and a one-line reproducer; a cell a library cannot run is
// printed and counted as unsupported.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/soak.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

namespace {

using namespace lastbyte;
using namespace lastbyte::conformance;

const char usage[] =
    "usage: lastbyte-soak [--pairs N] [--seed S] [--client NAME] [--server NAME] [--version 1.2|1.3]\n"
    "                     [--jobs N] [--max-failures N]\n"
    "  --pairs N         connection pairs per backend pair and TLS version (default 10000)\n"
    "  --seed S          pair i uses seed S + i (default 1)\n"
    "  --client/--server a backend (default: every installed one)\n"
    "  --jobs N          cells run on N threads (default 1)\n"
    "  --max-failures N  stop a cell after N failures (default 10)\n";

struct Options {
  long pairs = 10000;
  std::uint64_t seed = 1;
  std::vector<const Backend*> clients, servers;
  std::vector<TlsVersion> versions{TlsVersion::tls1_3, TlsVersion::tls1_2};
  int jobs = 1;
  long max_failures = 10;
};

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return n;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return std::nullopt;
    std::string_view flag = argv[i], value = argv[i + 1];
    if (flag == "--client" || flag == "--server") {
      auto backend = find_backend(value, installed_backends());
      if (!backend) {
        std::cerr << backend.error().message() << "\n";
        return std::nullopt;
      }
      (flag == "--client" ? o.clients : o.servers).push_back(*backend);
      continue;
    }
    if (flag == "--version") {
      if (value != "1.2" && value != "1.3") return std::nullopt;
      o.versions = {value == "1.3" ? TlsVersion::tls1_3 : TlsVersion::tls1_2};
      continue;
    }
    auto n = number(value);
    if (!n) return std::nullopt;
    if (flag == "--pairs") o.pairs = static_cast<long>(*n);
    else if (flag == "--seed") o.seed = *n;
    else if (flag == "--jobs") o.jobs = std::max(1, static_cast<int>(*n));
    else if (flag == "--max-failures") o.max_failures = static_cast<long>(*n);
    else return std::nullopt;
  }
  auto all = installed_backends();
  if (o.clients.empty()) o.clients.assign(all.begin(), all.end());
  if (o.servers.empty()) o.servers.assign(all.begin(), all.end());
  return o;
}

struct CellJob {
  const Backend* client;
  const Backend* server;
  TlsVersion version;
};

std::string counts(const std::map<std::string, long>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k + "=" + std::to_string(v);
  return s.empty() ? "-" : s;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) {
    std::cerr << usage;
    return 2;
  }
  std::vector<CellJob> jobs;
  long unsupported_cells = 0;
  for (const Backend* c : options->clients)
    for (const Backend* s : options->servers)
      for (TlsVersion v : options->versions) {
        const Backend* lacking = !c->supports(v) ? c : !s->supports(v) ? s : nullptr;
        const PairLimit* limit = lacking ? nullptr : pair_limit(*c, *s, v);
        if (!lacking && !limit) {
          jobs.push_back({c, s, v});
          continue;
        }
        ++unsupported_cells;
        if (limit) {
          std::printf("%s->%s %s: %s\n", std::string(c->name).c_str(), std::string(s->name).c_str(),
                      std::string(to_string(v)).c_str(), describe(*limit).c_str());
          continue;
        }
        std::printf("%s->%s %s: unsupported by this library (%s)\n", std::string(c->name).c_str(),
                    std::string(s->name).c_str(), std::string(to_string(v)).c_str(), lacking->library_version().c_str());
      }

  auto started = std::chrono::steady_clock::now();
  std::mutex mutex;
  SoakStats total;
  std::size_t next = 0;
  long setup_failures = 0;
  auto worker = [&] {
    for (;;) {
      CellJob job;
      {
        std::lock_guard lock(mutex);
        if (next == jobs.size()) return;
        job = jobs[next++];
      }
      auto cell_started = std::chrono::steady_clock::now();
      auto cell = SoakCell::create(*job.client, *job.server, job.version);
      if (!cell) {
        std::lock_guard lock(mutex);
        ++setup_failures;
        std::printf("FAIL %s->%s %s: setup: %s\n", std::string(job.client->name).c_str(),
                    std::string(job.server->name).c_str(), std::string(to_string(job.version)).c_str(),
                    cell.error().message().c_str());
        continue;
      }
      SoakStats stats;
      for (long i = 0; i < options->pairs && stats.failures < options->max_failures; ++i) {
        auto seed = options->seed + static_cast<std::uint64_t>(i);
        if (auto failure = (*cell)->run(seed, stats)) {
          std::lock_guard lock(mutex);
          std::printf("%s\n", failure->c_str());
          std::fflush(stdout);
        }
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - cell_started).count();
      std::lock_guard lock(mutex);
      std::printf("%-28s %6ld pairs %4ld failed %8.1f s  %6.1f MB  victims: %s\n", (*cell)->name().c_str(), stats.pairs,
                  stats.failures, seconds, static_cast<double>(stats.bytes) / 1e6, counts(stats.verdicts).c_str());
      std::fflush(stdout);
      total.add(stats);
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < options->jobs; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::printf("\ncells: %zu run, %ld unsupported by this library or pair\n", jobs.size(), unsupported_cells);
  std::printf("pairs: %ld; connections: %ld; plaintext checked: %lld bytes; time: %.1f s\n", total.pairs,
              total.connections, total.bytes, seconds);
  std::printf("endings: %s\n", counts(total.endings).c_str());
  std::printf("victim verdicts: %s\n", counts(total.verdicts).c_str());
  std::printf("peer verdicts: %s\n", counts(total.peer_verdicts).c_str());
  for (const auto& [why, n] : total.unsupported) std::printf("unsupported: %ld x %s\n", n, why.c_str());
  for (const auto& [what, n] : total.questions) std::printf("contract question: %ld x %s\n", n, what.c_str());
  std::printf("soak: %ld passed, %ld failed\n", total.pairs - total.failures, total.failures + setup_failures);
  return total.failures + setup_failures == 0 ? 0 : 1;
}
