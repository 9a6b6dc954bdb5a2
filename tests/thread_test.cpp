// lastbyte-thread-test: one client and one server Context per TLS version,
// shared by every connection of several threads (connection.hpp, "Threads:").
// Each connection handshakes in memory (resuming, half the time, a session
// another thread surfaced), exchanges data both ways, and closes; a keylog
// callback, an on_new_session callback and SSLKEYLOGFILE are set. Built with
// -fsanitize=thread in the tsan preset (ctest threads_<backend>), where any
// TSan report ends the process; every byte, verdict and callback count is
// checked in any build.
//
//   lastbyte-thread-test --backend openssl [--threads 4] [--connections 500] [--seed N]
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/harness.hpp>

#include <unistd.h>

#include "temporary_directory.hpp"

#include <atomic>
#include <charconv>
#include <deque>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace {

using namespace lastbyte;
using namespace lastbyte::conformance;

// Sessions surfaced by on_new_session on any thread, handed to connections
// on any other thread: the cross-thread resumption the brief asks for.
class SessionStore {
 public:
  void add(std::span<const std::byte> blob) {
    std::lock_guard lock(mutex_);
    if (blobs_.size() == capacity) blobs_.erase(blobs_.begin());
    blobs_.emplace_back(blob.begin(), blob.end());
  }
  std::optional<SessionBlob> pick(std::mt19937_64& rng) const {
    std::lock_guard lock(mutex_);
    if (blobs_.empty()) return std::nullopt;
    return blobs_[std::uniform_int_distribution<std::size_t>(0, blobs_.size() - 1)(rng)];
  }

 private:
  static constexpr std::size_t capacity = 64;
  mutable std::mutex mutex_;
  std::vector<SessionBlob> blobs_;
};

struct Counters {
  std::atomic<long> keylog_lines{0};
  std::atomic<long> malformed_keylog_lines{0};
  std::atomic<long> new_sessions{0};
  std::atomic<long> resumptions_tried{0};
  std::atomic<long> resumed{0};
  std::atomic<long> connections{0};
  std::atomic<long> bytes{0};
  std::atomic<long> failures{0};
};

bool well_formed_keylog_line(std::string_view line) {
  static const std::regex nss("[A-Z0-9_]+ [0-9a-f]{64} [0-9a-f]{32,128}");
  return std::regex_match(line.begin(), line.end(), nss);
}

struct VersionContexts {
  TlsVersion version;
  std::optional<Context> client = {}, server = {};
  std::shared_ptr<SessionStore> sessions = std::make_shared<SessionStore>();
};

Expected<VersionContexts> make_contexts(const Backend& backend, TlsVersion version, Counters& counters) {
  VersionContexts out{.version = version};
  Config client = client_config(version), server = server_config(version);
  for (Config* c : {&client, &server}) {
    c->honour_sslkeylogfile = true;  // the core's SSLKEYLOGFILE file, written from every thread
    // Called concurrently from every thread (config.hpp): only atomics here.
    if (backend.exports_secrets(version))
      c->keylog = [&counters](std::string_view line) {
        ++counters.keylog_lines;
        if (!well_formed_keylog_line(line)) ++counters.malformed_keylog_lines;
      };
  }
  client.on_new_session = [&counters, store = out.sessions](std::span<const std::byte> blob) {
    ++counters.new_sessions;
    store->add(blob);
  };
  auto c = Context::create(std::move(client), backend);
  if (!c) return c.error();
  auto s = Context::create(std::move(server), backend);
  if (!s) return s.error();
  out.client.emplace(std::move(*c));
  out.server.emplace(std::move(*s));
  return out;
}

// Moves everything both sides have to send until neither has output.
void pump(MemoryPair& pair) {
  for (int round = 0; round < 64; ++round) {
    bool moved = !pair.transfer(Role::client).empty();
    moved = !pair.transfer(Role::server).empty() || moved;
    if (!moved) return;
  }
}

// Reads what `role` can produce now; true once it reached its end.
bool drain(MemoryPair& pair, Role role, Bytes& into) {
  std::byte buf[16384];
  for (;;) {
    IoResult r = pair.side(role).read(buf);
    if (r.status == IoStatus::ok) {
      into.insert(into.end(), buf, buf + r.bytes);
      continue;
    }
    return r.status == IoStatus::end;
  }
}

// Writes all of `data` from `role`, moving output as the queue fills.
std::optional<std::string> send_all(MemoryPair& pair, Role role, std::span<const std::byte> data, Bytes& peer_got) {
  Role other = role == Role::client ? Role::server : Role::client;
  while (!data.empty()) {
    IoResult r = pair.side(role).write(data);
    if (r.status == IoStatus::ok) {
      data = data.subspan(r.bytes);
    } else if (r.status != IoStatus::blocked) {
      return "write refused: " + r.error.message();
    }
    pair.transfer(role);
    drain(pair, other, peer_got);
  }
  return std::nullopt;
}

