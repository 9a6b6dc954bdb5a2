// The allocation-failure loop (docs/adversarial.md, "Allocation failure"):
// one allocation made inside a call into lastbyte fails per run, during two
// connections between a client and a server of one backend (a full
// handshake with client certificates, ALPN, key log and tickets, 20 KB each
// way, close; then a resumed one). By default the first allocation of every
// allocation site (its call stack) fails once; with --every, the Nth for
// N = 1, 2, 3, ... until a run makes fewer than N allocations. Every run
// must end cleanly: the side whose allocation failed with LocalError (or a
// failed create), never a crash, hang, leak, certificate or handshake
// verdict, or wrong bytes.
//
//   lastbyte-alloc-failure --backend NAME --version 1.2|1.3 [--every [--stride K]]
//                          [--from I] [--to I] [--trace] [--verbose] [--leak-check-each]
//
// Allocations are failed through every allocator the code under test uses:
// the global operator new (the core and the adapters' C++ code, the test's
// own callbacks), CRYPTO_set_mem_functions (OpenSSL), wolfSSL_SetAllocators,
// and, since Debian's Mbed TLS calls calloc directly (no
// MBEDTLS_PLATFORM_MEMORY), an interposed calloc.
#include <lastbyte/conformance/harness.hpp>
#include <lastbyte/testing/pki.hpp>

#include "temporary_directory.hpp"

#include <openssl/crypto.h>
#if LASTBYTE_ALLOC_TEST_WOLFSSL
// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/memory.h>
// clang-format on
#endif

#include <dlfcn.h>
#include <sys/stat.h>
#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <string>
#include <vector>

// Weak: present only when the binary runs under the sanitizers.
extern "C" int __lsan_do_recoverable_leak_check() __attribute__((weak));
extern "C" void __sanitizer_print_stack_trace() __attribute__((weak));
extern "C" void __sanitizer_set_report_path(const char* path) __attribute__((weak));