// A connection pair between its two halves, possibly handed to another thread.
struct InFlight {
  explicit InFlight(MemoryPair p) : pair(std::move(p)) {}
  MemoryPair pair;
  TlsVersion version;
  Bytes up, down, server_got, client_got;
};

// The first half of a connection's life: handshake (resuming half the time)
// and the client's data. A description of what went wrong, or the pair.
std::variant<std::string, std::unique_ptr<InFlight>> start_connection(VersionContexts& contexts, std::mt19937_64& rng,
                                                                     Counters& counters) {
  ConnectionOptions options;
  bool resume = rng() % 2 == 0;
  if (resume) {
    if (auto blob = contexts.sessions->pick(rng)) options.resume_session = std::move(*blob);
    else resume = false;
  }
  auto created = MemoryPair::create(*contexts.client, *contexts.server, std::move(options));
  if (!created) return "setup: " + created.error().message();
  auto flight = std::make_unique<InFlight>(std::move(*created));
  flight->version = contexts.version;
  MemoryPair* pair = &flight->pair;
  if (auto error = pair->handshake()) return "handshake: " + *error;
  if (resume) {
    ++counters.resumptions_tried;
    if (pair->client().info()->resumed) ++counters.resumed;
  }
  std::uniform_int_distribution<std::size_t> size(1, 40000);
  flight->up = pattern(rng() % 1000, size(rng));
  flight->down = pattern(rng() % 1000, size(rng));
  if (auto e = send_all(*pair, Role::client, flight->up, flight->server_got)) return "client " + *e;
  return flight;
}

// The second half, on whichever thread got the pair: the server's data, both
// closes, and every byte and verdict checked.
std::optional<std::string> finish_connection(InFlight& flight, Counters& counters) {
  MemoryPair* pair = &flight.pair;
  const Bytes &up = flight.up, &down = flight.down;
  Bytes &server_got = flight.server_got, &client_got = flight.client_got;
  if (auto e = send_all(*pair, Role::server, down, client_got)) return "server " + *e;
  if (auto e = pair->client().close()) return "client close: " + e.message();
  pump(*pair);
  bool server_ended = drain(*pair, Role::server, server_got);
  if (auto e = pair->server().close()) return "server close: " + e.message();
  pump(*pair);
  bool client_ended = drain(*pair, Role::client, client_got);
  if (server_got != up) return "server received " + std::to_string(server_got.size()) + " bytes, expected " +
                               std::to_string(up.size()) + " (or different ones)";
  if (client_got != down) return "client received " + std::to_string(client_got.size()) + " bytes, expected " +
                               std::to_string(down.size()) + " (or different ones)";
  for (auto [role, ended] : {std::pair{Role::client, client_ended}, std::pair{Role::server, server_ended}}) {
    const auto& v = pair->side(role).verdict();
    if (!ended || !v || !same_verdict(CloseNotify{}, *v))
      return std::string(role == Role::client ? "client" : "server") +
             " verdict: " + (v ? describe(*v) : "none") + ", expected close_notify";
  }
  counters.bytes += static_cast<long>(up.size() + down.size());
  return std::nullopt;
}

struct Options {
  std::string backend;
  int threads = 4;
  int connections = 500;
  std::uint64_t seed = 20261125;
};

int usage() {
  std::cerr << "usage: lastbyte-thread-test --backend NAME [--threads N] [--connections N] [--seed N]\n";
  return 2;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i], value = argv[i + 1];
    std::uint64_t n = 0;
    if (flag == "--backend") {
      o.backend = value;
      continue;
    }
    if (std::from_chars(value.data(), value.data() + value.size(), n).ec != std::errc{}) return std::nullopt;
    if (flag == "--threads") o.threads = static_cast<int>(n);
    else if (flag == "--connections") o.connections = static_cast<int>(n);
    else if (flag == "--seed") o.seed = n;
    else return std::nullopt;
  }
  if (argc % 2 == 0 || o.backend.empty() || o.threads < 1) return std::nullopt;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) return usage();
  auto backend = find_backend(options->backend, installed_backends());
  if (!backend) {
    std::cerr << backend.error().message() << "\n";
    return 2;
  }
  // The core's SSLKEYLOGFILE file: every Context opens it, every thread appends.
  std::string keylog_template = lastbyte_test::temporary_template("lastbyte-thread-keylog");
  char* keylog_path = keylog_template.data();
  int fd = ::mkstemp(keylog_path);
  if (fd < 0) {
    std::perror(keylog_path);
    return 1;
  }
  ::close(fd);
  ::setenv("SSLKEYLOGFILE", keylog_path, 1);

  Counters counters;
  std::vector<VersionContexts> contexts;
  for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    if (!(*backend)->supports(v)) {
      std::cout << "threads_" << options->backend << ": " << to_string(v) << " unsupported by this library ("
                << (*backend)->library_version() << ")\n";
      continue;
    }
    auto c = make_contexts(**backend, v, counters);
    if (!c) {
      std::cerr << "contexts: " << c.error().message() << "\n";
      return 1;
    }
    contexts.push_back(std::move(*c));
  }

  auto started = std::chrono::steady_clock::now();
  std::mutex report_mutex;
  std::vector<std::thread> threads;
  // Half the pairs change threads between their two halves (connection.hpp:
  // a Connection may move when the hand-over synchronises; here a mutex).
  std::mutex handoff_mutex;
  std::deque<std::unique_ptr<InFlight>> handoff;
  auto report = [&](const std::string& where, TlsVersion version, const std::string& problem) {
    ++counters.failures;
    std::lock_guard lock(report_mutex);
    std::cerr << "FAIL " << where << " (" << to_string(version) << "): " << problem
              << "\n  reproduce: lastbyte-thread-test --backend " << options->backend << " --threads "
              << options->threads << " --connections " << options->connections << " --seed " << options->seed << "\n";
  };
  auto finish = [&](std::unique_ptr<InFlight> flight, const std::string& where) {
    if (auto problem = finish_connection(*flight, counters)) report(where, flight->version, *problem);
    ++counters.connections;
  };
  for (int t = 0; t < options->threads; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(options->seed + static_cast<std::uint64_t>(t));
      for (int i = 0; i < options->connections; ++i) {
        VersionContexts& vc = contexts[static_cast<std::size_t>(i) % contexts.size()];
        std::string where = "thread " + std::to_string(t) + " connection " + std::to_string(i);
        auto started_one = start_connection(vc, rng, counters);
        if (auto* problem = std::get_if<std::string>(&started_one)) {
          report(where, vc.version, *problem);
          ++counters.connections;
          continue;
        }
        auto flight = std::move(std::get<std::unique_ptr<InFlight>>(started_one));
        if (rng() % 2 == 0) {
          finish(std::move(flight), where);
          continue;
        }
        std::unique_ptr<InFlight> other;
        {
          std::lock_guard lock(handoff_mutex);
          handoff.push_back(std::move(flight));
          other = std::move(handoff.front());
          handoff.pop_front();
        }
        finish(std::move(other), where + " (a pair started on another thread, or its own)");
      }
    });
  for (auto& thread : threads) thread.join();
  for (auto& flight : handoff) finish(std::move(flight), "main thread (handed over)");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  contexts.clear();  // closes the SSLKEYLOGFILE streams

  // Every line the callbacks saw is in the file, whole: no line torn or
  // interleaved by concurrent appends.
  long file_lines = 0, torn = 0;
  std::ifstream file(keylog_path);
  for (std::string line; std::getline(file, line);) {
    ++file_lines;
    if (!well_formed_keylog_line(line)) ++torn;
  }
  std::remove(keylog_path);

  long failures = counters.failures;
  auto check = [&](bool ok, const std::string& what) {
    if (ok) return;
    ++failures;
    std::cerr << "FAIL " << what << "\n";
  };
  long expected_connections = static_cast<long>(options->threads) * options->connections;
  check(counters.connections == expected_connections, "connections run: " + std::to_string(counters.connections));
  check(counters.malformed_keylog_lines == 0,
        "keylog callback got " + std::to_string(counters.malformed_keylog_lines) + " malformed lines");
  check(file_lines == counters.keylog_lines,
        "SSLKEYLOGFILE has " + std::to_string(file_lines) + " lines, the callbacks saw " +
            std::to_string(counters.keylog_lines));
  check(torn == 0, "SSLKEYLOGFILE has " + std::to_string(torn) + " torn lines");
  check(counters.new_sessions > 0, "no session surfaced through on_new_session");
  check(counters.resumed == counters.resumptions_tried,
        "resumed " + std::to_string(counters.resumed) + " of " + std::to_string(counters.resumptions_tried) +
            " connections offered a session");
  bool any_keylog = false;
  for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2})
    any_keylog = any_keylog || ((*backend)->supports(v) && (*backend)->exports_secrets(v));
  check(!any_keylog || counters.keylog_lines > 0, "no keylog line although the backend exports secrets");

  std::printf("threads_%s: %d threads x %d connections in %.1f s; %ld bytes; %ld key log lines (file: %ld); "
              "%ld sessions surfaced; %ld of %ld resumptions resumed\n",
              options->backend.c_str(), options->threads, options->connections, seconds, counters.bytes.load(),
              counters.keylog_lines.load(), file_lines, counters.new_sessions.load(), counters.resumed.load(),
              counters.resumptions_tried.load());
  return failures == 0 ? 0 : 1;
}