namespace {

using namespace lastbyte;
using conformance::Bytes;

// ---- the injector -----------------------------------------------------------

enum class Source : std::size_t { cxx_new, openssl, wolfssl, calloc, count };
constexpr const char* source_names[] = {"operator new", "OpenSSL", "wolfSSL", "calloc (Mbed TLS)"};

// Armed only inside calls into lastbyte, and only on this thread: the
// harness's own copies between calls are never failed.
thread_local bool armed = false;
thread_local Role armed_side = Role::client;
thread_local int armed_depth = 0;  // frames from call() to the root of the stack

struct Failure {
  Role side;
  Source source;
  std::uint64_t index;
};

// An allocation site: a hash of the call stack above the allocator.
using Site = std::uint64_t;
constexpr int site_depth = 16;

// Fail the first allocation at or after index `from` made at `site`.
struct Target {
  Site site;
  std::uint64_t from;
};

struct Injector {
  std::uint64_t fail_at = 0;     // --every: fail the allocation with this index (1-based); 0: none
  std::optional<Target> target;  // the default: one run per site
  std::vector<Site>* record = nullptr;  // planning: the site of every allocation, in order
  bool trace = false;            // print the stack of the allocation that fails
  std::uint64_t count = 0;       // allocations made while armed in this run
  std::array<std::uint64_t, static_cast<std::size_t>(Source::count)> by_source{};
  std::array<std::uint64_t, 2> by_side{};
  std::optional<Failure> failed;
  std::array<void*, 40> failed_stack{};  // where the failed allocation was made
  int failed_depth = 0;
};
Injector injector;
// The allocators are re-entered by backtrace() (through calloc); those
// allocations are neither counted nor failed, so that a run that looks at
// stacks counts the same allocations as one that does not.
thread_local bool in_hook = false;

constexpr int max_frames = 256;

// The return addresses from the allocator's caller up to call(), at most
// site_depth of them: what lies above call() (which part of the test asked
// for the run) is no part of the site.
// Not inlined, and called from one place: the frames it skips are the
// same for every allocation.
[[gnu::noinline]] Site site_here() {
  void* frames[max_frames];
  int n = backtrace(frames, max_frames);
  int top = std::min(n - armed_depth, 3 + site_depth - 1);  // frames[n - armed_depth] is call()'s
  Site h = 1469598103934665603ull;  // FNV-1a
  for (int i = 3; i <= top; ++i) h = (h ^ reinterpret_cast<std::uintptr_t>(frames[i])) * 1099511628211ull;
  return h;
}

// Counts an allocation attempt; true if this one must fail (one per run).
bool should_fail(Source source) {
  if (!armed || in_hook) return false;
  in_hook = true;
  struct Leave {
    ~Leave() { in_hook = false; }
  } leave;
  ++injector.count;
  ++injector.by_source[static_cast<std::size_t>(source)];
  ++injector.by_side[armed_side == Role::client ? 0 : 1];
  bool looking = !injector.failed && injector.target && injector.count >= injector.target->from;
  Site site = injector.record || looking ? site_here() : 0;
  if (injector.record) injector.record->push_back(site);
  if (injector.failed) return false;
  bool fail = injector.fail_at != 0 && injector.count == injector.fail_at;
  if (looking) fail = site == injector.target->site;
  if (!fail) return false;
  injector.failed = Failure{.side = armed_side, .source = source, .index = injector.count};
  injector.failed_depth = backtrace(injector.failed_stack.data(), static_cast<int>(injector.failed_stack.size()));
  if (injector.trace && __sanitizer_print_stack_trace) {
    std::fprintf(stderr, "--- allocation %llu (%s, %s) fails here:\n", static_cast<unsigned long long>(injector.count),
                 source_names[static_cast<std::size_t>(source)], armed_side == Role::client ? "client" : "server");
    __sanitizer_print_stack_trace();
  }
  return true;
}

// Runs one call into lastbyte with allocations counted for `side`.
template <class F>
decltype(auto) call(Role side, F&& f) {
  struct Arm {
    [[gnu::noinline]] explicit Arm(Role r) {
      void* frames[max_frames];
      armed_depth = backtrace(frames, max_frames) - 1;  // less Arm's constructor
      armed = true;
      armed_side = r;
    }
    ~Arm() { armed = false; }
  } arm(side);
  return f();
}

// OpenSSL's own CRYPTO_malloc returns NULL for 0 bytes and frees on a
// realloc to 0; these keep that behaviour.
void* openssl_malloc(std::size_t n, const char*, int) {
  if (n == 0 || should_fail(Source::openssl)) return nullptr;
  return std::malloc(n);
}
void* openssl_realloc(void* p, std::size_t n, const char*, int) {
  if (p == nullptr) return openssl_malloc(n, nullptr, 0);
  if (n == 0) {
    std::free(p);
    return nullptr;
  }
  return should_fail(Source::openssl) ? nullptr : std::realloc(p, n);
}
void openssl_free(void* p, const char*, int) { std::free(p); }

#if LASTBYTE_ALLOC_TEST_WOLFSSL
void* wolfssl_malloc(std::size_t n) { return should_fail(Source::wolfssl) ? nullptr : std::malloc(n); }
void* wolfssl_realloc(void* p, std::size_t n) { return should_fail(Source::wolfssl) ? nullptr : std::realloc(p, n); }
void wolfssl_free(void* p) { std::free(p); }
#endif

void* new_or_throw(std::size_t n, std::size_t align = 0) {
  if (should_fail(Source::cxx_new)) throw std::bad_alloc();
  void* p = nullptr;
  if (align <= alignof(std::max_align_t))
    p = std::malloc(n ? n : 1);
  else if (posix_memalign(&p, align, n ? n : 1) != 0)
    p = nullptr;
  if (!p) throw std::bad_alloc();
  return p;
}

void* new_or_null(std::size_t n, std::size_t align = 0) noexcept {
  try {
    return new_or_throw(n, align);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

}  // namespace

// ---- interposed allocators ----------------------------------------------------

void* operator new(std::size_t n) { return new_or_throw(n); }
void* operator new[](std::size_t n) { return new_or_throw(n); }
void* operator new(std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return new_or_throw(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_or_null(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_or_null(n); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_or_null(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_or_null(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using CallocFn = void* (*)(std::size_t, std::size_t);
CallocFn real_calloc = nullptr;
bool resolving_calloc = false;

// The calloc this definition hides: a sanitizer runtime's interceptor when
// there is one (clang links it into the executable, where RTLD_NEXT would
// skip it and hand back glibc's, whose blocks the sanitizer's free refuses),
// otherwise the next definition (gcc's libasan.so, or glibc).
CallocFn resolve_calloc() {
  if (resolving_calloc) {
    // dlsym() of glibc 2.36 allocates nothing on success; if a C library
    // ever does, say so instead of handing out memory no free() knows.
    static const char message[] = "lastbyte-alloc-failure: dlsym() called calloc while calloc was being resolved\n";
    (void)!write(2, message, sizeof message - 1);
    std::abort();
  }
  resolving_calloc = true;
  void* f = dlsym(RTLD_DEFAULT, "__interceptor_calloc");
  if (!f) f = dlsym(RTLD_NEXT, "calloc");
  resolving_calloc = false;
  return reinterpret_cast<CallocFn>(f);
}

}  // namespace

// Mbed TLS 2.28 as Debian builds it calls calloc() through the PLT; this
// definition in the executable comes first in the global scope.
extern "C" void* calloc(std::size_t n, std::size_t size) {
  if (!real_calloc) real_calloc = resolve_calloc();
  if (should_fail(Source::calloc)) return nullptr;
  return real_calloc(n, size);
}

namespace {

// ---- one run ---------------------------------------------------------------

const char* side_name(Role r) { return r == Role::client ? "client" : "server"; }
Role peer_of(Role r) { return r == Role::client ? Role::server : Role::client; }

constexpr std::size_t payload_size = 20 * 1024;  // each way: two records and more

// What a run observed on one side of one connection.
struct SideResult {
  std::optional<Error> create_error;
  Bytes received;
  std::optional<Verdict> verdict;
  std::vector<std::string> misuse;  // refusals the driver did not expect
  std::vector<std::error_code> outbound_errors;  // close() or write() failing after the verdict CloseNotify
  bool resumed = false;
};

struct ConnectionResult {
  std::array<SideResult, 2> sides;  // client, server
  bool ran = false;  // both connections were created
};

struct RunResult {
  std::array<std::optional<Error>, 2> context_error;
  std::vector<ConnectionResult> connections;
  std::uint64_t allocations = 0;
  std::uint64_t allocations_at_failure = 0;
  std::optional<Failure> failed;
  std::string failed_at;  // the failed allocation's callers, named where the libraries export a name
  std::size_t sessions = 0;
  std::size_t keylog_lines = 0;
  bool keylog_expected = false;  // the backend exports this version's secrets
  std::vector<std::pair<const char*, std::uint64_t>> phases;  // allocations counted when each phase ended
};

std::size_t index(Role r) { return r == Role::client ? 0 : 1; }

struct Endpoint {
  Role role = Role::client;
  Connection* conn = nullptr;
  Bytes to_send = {};
  std::size_t written = 0;
  Bytes inbox = {};  // ciphertext from the peer not yet fed (back-pressure)
  bool closed = false;
  bool ended = false;
  SideResult* result = nullptr;
};

// Drives both ends like two event loops sharing a wire: write what is left,
// read while read_now, close once everything went both ways, move output.
// Bounded: stops when a round makes no progress.
void exchange(Endpoint& client, Endpoint& server) {
  std::array<Endpoint*, 2> ends{&client, &server};
  std::byte buffer[4096];
  int idle_rounds = 0;
  for (int round = 0; round < 500 && idle_rounds < 3; ++round) {
    bool progress = false;
    for (Endpoint* e : ends) {
      Endpoint& peer = *ends[index(peer_of(e->role))];
      Connection& c = *e->conn;
      if (!e->inbox.empty() && !e->ended) {
        auto r = call(e->role, [&] { return c.feed(e->inbox); });
        if (r.bytes > 0) {
          e->inbox.erase(e->inbox.begin(), e->inbox.begin() + static_cast<std::ptrdiff_t>(r.bytes));
          progress = true;
        }
      }
      if (!e->closed && !e->ended && e->written < e->to_send.size() && !c.verdict()) {
        auto rest = std::span<const std::byte>(e->to_send).subspan(e->written);
        auto r = call(e->role, [&] { return c.write(rest); });
        if (r.status == IoStatus::ok && r.bytes > 0) {
          e->written += r.bytes;
          progress = true;
        } else if (r.status == IoStatus::refused) {
          if (c.verdict() && std::holds_alternative<CloseNotify>(*c.verdict()))
            e->result->outbound_errors.push_back(r.error);
          else
            e->result->misuse.push_back("write() refused: " + r.error.message());
        }
      }
      for (int reads = 0; !e->ended && c.wants().read_now && reads < 1000; ++reads) {
        auto r = call(e->role, [&] { return c.read(buffer); });
        if (r.status == IoStatus::ok) {
          e->result->received.insert(e->result->received.end(), buffer, buffer + r.bytes);
          progress = true;
        } else if (r.status == IoStatus::end) {
          e->ended = true;
          e->result->verdict = c.verdict();
          progress = true;
        } else if (r.status == IoStatus::refused) {
          e->result->misuse.push_back("read() refused: " + r.error.message());
          break;
        } else {
          break;
        }
      }
      if (!e->closed && c.wants().handshake_done && e->written == e->to_send.size() &&
          e->result->received.size() == peer.to_send.size() &&
          (!c.verdict() || std::holds_alternative<CloseNotify>(*c.verdict()))) {
        if (auto error = call(e->role, [&] { return c.close(); })) {
          if (c.verdict())  // CloseNotify: our close_notify may not have been sent
            e->result->outbound_errors.push_back(error);
          else
            e->result->misuse.push_back("close() refused: " + error.message());
        }
        e->closed = true;
        progress = true;
      }
      auto pending = c.output();
      if (!pending.empty()) {
        peer.inbox.insert(peer.inbox.end(), pending.begin(), pending.end());
        std::size_t n = pending.size();
        if (auto error = call(e->role, [&] { return c.consume_output(n); }))
          e->result->misuse.push_back("consume_output() refused: " + error.message());
        progress = true;
      }
    }
    idle_rounds = progress ? 0 : idle_rounds + 1;
  }
  // One side stopped (its allocation failed): the other sees the transport
  // end, and must reach a verdict from what it has.
  for (Endpoint* e : ends) {
    if (e->ended) continue;
    if (!e->inbox.empty()) call(e->role, [&] { return e->conn->feed(e->inbox); });
    call(e->role, [&] { return e->conn->feed_eof(); });
    for (int reads = 0; !e->ended && reads < 1000; ++reads) {
      auto r = call(e->role, [&] { return e->conn->read(buffer); });
      if (r.status == IoStatus::ok) e->result->received.insert(e->result->received.end(), buffer, buffer + r.bytes);
      if (r.status == IoStatus::end) {
        e->ended = true;
        e->result->verdict = e->conn->verdict();
      }
      if (r.status == IoStatus::refused) {
        e->result->misuse.push_back("read() after EOF refused: " + r.error.message());
        break;
      }
    }
    if (!e->ended) e->result->misuse.push_back("no verdict after the transport ended");
  }
}

struct Setup {
  const Backend* backend;
  TlsVersion version;
};

Config client_config(const Setup& s, std::shared_ptr<std::vector<Bytes>> sessions,
                     std::shared_ptr<std::vector<std::string>> keylog) {
  Config c = conformance::client_config(s.version);
  c.cert_chain_pem = testing::test_pki().client.cert_pem;
  c.private_key_pem = testing::test_pki().client.key_pem;
  c.alpn = {"h2", "http/1.1"};
  // The callbacks copy what they get, as applications do: their allocations
  // fail too, inside library callbacks.
  c.on_new_session = [sessions](std::span<const std::byte> blob) { sessions->emplace_back(blob.begin(), blob.end()); };
  if (s.backend->exports_secrets(s.version))
    c.keylog = [keylog](std::string_view line) { keylog->emplace_back(line); };
  return c;
}

Config server_config(const Setup& s, std::shared_ptr<std::vector<std::string>> keylog) {
  Config c = conformance::server_config(s.version);
  c.client_auth = ClientAuth::required;
  c.ca_pem = testing::test_pki().ca.cert_pem;
  c.alpn = {"http/1.1"};
  if (s.backend->exports_secrets(s.version))
    c.keylog = [keylog](std::string_view line) { keylog->emplace_back(line); };
  return c;
}

// What one run fails: nothing, the Nth allocation, or a site's first one
// from some index on; `record` collects every allocation's site.
struct Plan {
  std::uint64_t fail_at = 0;
  std::optional<Target> target = std::nullopt;
  std::vector<Site>* record = nullptr;
};

const void* executable_base() {
  static const void* base = [] {
    Dl_info info{};
    return dladdr(reinterpret_cast<void*>(&executable_base), &info) ? info.dli_fbase : nullptr;
  }();
  return base;
}

// "f < g < h": the library functions that made the failed allocation, up
// to lastbyte's code, by exported name (dladdr) or module+offset; empty
// when lastbyte's code allocated.
std::string describe_stack(void* const* frames, int depth) {
  std::string out;
  bool in_library = false;
  for (int i = 0; i < depth; ++i) {
    Dl_info info{};
    std::string name;
    if (dladdr(frames[i], &info) && info.dli_sname) {
      name = info.dli_sname;
    } else if (info.dli_fname) {
      char offset[32];
      std::snprintf(offset, sizeof offset, "+0x%llx",
                    static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(frames[i]) -
                                                    reinterpret_cast<std::uintptr_t>(info.dli_fbase)));
      std::string_view file = info.dli_fname;
      name = std::string(file.substr(file.rfind('/') + 1)) + offset;
    }
    // The hooks first, then the library's frames, then lastbyte's code
    // (which --trace names).
    bool ours = info.dli_fbase == executable_base();
    bool sanitizer = info.dli_fname && std::string_view(info.dli_fname).find("libasan") != std::string_view::npos;
    if (ours && in_library) break;
    if (ours || sanitizer) continue;
    in_library = true;
    out += (out.empty() ? "" : " < ") + name.substr(0, 60);
  }
  return out;
}

RunResult run(const Setup& setup, const Plan& plan) {
  RunResult result;
  auto sessions = std::make_shared<std::vector<Bytes>>();
  auto keylog = std::make_shared<std::vector<std::string>>();
  Config configs[2] = {client_config(setup, sessions, keylog), server_config(setup, keylog)};
  injector.fail_at = plan.fail_at;
  injector.target = plan.target;
  injector.record = plan.record;
  injector.count = 0;
  injector.by_source = {};
  injector.by_side = {};
  injector.failed.reset();
  {
    std::optional<Context> contexts[2];
    for (Role role : {Role::client, Role::server}) {
      auto& config = configs[index(role)];
      auto context = call(role, [&] { return Context::create(std::move(config), *setup.backend); });
      if (context)
        contexts[index(role)].emplace(std::move(*context));
      else
        result.context_error[index(role)] = context.error();
      result.phases.emplace_back(role == Role::client ? "client context" : "server context", injector.count);
    }
    if (contexts[0] && contexts[1]) {
      for (int n = 0; n < 2; ++n) {
        ConnectionResult& cr = result.connections.emplace_back();
        ConnectionOptions options;
        if (n == 1 && !sessions->empty()) options.resume_session = sessions->back();
        std::optional<Connection> conns[2];
        for (Role role : {Role::server, Role::client}) {
          auto conn = call(role, [&] {
            return role == Role::client ? Connection::create(*contexts[0], std::move(options))
                                        : Connection::create(*contexts[1]);
          });
          if (conn)
            conns[index(role)].emplace(std::move(*conn));
          else
            cr.sides[index(role)].create_error = conn.error();
        }
        result.phases.emplace_back(n == 0 ? "connections 1 created" : "connections 2 created", injector.count);
        if (!conns[0] || !conns[1]) continue;
        cr.ran = true;
        Endpoint client{.role = Role::client, .conn = &*conns[0], .to_send = conformance::pattern(0, payload_size),
                        .result = &cr.sides[0]};
        Endpoint server{.role = Role::server, .conn = &*conns[1],
                        .to_send = conformance::pattern(1000003, payload_size), .result = &cr.sides[1]};
        exchange(client, server);
        result.phases.emplace_back(n == 0 ? "connection 1 done" : "connection 2 done", injector.count);
        // A query after the run, not part of it: not failed.
        for (Role role : {Role::client, Role::server})
          if (auto info = conns[index(role)]->info()) cr.sides[index(role)].resumed = info->resumed;
      }
    }
    // Contexts and connections are destroyed here, armed: freeing never fails.
  }
  result.allocations = injector.count;
  result.failed = injector.failed;
  if (result.failed) {
    result.allocations_at_failure = result.failed->index;
    result.failed_at = describe_stack(injector.failed_stack.data(), injector.failed_depth);
  }
  result.sessions = sessions->size();
  result.keylog_lines = keylog->size();
  result.keylog_expected = setup.backend->exports_secrets(setup.version);
  injector.fail_at = 0;
  injector.target.reset();
  injector.record = nullptr;
  return result;
}

// ---- the oracle ------------------------------------------------------------

enum class Outcome { local_error, failed_create, tolerated };

bool is_allocation_error(const Error& e) {
  return e.code == make_error_code(errc::out_of_memory) || e.code == make_error_code(errc::backend_failure);
}

enum class Kind {
  misuse,               // an unexpected refusal, a verdict without a failure, no verdict at all
  wrong_bytes,          // plaintext that is not a prefix of what was sent, close_notify after missing bytes
  certificate_verdict,  // HandshakeRejected with a certificate reason
  protocol_verdict,     // HandshakeRejected with another reason, ProtocolError
  unreported_failure,   // the side whose allocation failed did not say so (LocalError, a failed create)
};

struct Problem {
  Kind kind;
  std::string text;
};

bool is_certificate_reason(RejectReason r) {
  switch (r) {
    case RejectReason::expired:
    case RejectReason::hostname:
    case RejectReason::untrusted:
    case RejectReason::usage:
    case RejectReason::bad_certificate:
    case RejectReason::certificate_required: return true;
    default: return false;
  }
}

// Checks one run; returns what went wrong (empty: fine) and the outcome.
std::vector<Problem> judge(const RunResult& r, bool expect_complete, Outcome& outcome) {
  std::vector<Problem> problems;
  auto problem = [&](Kind kind, std::string what) { problems.push_back({.kind = kind, .text = std::move(what)}); };
  const Bytes expected[2] = {conformance::pattern(0, payload_size), conformance::pattern(1000003, payload_size)};
  std::optional<Role> failed_side;
  if (r.failed) failed_side = r.failed->side;

  bool failure_seen = false;  // the failed side ended with LocalError or a failed create
  for (Role role : {Role::client, Role::server}) {
    if (const auto& e = r.context_error[index(role)]) {
      if (!failed_side || *failed_side != role || !is_allocation_error(*e))
        problem(Kind::misuse, std::string(side_name(role)) + " Context::create failed: " + e->message());
      else
        failure_seen = true;
    }
  }
  bool complete = !r.context_error[0] && !r.context_error[1] && r.connections.size() == 2;
  for (std::size_t n = 0; n < r.connections.size(); ++n) {
    const ConnectionResult& cr = r.connections[n];
    std::string conn = n == 0 ? "connection 1: " : "connection 2 (resumed): ";
    for (Role role : {Role::client, Role::server}) {
      const SideResult& s = cr.sides[index(role)];
      bool failed_here = failed_side && *failed_side == role;
      std::string who = conn + side_name(role) + " ";
      if (s.create_error) {
        complete = false;
        if (!failed_here || !is_allocation_error(*s.create_error) ||
            s.create_error->message().find("handshake_rejected") != std::string::npos)
          problem(Kind::misuse, who + "Connection::create failed: " + s.create_error->message());
        else
          failure_seen = true;
        continue;
      }
      if (!cr.ran) continue;
      for (const auto& m : s.misuse) problem(Kind::misuse, who + m);
      for (const auto& e : s.outbound_errors) {
        if (e == make_error_code(errc::out_of_memory) && failed_here)
          failure_seen = true;  // reported by close()/write(); the verdict stays CloseNotify
        else
          problem(Kind::misuse, who + "close()/write() after close_notify failed: " + e.message());
      }
      if (!s.outbound_errors.empty()) complete = false;
      const Bytes& sent = expected[index(peer_of(role))];
      if (s.received.size() > sent.size() || !std::equal(s.received.begin(), s.received.end(), sent.begin()))
        problem(Kind::wrong_bytes,
                who + "received " + std::to_string(s.received.size()) + " bytes that are not a prefix of what was sent");
      if (!s.verdict) {
        problem(Kind::misuse, who + "has no verdict");
        complete = false;
        continue;
      }
      const Verdict& v = *s.verdict;
      if (std::holds_alternative<CloseNotify>(v)) {
        if (s.received.size() != sent.size())
          problem(Kind::wrong_bytes, who + "close_notify after " + std::to_string(s.received.size()) + " of " +
                                         std::to_string(sent.size()) + " bytes");
        continue;
      }
      complete = false;
      if (std::holds_alternative<LocalError>(v)) {
        if (failed_here)
          failure_seen = true;
        else
          problem(Kind::misuse, who + "ended with " + describe(v) + " but its allocations did not fail");
        continue;
      }
      if (const auto* rejected = std::get_if<HandshakeRejected>(&v); rejected && is_certificate_reason(rejected->reason))
        problem(Kind::certificate_verdict, who + "ended with " + describe(v));
      else if (rejected || std::holds_alternative<ProtocolError>(v))
        problem(Kind::protocol_verdict, who + "ended with " + describe(v));
      if (failed_here)
        problem(Kind::unreported_failure, who + "(whose allocation failed) ended with " + describe(v) + ", not local_error");
      // The peer of a failed side: an alert from it, or the transport end.
    }
  }
  if (!r.failed) {
    if (!complete) problem(Kind::misuse, "no allocation failed, yet the run did not complete");
  } else if (!complete && !failure_seen) {
    std::string verdicts;
    for (std::size_t n = 0; n < r.connections.size(); ++n)
      for (Role role : {Role::client, Role::server}) {
        const auto& v = r.connections[n].sides[index(role)].verdict;
        verdicts += " connection " + std::to_string(n + 1) + " " + side_name(role) + ": " + (v ? describe(*v) : "none") + ";";
      }
    problem(Kind::unreported_failure, std::string("the ") + side_name(r.failed->side) +
                                          " allocation failed, the run did not complete, and the " +
                                          side_name(r.failed->side) + " reported no local_error (" + verdicts + ")");
  }
  if (expect_complete || !r.failed) {
    if (r.sessions == 0) problem(Kind::misuse, "no session reached on_new_session");
    if (r.keylog_expected && r.keylog_lines == 0) problem(Kind::misuse, "no key log line was written");
    if (r.connections.size() == 2 && !r.connections[1].sides[0].resumed)
      problem(Kind::misuse, "the second connection did not resume");
  }
  outcome = complete ? Outcome::tolerated : Outcome::local_error;
  if (r.context_error[0] || r.context_error[1]) outcome = Outcome::failed_create;
  for (const auto& cr : r.connections)
    for (const auto& s : cr.sides)
      if (s.create_error) outcome = Outcome::failed_create;
  return problems;
}

// Allocation failures a library drops where no adapter can see them: the
// failed side then ends with the verdict the wrong handshake bytes cause
// (unreported_failure, protocol_verdict), and nothing worse is allowed.
// Matched by the exported names of the failed allocation's callers.
struct Masking {
  std::string_view backend;
  std::array<std::string_view, 2> under;  // the failed allocation was made (indirectly) by one of these
  std::string_view what;
};
constexpr Masking maskings[] = {
    {.backend = "mbedtls",
     .under = {"mbedtls_ssl_write_finished", "mbedtls_ssl_parse_finished"},
     .what = "Mbed TLS 2.28 computes the Finished verify_data in a void function (ssl_calc_finished_tls_sha256/384) "
             "that drops its PRF's allocation failure (tls_prf_generic's buffer, mbedtls_md_setup): it sends, or "
             "expects, a wrong Finished"},
};

const Masking* masking_of(std::string_view backend, const std::string& failed_at) {
  for (const Masking& m : maskings)
    if (m.backend == backend &&
        std::any_of(m.under.begin(), m.under.end(), [&](std::string_view u) { return failed_at.find(u) != std::string::npos; }))
      return &m;
  return nullptr;
}

// ---- the sweep -------------------------------------------------------------

void on_alarm(int) {
  static const char message[] = "lastbyte-alloc-failure: a run hung (over 30 s); rerun with --from/--to to find it\n";
  (void)!write(2, message, sizeof message - 1);
  _exit(1);
}

struct Options {
  std::string backend;
  TlsVersion version = TlsVersion::tls1_3;
  bool every = false;  // N = 1, 2, 3, ... instead of one run per site
  std::uint64_t stride = 1, from = 1, to = 0;
  bool trace = false, verbose = false, leak_check_each = false;
};

int usage() {
  std::fprintf(stderr,
               "usage: lastbyte-alloc-failure --backend NAME --version 1.2|1.3 [--every [--stride K]] [--from I] "
               "[--to I] [--trace] [--verbose] [--leak-check-each]\n"
               "  default: one run per allocation site (call stack); --every: one run per allocation\n"
               "  --from/--to: allocation numbers (--every) or site numbers (default), 1-based\n");
  return 2;
}

unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

// Outcomes of the runs of one sweep, and the problems the oracle found.
struct Tally {
  std::string label = {};
  std::string_view backend = {};
  bool verbose = false;
  std::map<std::string_view, std::uint64_t> masked = {};  // runs a known library masking explains
  std::uint64_t tried = 0, bad = 0;
  std::map<Outcome, std::uint64_t> outcomes = {};
  std::array<std::uint64_t, 2> by_side = {};
  std::array<std::uint64_t, static_cast<std::size_t>(Source::count)> by_source = {};
  std::map<std::string, std::uint64_t> peer_verdicts = {};

  bool leak_check_each = false;

  void add(const RunResult& r, const std::string& point) {
    ++tried;
    if (leak_check_each && __lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check() != 0) {
      std::printf("%s: leaked (above)\n", point.c_str());
      ++bad;
    }
    Outcome outcome;
    auto problems = judge(r, false, outcome);
    if (const Masking* m = masking_of(backend, r.failed_at)) {
      std::erase_if(problems, [](const Problem& p) {
        return p.kind == Kind::unreported_failure || p.kind == Kind::protocol_verdict;
      });
      if (!problems.empty() || outcome != Outcome::tolerated) ++masked[m->what];
    }
    ++outcomes[outcome];
    ++by_side[index(r.failed->side)];
    ++by_source[static_cast<std::size_t>(r.failed->source)];
    for (const auto& cr : r.connections)
      if (cr.ran)
        if (const auto& v = cr.sides[index(peer_of(r.failed->side))].verdict)
          if (!std::holds_alternative<CloseNotify>(*v)) ++peer_verdicts[std::string(kind_name(*v))];
    std::string where = point + " (allocation " + std::to_string(r.allocations_at_failure) + ", " +
                        side_name(r.failed->side) + ", " + source_names[static_cast<std::size_t>(r.failed->source)] + ")";
    for (const auto& p : problems) std::printf("%s: %s\n", where.c_str(), p.text.c_str());
    if (!problems.empty()) std::printf("  failed allocation made in: %s\n", r.failed_at.c_str());
    if (problems.empty() && verbose)
      std::printf("%s: %s\n", where.c_str(),
                  outcome == Outcome::tolerated ? "tolerated" : outcome == Outcome::failed_create ? "failed create" : "local_error");
    if (!problems.empty()) ++bad;
    std::fflush(stdout);
  }

  void print(const std::string& how, double seconds) const {
    std::printf("alloc_failure %s: %s: %llu runs: local_error %llu, failed create %llu, tolerated %llu; failed on the "
                "client %llu, server %llu; by allocator:",
                label.c_str(), how.c_str(), ull(tried), ull(outcomes.count(Outcome::local_error) ? outcomes.at(Outcome::local_error) : 0),
                ull(outcomes.count(Outcome::failed_create) ? outcomes.at(Outcome::failed_create) : 0),
                ull(outcomes.count(Outcome::tolerated) ? outcomes.at(Outcome::tolerated) : 0), ull(by_side[0]), ull(by_side[1]));
    for (std::size_t s = 0; s < static_cast<std::size_t>(Source::count); ++s)
      if (by_source[s]) std::printf(" %s %llu", source_names[s], ull(by_source[s]));
    std::printf("; %.1f s\n  the peer of the failed side ended with:", seconds);
    for (const auto& [kind, count] : peer_verdicts) std::printf(" %s %llu", kind.c_str(), ull(count));
    std::printf("\n");
    for (const auto& [what, count] : masked)
      std::printf("  known library divergence, %llu runs: %.*s\n", ull(count), static_cast<int>(what.size()), what.data());
  }
};

// The first index of every site seen in a few runs without failures (Mbed
// TLS's bignum code allocates a little differently from run to run).
std::vector<std::pair<std::uint64_t, Site>> plan_sites(const Setup& setup, int runs) {
  std::map<Site, std::uint64_t> first;
  for (int i = 0; i < runs; ++i) {
    std::vector<Site> sites;
    run(setup, {.record = &sites});
    for (std::size_t n = 0; n < sites.size(); ++n) {
      auto [it, inserted] = first.emplace(sites[n], n + 1);
      if (!inserted) it->second = std::min<std::uint64_t>(it->second, n + 1);
    }
  }
  std::vector<std::pair<std::uint64_t, Site>> ordered;
  for (auto [site, n] : first) ordered.emplace_back(n, site);
  std::sort(ordered.begin(), ordered.end());
  return ordered;
}

// ---- leaks -------------------------------------------------------------------

// LeakSanitizer's report, each direct leak classified by its allocation
// stack: the first frame in lastbyte's own sources (the test's allocators
// and the adapters' allocator wrappers aside) says who allocated it. An
// engine operation there (handshake, read, write, send_close_notify) means
// the TLS library allocated the object inside its own call and lost it: the
// adapter freed everything it was given, and no adapter can free what the
// library no longer references. Anything else is lastbyte's leak.
struct LeakReport {
  int ours = 0, library = 0, unattributed = 0;
};

LeakReport classify_leaks(const std::string& report) {
  LeakReport result;
  static constexpr std::string_view engine_operations[] = {"handshake", "read", "write", "send_close_notify"};
  std::size_t pos = 0;
  while ((pos = report.find("Direct leak of", pos)) != std::string::npos) {
    std::size_t end = report.find("\n\n", pos);
    std::string_view block(report.data() + pos, (end == std::string::npos ? report.size() : end) - pos);
    pos += block.size();
    enum { unattributed, ours, library } who = unattributed;
    std::size_t line_start = 0;
    while ((line_start = block.find("\n", line_start)) != std::string_view::npos) {
      std::string_view line = block.substr(++line_start);
      line = line.substr(0, line.find('\n'));
      // "    #3 0x7f... in FUNCTION FILE:LINE" for code with line tables
      auto in = line.find(" in ");
      if (in == std::string_view::npos || line.find(LASTBYTE_SOURCE_DIR) == std::string_view::npos) continue;
      std::string_view rest = line.substr(in + 4);
      // FILE:LINE is the last word (a clang symbol has spaces: "(anonymous
      // namespace)"); frames without line tables end in a module and a
      // BuildId instead, which is no source of ours.
      std::string_view function = rest.substr(0, rest.rfind(' '));
      std::string_view file = rest.substr(rest.rfind(' ') + 1);
      if (!file.starts_with(LASTBYTE_SOURCE_DIR)) continue;
      if (file.find("/tests/") != std::string_view::npos || function.find("noting_") != std::string_view::npos) continue;
      bool operation = file.find("/backends/") != std::string_view::npos &&
                       std::any_of(std::begin(engine_operations), std::end(engine_operations),
                                   [&](std::string_view op) { return function == op || function.ends_with("::" + std::string(op) + "()"); });
      who = operation ? library : ours;
      break;
    }
    (who == library ? result.library : who == ours ? result.ours : result.unattributed) += 1;
  }
  return result;
}

bool full_allocation_stacks() {
  const char* options = std::getenv("ASAN_OPTIONS");
  return options && std::string_view(options).find("fast_unwind_on_malloc=0") != std::string_view::npos;
}

std::vector<char*> arguments;  // main()'s, for the rerun

[[noreturn]] void rerun_with_full_allocation_stacks() {
  const char* options = std::getenv("ASAN_OPTIONS");
  std::string with = std::string(options ? options : "") + (options && *options ? ":" : "") + "fast_unwind_on_malloc=0";
  setenv("ASAN_OPTIONS", with.c_str(), 1);
  execv("/proc/self/exe", arguments.data());
  std::perror("execv /proc/self/exe");
  _exit(1);
}

// The leak check, its report read back from a file and echoed to stderr.
LeakReport check_leaks() {
  std::string dir_template = lastbyte_test::temporary_template("lastbyte-alloc");
  char* dir = dir_template.data();
  if (!__sanitizer_set_report_path || !mkdtemp(dir)) {
    return __lsan_do_recoverable_leak_check() != 0 ? LeakReport{.unattributed = 1} : LeakReport{};
  }
  std::string prefix = std::string(dir) + "/lsan";
  __sanitizer_set_report_path(prefix.c_str());
  int leaked = __lsan_do_recoverable_leak_check();
  __sanitizer_set_report_path("stderr");
  std::string path = prefix + "." + std::to_string(getpid()), report;
  if (std::FILE* f = std::fopen(path.c_str(), "r")) {
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) report.append(buf, n);
    std::fclose(f);
  }
  std::remove(path.c_str());
  rmdir(dir);
  std::fwrite(report.data(), 1, report.size(), stderr);
  LeakReport result = classify_leaks(report);
  if (leaked != 0 && result.ours + result.library + result.unattributed == 0) result.unattributed = 1;
  return result;
}

int sweep(const Options& o) {
  const Backend* backend = nullptr;
  std::string names;
  for (const Backend* b : conformance::installed_backends()) {
    if (b->name == o.backend) backend = b;
    names += " " + std::string(b->name);
  }
  if (!backend) {
    std::fprintf(stderr, "unknown backend %s; built:%s\n", o.backend.c_str(), names.c_str());
    return 2;
  }
  std::string label = std::string(backend->name) + " " + std::string(to_string(o.version));
  if (!backend->supports(o.version)) {
    std::printf("alloc_failure %s: unsupported by this library (%s)\n", label.c_str(), backend->library_version().c_str());
    return 77;
  }
  if (o.backend == "gnutls") {
    // Measured (docs/adversarial.md, "What no adapter can fix"): the first
    // failed calloc inside gnutls_x509_crt_init() crashes libtasn1 4.19
    // (asn1_create_element dereferences it), and with libtasn1's own
    // allocations spared, failures inside gnutls_handshake() are not
    // reported (the server goes on and its peer sees bad_record_mac) and
    // gnutls_x509_trust_list_verify_crt2() crashes libtasn1 again. Until
    // GnuTLS survives them, the loop would only measure GnuTLS.
    std::printf("alloc_failure %s: unsupported by this library (%s): libtasn1 crashes on a failed allocation "
                "inside GnuTLS (docs/adversarial.md)\n",
                label.c_str(), backend->library_version().c_str());
    return 77;
  }
  if (o.backend == "rustls") {
    // Rust aborts the process when an allocation fails (the standard
    // library's handle_alloc_error: "memory allocation of N bytes failed");
    // stable Rust (Debian's 1.63) offers no way to recover, so neither rustls
    // nor the shim can report one. Measured: the first failed calloc inside
    // rustls aborts.
    std::printf("alloc_failure %s: unsupported by this library (%s): Rust aborts the process on a failed "
                "allocation (docs/adversarial.md)\n",
                label.c_str(), backend->library_version().c_str());
    return 77;
  }
  Setup setup{.backend = backend, .version = o.version};
  testing::test_pki();  // generated once, outside any armed call

  // Warm-up: the libraries' one-time initialisation (error strings, method
  // tables, wolfSSL's per-thread ECC cache) happens in the first runs and
  // must not be failed: it would break every later run for good.
  RunResult baseline;
  for (int i = 0; i < 3; ++i) baseline = run(setup, {});
  Outcome ignored;
  if (auto problems = judge(baseline, true, ignored); !problems.empty()) {
    std::printf("alloc_failure %s: the run fails without any allocation failure:\n", label.c_str());
    for (const auto& p : problems) std::printf("  %s\n", p.text.c_str());
    return 1;
  }
  if (o.backend == "mbedtls" && injector.by_source[static_cast<std::size_t>(Source::calloc)] == 0) {
    std::printf("alloc_failure %s: unsupported by this library build: Mbed TLS's allocations do not reach the "
                "interposed calloc\n",
                label.c_str());
    return 77;
  }
  std::printf("alloc_failure %s (%s): %llu allocations per run (client %llu, server %llu; by allocator:", label.c_str(),
              backend->library_version().c_str(), ull(baseline.allocations), ull(injector.by_side[0]),
              ull(injector.by_side[1]));
  for (std::size_t s = 0; s < static_cast<std::size_t>(Source::count); ++s)
    if (injector.by_source[s]) std::printf(" %s %llu", source_names[s], ull(injector.by_source[s]));
  std::printf(")\n  after:");
  for (const auto& [phase, count] : baseline.phases) std::printf(" %s %llu;", phase, ull(count));
  std::printf("\n");
  std::fflush(stdout);

  signal(SIGALRM, on_alarm);
  injector.trace = o.trace;
  Tally tally{.label = label, .backend = backend->name, .verbose = o.verbose, .leak_check_each = o.leak_check_each};
  auto start = std::chrono::steady_clock::now();
  std::string how;
  bool complete = true;  // every point was tried, up to a run that failed nothing
  if (o.every) {
    bool reached_end = false;
    std::uint64_t last = 0;
    for (std::uint64_t n = o.from; o.to == 0 || n <= o.to; n += o.stride) {
      alarm(30);
      RunResult r = run(setup, {.fail_at = n});
      alarm(0);
      last = n;
      if (!r.failed) {  // fewer than n allocations: the sweep is complete
        Outcome outcome;
        for (const auto& p : judge(r, true, outcome)) {
          std::printf("N=%llu (no failure): %s\n", ull(n), p.text.c_str());
          ++tally.bad;
        }
        reached_end = true;
        break;
      }
      tally.add(r, "N=" + std::to_string(n));
    }
    complete = reached_end && o.from == 1;
    how = "every allocation N=" + std::to_string(o.from) + ".." + std::to_string(last) +
          (o.stride > 1 ? " stride " + std::to_string(o.stride) : "") +
          (reached_end ? " (the last run reached no failure)" : "");
  } else {
    auto sites = plan_sites(setup, 3);
    std::uint64_t not_reached = 0;
    std::uint64_t first = o.from, last = o.to == 0 ? sites.size() : std::min<std::uint64_t>(o.to, sites.size());
    for (std::uint64_t i = first; i <= last; ++i) {
      auto [n, site] = sites[i - 1];
      // From a little before its first index: the runs of Mbed TLS drift.
      RunResult r;
      for (std::uint64_t from : {n > 64 ? n - 64 : 1, std::uint64_t{1}}) {
        alarm(30);
        r = run(setup, {.target = Target{.site = site, .from = from}});
        alarm(0);
        if (r.failed) break;
      }
      if (!r.failed) {
        ++not_reached;
        if (o.verbose) std::printf("site %llu (first at N=%llu): not reached again\n", ull(i), ull(n));
        continue;
      }
      tally.add(r, "site " + std::to_string(i) + " (first at N=" + std::to_string(n) + ")");
    }
    complete = first == 1 && last == sites.size();
    how = "one run per allocation site (" + std::to_string(site_depth) + "-frame call stack), sites " +
          std::to_string(first) + ".." + std::to_string(last) + " of " + std::to_string(sites.size()) +
          (not_reached ? ", " + std::to_string(not_reached) + " not reached again" : "");
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  tally.print(how, seconds);

  if (__lsan_do_recoverable_leak_check) {
    LeakReport leaks = check_leaks();
    if (leaks.unattributed > 0 && !full_allocation_stacks()) {
      // LeakSanitizer's fast unwinder stops inside libraries built without
      // frame pointers: the same sweep again, with whole stacks, tells whose
      // leak it is (wolfSSL's sweeps are short; the others do not leak).
      std::printf("alloc_failure %s: leaks whose stacks stop inside a library: the sweep again with "
                  "fast_unwind_on_malloc=0 to attribute them\n",
                  label.c_str());
      std::fflush(stdout);
      std::fflush(stderr);
      rerun_with_full_allocation_stacks();
    }
    if (leaks.ours + leaks.unattributed > 0) {
      std::printf("alloc_failure %s: LeakSanitizer found leaks (above): %d allocated by lastbyte's code, %d whose stack "
                  "does not say (rerun with ASAN_OPTIONS=fast_unwind_on_malloc=0 and --leak-check-each)\n",
                  label.c_str(), leaks.ours, leaks.unattributed);
      ++tally.bad;
    } else if (leaks.library > 0) {
      std::printf("alloc_failure %s: known library leaks: %d leak report(s) of objects %s allocated inside its own "
                  "calls after an allocation failed (above; docs/adversarial.md); none by lastbyte\n",
                  label.c_str(), leaks.library, std::string(backend->name).c_str());
    } else {
      std::printf("alloc_failure %s: no leaks (LeakSanitizer)\n", label.c_str());
    }
  } else {
    std::printf("alloc_failure %s: leaks not checked (build without LeakSanitizer: use the asan preset)\n", label.c_str());
  }
  if (tally.bad > 0) {
    std::printf("alloc_failure %s: FAILED (%llu runs with problems)\n", label.c_str(), ull(tally.bad));
    return 1;
  }
  std::printf("alloc_failure %s: passed%s\n", label.c_str(), complete ? "" : " (partial sweep)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything allocates through OpenSSL: it refuses afterwards.
  if (CRYPTO_set_mem_functions(openssl_malloc, openssl_realloc, openssl_free) != 1) {
    std::fprintf(stderr, "CRYPTO_set_mem_functions refused: OpenSSL allocated before main()\n");
    return 1;
  }
  arguments.assign(argv, argv + argc);
  arguments.push_back(nullptr);
#if LASTBYTE_ALLOC_TEST_WOLFSSL
  wolfSSL_SetAllocators(wolfssl_malloc, wolfssl_free, wolfssl_realloc);
#endif
  // backtrace() loads the unwinder the first time: not inside a run.
  void* frame[1];
  backtrace(frame, 1);
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--backend")
      o.backend = value();
    else if (a == "--version") {
      std::string v = value();
      if (v != "1.2" && v != "1.3") return usage();
      o.version = v == "1.2" ? TlsVersion::tls1_2 : TlsVersion::tls1_3;
    } else if (a == "--stride")
      o.stride = std::stoull(value());
    else if (a == "--from")
      o.from = std::stoull(value());
    else if (a == "--to")
      o.to = std::stoull(value());
    else if (a == "--every")
      o.every = true;
    else if (a == "--trace")
      o.trace = true;
    else if (a == "--verbose")
      o.verbose = true;
    else if (a == "--leak-check-each")
      o.leak_check_each = true;
    else
      return usage();
  }
  if (o.backend.empty() || o.stride == 0 || o.from == 0) return usage();
  int status = sweep(o);
  // The leak check above is the verdict (it tells the libraries' own leaks
  // apart): LeakSanitizer's check at exit would only repeat it.
  std::fflush(stdout);
  std::fflush(stderr);
  _exit(status);
}
