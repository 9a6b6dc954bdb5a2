#include <lastbyte/conformance/scenarios.hpp>
#include <lastbyte/conformance/soak.hpp>
#include <lastbyte/engine/record.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <stdexcept>

namespace lastbyte::conformance {

void SoakStats::add(const SoakStats& o) {
  pairs += o.pairs;
  connections += o.connections;
  bytes += o.bytes;
  failures += o.failures;
  for (auto [mine, theirs] : {std::pair{&verdicts, &o.verdicts}, std::pair{&peer_verdicts, &o.peer_verdicts},
                               std::pair{&endings, &o.endings}, std::pair{&unsupported, &o.unsupported},
                               std::pair{&questions, &o.questions}})
    for (const auto& [k, v] : *theirs) (*mine)[k] += v;
}

namespace {

using Rng = std::mt19937_64;

bool chance(Rng& rng, double p) { return std::bernoulli_distribution(p)(rng); }
std::size_t uniform(Rng& rng, std::size_t lo, std::size_t hi) {
  return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
}
// Small sizes as often as large ones: a uniform draw would almost never
// pick a 1-byte read or a 3-byte body out of 1..65536.
std::size_t log_uniform(Rng& rng, std::size_t lo, std::size_t hi) {
  std::uniform_real_distribution<double> d(std::log(static_cast<double>(lo)), std::log(static_cast<double>(hi) + 1));
  return std::clamp(static_cast<std::size_t>(std::exp(d(rng))), lo, hi);
}

// How the peer's stream ends (the close races of the brief).
enum class Ending {
  close_notify,         // CN, then FIN, RST or nothing
  junk_after_cn,        // CN, random bytes, then FIN, RST or nothing
  forged_after_cn,      // CN, validly protected data (the record forge), then FIN, RST or nothing
  fin,                  // FIN without close_notify
  rst,                  // RST
  cut_data,             // a data record cut mid-way (also inside its header), then FIN or RST
  cut_close_notify,     // the close_notify record cut mid-way, then FIN or RST
  cut_handshake,        // a handshake flight cut (also at a record boundary), then FIN or RST
};

std::string_view ending_name(Ending e) {
  switch (e) {
    case Ending::close_notify: return "close_notify";
    case Ending::junk_after_cn: return "close_notify+junk";
    case Ending::forged_after_cn: return "close_notify+protected data";
    case Ending::fin: return "fin";
    case Ending::rst: return "rst";
    case Ending::cut_data: return "mid-record cut";
    case Ending::cut_close_notify: return "close_notify cut";
    case Ending::cut_handshake: return "handshake cut";
  }
  return "?";
}

std::string_view end_name(TransportEnd e) {
  switch (e) {
    case TransportEnd::none: return "open";
    case TransportEnd::fin: return "fin";
    case TransportEnd::rst: return "rst";
  }
  return "?";
}

enum class CutStyle { whole, tiny, mixed, large };

// Everything one seed decides, drawn before anything runs.
struct Plan {
  Role victim = Role::client;
  std::vector<std::size_t> bodies;
  Ending ending = Ending::close_notify;
  TransportEnd end = TransportEnd::fin;
  std::size_t after_cn = 0;      // junk bytes / forged plaintext bytes after the close_notify
  std::size_t lost_size = 0;     // cut_data: plaintext of the record that is cut
  double cut_at = 0.5;           // where in the cut record (fraction of its size)
  bool early_close = false;      // the victim's close_notify reaches the peer before the peer writes
  CutStyle cuts = CutStyle::mixed;
  double header_cut_p = 0;       // chance of a cut inside each record header
  bool end_with_last_chunk = true;  // "data and EOF in the same read"
  bool fixed_read = true;
  std::size_t read_size = 512;
  bool zero_copy = false;        // input_space()+commit_input() instead of feed()
  std::vector<std::pair<double, std::size_t>> writes;  // the victim's writes: (when, size)
  std::optional<double> close_at;                      // when the victim calls close()
  std::size_t peer_read_size = 16384;
  // TLS 1.3 tickets left unread in the client's queue when the script starts
  // (C7: they come before the first data, also cut by the schedule's reads).
  bool tickets_unread = false;
  double release_p = 0;          // chance of release_buffers() before each transport read
  // Plaintext written before the handshake finished (C7, C10): the victim's
  // is held and sealed when its handshake is done; the peer's rides with
  // (or right after) its last handshake flight, before the script's bytes.
  std::size_t victim_early = 0, peer_early = 0;
  bool second_flight = false;    // cut_handshake: the peer's second flight instead of its first
  bool small_queues = false;     // both inbound and outbound queues at their minimum (one record)
  bool resume = false;           // the client resumes a session an earlier pair of the cell surfaced
  double lazy_p = 0;             // chance that a transport read is not followed by reads
  bool partial_send = false;     // the victim's output is sent a random part at a time
  // The peer's bodies come from the record forge: records of random sizes
  // with what libraries send only rarely mixed in (up to three empty
  // records in a row, warning user_canceled; TLS 1.3: padding, KeyUpdate
  // with and without update_requested, NewSessionTicket to a client).
  bool forged_bodies = false;
};

Plan draw(Rng& rng, TlsVersion version) {
  Plan p;
  p.victim = chance(rng, 0.5) ? Role::client : Role::server;
  std::size_t n_bodies = std::discrete_distribution<std::size_t>({15, 35, 25, 15, 10})(rng);
  for (std::size_t i = 0; i < n_bodies; ++i) {
    // Record-boundary sizes now and then: 16384 fills a record exactly.
    p.bodies.push_back(chance(rng, 0.1) ? record::max_plaintext * uniform(rng, 1, 3) + uniform(rng, 0, 2) - 1
                                        : log_uniform(rng, 1, 100000));
  }
  p.ending = static_cast<Ending>(std::discrete_distribution<int>({20, 12, 12, 14, 12, 18, 12, 8})(rng));
  const TransportEnd after_cn_ends[] = {TransportEnd::fin, TransportEnd::rst, TransportEnd::none};
  switch (p.ending) {
    case Ending::close_notify:
    case Ending::junk_after_cn:
    case Ending::forged_after_cn: p.end = after_cn_ends[uniform(rng, 0, 2)]; break;
    case Ending::fin: p.end = TransportEnd::fin; break;
    case Ending::rst: p.end = TransportEnd::rst; break;
    case Ending::cut_data:
    case Ending::cut_close_notify:
    case Ending::cut_handshake: p.end = chance(rng, 0.5) ? TransportEnd::fin : TransportEnd::rst; break;
  }
  p.after_cn = log_uniform(rng, 1, 40000);
  p.lost_size = log_uniform(rng, 1, record::max_plaintext);
  p.cut_at = std::uniform_real_distribution<double>(0, 1)(rng);
  p.early_close = chance(rng, 0.1);
  if (p.early_close && version == TlsVersion::tls1_2) {
    // RFC 5246 §7.2.1: the peer answers our close_notify at once and writes
    // nothing more, so its stream is its close_notify (or a cut of it) only.
    p.bodies.clear();
    if (p.ending == Ending::cut_data) p.ending = Ending::cut_close_notify;
  }
  p.cuts = static_cast<CutStyle>(std::discrete_distribution<int>({15, 15, 50, 20})(rng));
  p.header_cut_p = std::array{0.0, 0.3, 1.0}[uniform(rng, 0, 2)];
  p.end_with_last_chunk = chance(rng, 0.5);
  p.fixed_read = chance(rng, 0.5);
  p.read_size = log_uniform(rng, 1, 65536);
  p.zero_copy = chance(rng, 0.5);
  std::size_t n_writes = std::discrete_distribution<std::size_t>({40, 30, 20, 10})(rng);
  std::uniform_real_distribution<double> when(0, 1.1);  // past 1: after the transport end
  for (std::size_t i = 0; i < n_writes; ++i) p.writes.push_back({when(rng), log_uniform(rng, 1, 50000)});
  std::sort(p.writes.begin(), p.writes.end());
  if (chance(rng, 0.5)) p.close_at = when(rng);
  p.peer_read_size = log_uniform(rng, 1, 65536);
  p.tickets_unread = chance(rng, 0.5);
  p.small_queues = chance(rng, 0.25);
  p.resume = chance(rng, 0.3);
  p.release_p = std::array{0.0, 0.0, 0.2, 1.0}[uniform(rng, 0, 3)];
  // At most 30000 each: with the handshake they stay below the peer's
  // 64 KiB inbound queue, which MemoryPair's handshake fills without reading.
  if (chance(rng, 0.2)) p.victim_early = log_uniform(rng, 1, 30000);
  if (chance(rng, 0.2)) p.peer_early = log_uniform(rng, 1, 30000);
  p.second_flight = chance(rng, 0.5);
  p.forged_bodies = p.ending != Ending::cut_handshake && chance(rng, 0.25);
  p.lazy_p = std::array{0.0, 0.0, 0.5, 0.9}[uniform(rng, 0, 3)];
  p.partial_send = chance(rng, 0.5);
  for (auto& write : p.writes)
    if (chance(rng, 0.1)) write.second = log_uniform(rng, 50000, 300000);  // more than the outbound queue holds
  return p;
}

std::string describe_plan(const Plan& p) {
  std::string s = std::string(p.victim == Role::client ? "client" : "server") + " reads; bodies [";
  for (std::size_t i = 0; i < p.bodies.size(); ++i) s += (i ? "," : "") + std::to_string(p.bodies[i]);
  s += "], ending " + std::string(ending_name(p.ending)) + " then " + std::string(end_name(p.end));
  if (p.early_close) s += ", our close_notify first";
  if (p.tickets_unread) s += ", tickets unread";
  if (p.small_queues) s += ", minimum queues";
  if (p.resume) s += ", resumed";
  if (p.victim_early) s += ", victim writes " + std::to_string(p.victim_early) + " early";
  if (p.peer_early) s += ", peer writes " + std::to_string(p.peer_early) + " early";
  if (p.ending == Ending::cut_handshake) s += p.second_flight ? ", second flight" : ", first flight";
  if (p.lazy_p > 0) s += ", lazy reads p=" + std::to_string(p.lazy_p);
  if (p.partial_send) s += ", partial sends";
  if (p.forged_bodies) s += ", forged bodies";
  if (p.release_p > 0) s += ", release_buffers p=" + std::to_string(p.release_p);
  s += ", reads " + (p.fixed_read ? std::to_string(p.read_size) : std::string("random")) +
       (p.zero_copy ? ", input_space" : ", feed") + ", " + std::to_string(p.writes.size()) + " writes" +
       (p.close_at ? ", close at " + std::to_string(*p.close_at) : "");
  return s;
}

std::size_t chunk_length(Rng& rng, CutStyle style) {
  switch (style) {
    case CutStyle::whole: return std::size_t{1} << 40;
    case CutStyle::tiny: return uniform(rng, 1, 6);
    case CutStyle::large: return uniform(rng, 1000, 70000);
    case CutStyle::mixed: break;
  }
  switch (uniform(rng, 0, 3)) {
    case 0: return uniform(rng, 1, 6);
    case 1: return uniform(rng, 1, 300);
    case 2: return uniform(rng, 1, 5000);
    default: return uniform(rng, 1, 70000);
  }
}

// The transport reads the wire arrives in.
std::vector<std::span<const std::byte>> chunks(std::span<const std::byte> wire, const Plan& plan, Rng& rng) {
  // Bytewise delivery of a long wire costs seconds and finds nothing a short one does not.
  CutStyle style = plan.cuts == CutStyle::tiny && wire.size() > 40000 ? CutStyle::mixed : plan.cuts;
  std::set<std::size_t> cuts;
  for (std::size_t start : record_starts(wire))
    if (chance(rng, plan.header_cut_p)) cuts.insert(start + uniform(rng, 1, 4));
  for (std::size_t pos = chunk_length(rng, style); pos < wire.size(); pos += chunk_length(rng, style)) cuts.insert(pos);
  std::vector<std::span<const std::byte>> out;
  std::size_t from = 0;
  for (std::size_t to : cuts) {
    if (to <= from || to >= wire.size()) continue;
    out.push_back(wire.subspan(from, to - from));
    from = to;
  }
  if (from < wire.size()) out.push_back(wire.subspan(from));
  return out;
}

// The victim's side of the run: delivery as an event loop does it, C2
// probes, and the victim's own writes and close at the planned moments.
class Victim {
 public:
  Victim(Connection& c, const Plan& plan, Rng& rng) : c_(c), plan_(plan), rng_(rng) {}

  std::vector<std::string> problems;
  Bytes plaintext;
  std::optional<Verdict> verdict;
  int ends_reported = 0;
  // What the last read burst saw: every complete record of the first
  // `processed` wire bytes was read then (C2: a burst ends only when none is
  // left), and the end if `end_processed`. The oracle's model of the
  // victim's state (its verdict, the peer's close_notify) follows these.
  std::size_t fed_total = 0, processed = 0;
  bool end_fed = false, end_processed = false;

  // Feeds one transport read; the end with it if asked (before any read).
  // `read_after`: false for a lazy loop that reads only when the inbound
  // queue is full, leaving records unread for the next moment.
  void feed(std::span<const std::byte> chunk, std::optional<TransportEnd> then_end, bool read_after = true) {
    int stalls = 0;
    while (!chunk.empty()) {
      std::size_t n = take(chunk);
      fed_total += n;
      chunk = chunk.subspan(n);
      if (chunk.empty() && then_end) feed_end(*then_end);
      if (n == 0 && !burst()) {
        if (++stalls > 2) return problem("stall: the inbound queue is full and read() makes no progress");
      } else if (n > 0) {
        stalls = 0;
        if (read_after) burst();
      }
      if (!problems.empty()) return;
    }
    if (then_end && !end_fed) feed_end(*then_end);
    if (read_after) burst();
  }

  void feed_end(TransportEnd end) {
    if (end_fed) return;
    end_fed = true;
    std::error_code e;
    if (end == TransportEnd::fin) e = c_.feed_eof();
    if (end == TransportEnd::rst) e = c_.feed_reset();
    if (e) problem("feeding the transport end was refused: " + e.message());
  }

  // Reads while wants().read_now; then, with read_now false, a probing
  // read() must produce nothing (C2). True if it made progress.
  bool burst() {
    processed = fed_total;
    end_processed = end_fed;
    bool progress = false;
    int idle = 0;
    while (ends_reported == 0 && c_.wants().read_now) {
      if (read_once()) {
        progress = true;
        idle = 0;
      } else if (++idle > 64) {
        problem("read_now stays true but read() makes no progress");
        return progress;
      }
    }
    if (ends_reported == 0 && read_once())
      problem(std::string("C2: wants().read_now was false, yet read() produced ") +
              (ends_reported ? "the verdict" : "plaintext"));
    return progress;
  }

  Connection& connection() { return c_; }

 private:
  void problem(std::string what) { problems.push_back(std::move(what)); }

  std::size_t next_read_size() { return plan_.fixed_read ? plan_.read_size : log_uniform(rng_, 1, 65536); }

  bool read_once() {
    buffer_.resize(next_read_size());
    IoResult r = c_.read(buffer_);
    switch (r.status) {
      case IoStatus::ok:
        if (r.bytes == 0 || r.bytes > buffer_.size()) problem("read() returned ok with " + std::to_string(r.bytes) + " bytes");
        plaintext.insert(plaintext.end(), buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(r.bytes));
        return true;
      case IoStatus::end:
        ++ends_reported;
        verdict = c_.verdict();
        if (!verdict) problem("read() returned end without a verdict");
        return true;
      case IoStatus::refused: problem("read() refused: " + r.error.message()); return true;
      case IoStatus::blocked: return false;
    }
    return false;
  }

  // Hands bytes to the connection as the plan says; how many it took.
  std::size_t take(std::span<const std::byte> chunk) {
    if (plan_.zero_copy) {
      std::span<std::byte> space = c_.input_space();
      // Empty: the queue is full, or the stream has ended (then feed()
      // counts what arrives after close_notify).
      if (!space.empty()) {
        std::size_t n = std::min(space.size(), chunk.size());
        std::memcpy(space.data(), chunk.data(), n);
        // Several commits may share one offer.
        std::size_t first = n > 1 && chance(rng_, 0.3) ? uniform(rng_, 1, n - 1) : n;
        for (std::size_t part : {first, n - first}) {
          if (part == 0) continue;
          if (auto e = c_.commit_input(part)) problem("commit_input refused: " + e.message());
        }
        return n;
      }
      if (!c_.verdict()) return 0;
    }
    IoResult r = c_.feed(chunk);
    if (r.status == IoStatus::refused) {
      problem("feed() refused: " + r.error.message());
      return chunk.size();
    }
    return r.bytes;
  }

  Connection& c_;
  const Plan& plan_;
  Rng& rng_;
  Bytes buffer_;
};

Verdict expected_end(TransportEnd end, std::uint64_t leftover) {
  if (end == TransportEnd::rst) return Reset{leftover, false};
  return Truncated{leftover, false, false};
}

// A NewSessionTicket a client cannot tell from a real one (RFC 8446 §4.6.1),
// as in the catalogue's R25.
Bytes new_session_ticket(int nonce) {
  Bytes body{std::byte{0}, std::byte{0}, std::byte{0x1c}, std::byte{0x20}, std::byte{1}, std::byte{2}, std::byte{3},
             std::byte{4}, std::byte{1}, static_cast<std::byte>(nonce), std::byte{0}, std::byte{32}};
  body.resize(body.size() + 32, static_cast<std::byte>(nonce));
  body.insert(body.end(), {std::byte{0}, std::byte{0}});
  Bytes message{std::byte{4}, std::byte{0}, std::byte{0}, static_cast<std::byte>(body.size())};
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

std::string kind(const std::optional<Verdict>& v) { return v ? std::string(kind_name(*v)) : "none"; }

std::string status_name(IoStatus s) {
  switch (s) {
    case IoStatus::ok: return "ok";
    case IoStatus::blocked: return "blocked";
    case IoStatus::end: return "end";
    case IoStatus::refused: return "refused";
  }
  return "?";
}

}  // namespace

struct SoakCell::Impl {
  const Backend* client_backend = nullptr;
  const Backend* server_backend = nullptr;
  TlsVersion version = TlsVersion::tls1_3;
  // Tickets on, no key log: the connections most programs make.
  std::optional<Context> client, server;
  // For scripts that forge records after close_notify: no tickets (the
  // forge must know the peer's record sequence), key log into the sinks.
  std::optional<Context> forge_client, forge_server;
  // Both queues at the minimum Config allows (one maximum-size record):
  // back-pressure on every large record, compaction on every read.
  std::optional<Context> small_client, small_server;
  // Sessions the normal client context surfaced, for later pairs to resume.
  std::shared_ptr<std::vector<SessionBlob>> sessions = std::make_shared<std::vector<SessionBlob>>();
  std::shared_ptr<std::vector<std::string>> client_keys = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::vector<std::string>> server_keys = std::make_shared<std::vector<std::string>>();

  const Backend& backend(Role role) const { return role == Role::client ? *client_backend : *server_backend; }
  std::optional<std::string> run(std::uint64_t seed, SoakStats& stats);
  std::optional<std::string> run_handshake_cut(MemoryPair& pair, MemoryPair& probe, const Plan& plan, Rng& rng,
                                               SoakStats& stats);
};

SoakCell::SoakCell(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SoakCell::~SoakCell() = default;

Expected<std::unique_ptr<SoakCell>> SoakCell::create(const Backend& client, const Backend& server, TlsVersion version) {
  auto impl = std::make_unique<Impl>();
  impl->client_backend = &client;
  impl->server_backend = &server;
  impl->version = version;
  auto make = [&](Config config, const Backend& backend, std::optional<Context>& into) -> std::optional<Error> {
    auto context = Context::create(std::move(config), backend);
    if (!context) return context.error();
    into.emplace(std::move(*context));
    return std::nullopt;
  };
  Config normal_client = client_config(version);
  normal_client.on_new_session = [sessions = impl->sessions](std::span<const std::byte> blob) {
    if (sessions->size() == 8) sessions->erase(sessions->begin());
    sessions->emplace_back(blob.begin(), blob.end());
  };
  if (auto e = make(std::move(normal_client), client, impl->client)) return *e;
  if (auto e = make(server_config(version), server, impl->server)) return *e;
  Config fc = client_config(version), fs = server_config(version);
  fc.session_tickets = fs.session_tickets = false;
  if (client.exports_secrets(version)) fc.keylog = [keys = impl->client_keys](std::string_view l) { keys->emplace_back(l); };
  if (server.exports_secrets(version)) fs.keylog = [keys = impl->server_keys](std::string_view l) { keys->emplace_back(l); };
  if (auto e = make(std::move(fc), client, impl->forge_client)) return *e;
  if (auto e = make(std::move(fs), server, impl->forge_server)) return *e;
  Config sc = client_config(version), ss = server_config(version);
  sc.inbound_capacity = sc.outbound_capacity = ss.inbound_capacity = ss.outbound_capacity = record::max_record;
  if (auto e = make(std::move(sc), client, impl->small_client)) return *e;
  if (auto e = make(std::move(ss), server, impl->small_server)) return *e;
  return std::unique_ptr<SoakCell>(new SoakCell(std::move(impl)));
}

std::string SoakCell::name() const {
  return std::string(impl_->client_backend->name) + "->" + std::string(impl_->server_backend->name) + " " +
         std::string(to_string(impl_->version));
}

std::string SoakCell::reproducer(std::uint64_t seed) const {
  return "lastbyte-soak --client " + std::string(impl_->client_backend->name) + " --server " +
         std::string(impl_->server_backend->name) + " --version " +
         (impl_->version == TlsVersion::tls1_3 ? "1.3" : "1.2") + " --seed " + std::to_string(seed) + " --pairs 1";
}

std::optional<std::string> SoakCell::run(std::uint64_t seed, SoakStats& stats) {
  std::optional<std::string> problem;
  try {
    problem = impl_->run(seed, stats);
  } catch (const std::exception& e) {
    problem = std::string("harness: ") + e.what();
  }
  ++stats.pairs;
  stats.connections += 2;
  if (!problem) return std::nullopt;
  ++stats.failures;
  return "FAIL " + name() + " seed " + std::to_string(seed) + ": " + *problem + "  reproduce: " + reproducer(seed);
}

std::optional<std::string> SoakCell::Impl::run(std::uint64_t seed, SoakStats& stats) {
  Rng rng(seed);
  Plan plan = draw(rng, version);
  bool tls12 = version == TlsVersion::tls1_2;
  Role peer_role = plan.victim == Role::client ? Role::server : Role::client;
  if (plan.ending == Ending::forged_after_cn && !backend(peer_role).exports_secrets(version)) {
    // Counted, and the stream still gets bytes after close_notify (junk).
    ++stats.unsupported["protected data after close_notify: " + std::string(backend(peer_role).name) +
                        " cannot export " + std::string(to_string(version)) + " secrets (junk sent instead)"];
    plan.ending = Ending::junk_after_cn;
  }
  if (plan.forged_bodies && !backend(peer_role).exports_secrets(version)) {
    ++stats.unsupported["forged bodies: " + std::string(backend(peer_role).name) + " cannot export " +
                        std::string(to_string(version)) + " secrets (real records sent instead)"];
    plan.forged_bodies = false;
  }
  bool forge = plan.ending == Ending::forged_after_cn || plan.forged_bodies;
  // The forge counts the peer's records from the script's start: nothing of
  // the peer's may precede it. A TLS 1.2 peer that saw our close_notify
  // first writes nothing more.
  if (forge || plan.early_close) plan.peer_early = 0;
  if (forge) plan.victim_early = 0;
  ++stats.endings[std::string(ending_name(plan.ending)) + " then " + std::string(end_name(plan.end))];
  if (forge) plan.small_queues = false;
  // Only the normal contexts' sessions: a ticket opens with its server's key.
  if (forge || plan.small_queues || sessions->empty()) plan.resume = false;
  auto context = [&](Role role) -> const Context& {
    if (role == Role::client) return forge ? *forge_client : plan.small_queues ? *small_client : *client;
    return forge ? *forge_server : plan.small_queues ? *small_server : *server;
  };
  ConnectionOptions client_options;
  SessionBlob resumed = plan.resume ? (*sessions)[uniform(rng, 0, sessions->size() - 1)] : SessionBlob{};
  client_options.resume_session = resumed;
  client_keys->clear();
  server_keys->clear();
  auto pair = MemoryPair::create(context(Role::client), context(Role::server), std::move(client_options), client_keys,
                                 server_keys);
  if (!pair) return "setup: " + pair.error().message();
  auto check_resumed = [&]() -> std::optional<std::string> {
    auto info = pair->client().info();
    if (plan.resume && (!info || !info->resumed)) return "the client offered a session of this cell and did not resume";
    return std::nullopt;
  };
  if (plan.ending == Ending::cut_handshake) {
    // A twin of the pair (same contexts, same session) tells where in the
    // peer's flight the victim's handshake ends: a TLS 1.3 server may send
    // its tickets right behind its Finished (GnuTLS does, RFC 8446 §4.6.1),
    // so a cut there is after the handshake.
    ConnectionOptions probe_options{.resume_session = resumed};
    auto probe = MemoryPair::create(context(Role::client), context(Role::server), std::move(probe_options));
    if (!probe) return "setup: " + probe.error().message();
    return run_handshake_cut(*pair, *probe, plan, rng, stats);
  }
  Connection& victim = pair->side(plan.victim);
  Connection& peer = pair->side(peer_role);
  std::string what = " [" + describe_plan(plan) + "]";
  Bytes accepted;     // every byte the victim's write() accepted, in order
  Bytes peer_early;   // what the peer wrote before its handshake finished
  // Before the handshake, write() holds plaintext (up to outbound_capacity):
  // ok with the count it took.
  auto early_write = [&](Connection& c, Bytes data, Bytes& into) -> std::optional<std::string> {
    IoResult r = c.write(data);
    if (r.status != IoStatus::ok || r.bytes == 0 || r.bytes > data.size())
      return "write() before the handshake: " + status_name(r.status) + " " +
             r.error.message();
    into.insert(into.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    return std::nullopt;
  };
  if (plan.victim_early)
    if (auto e = early_write(victim, pattern(7, plan.victim_early), accepted)) return "victim " + *e + what;
  if (plan.peer_early)
    if (auto e = early_write(peer, pattern(5000000, plan.peer_early), peer_early)) return "peer " + *e + what;
  bool early = plan.victim_early || plan.peer_early;
  // Plaintext already on its way: the handshake that reads would take it.
  if (auto error = plan.tickets_unread || early ? pair->handshake_without_reading() : pair->handshake())
    return "handshake: " + *error + what;
  if (auto problem = check_resumed()) return *problem + what;

  std::string failure;
  auto fail = [&](std::string why) {
    if (failure.empty()) failure = std::move(why); else failure += " | " + why;
  };

  // ---- the victim's writes and close, checked against the API's rules ----
  Victim v(victim, plan, rng);
  Bytes victim_wire;       // the victim's output, for the peer at the end
  bool close_effective = false;  // close() queued our close_notify
  std::size_t cn_end = 0;  // where the peer's complete close_notify record ends (0: none)
  // The victim has read the peer's close_notify / reached a verdict.
  auto cn_seen = [&] { return cn_end != 0 && v.processed >= cn_end; };
  auto ended_badly = [&] { return v.end_processed && !cn_seen(); };
  // Sends the victim's output (a random part of it with partial_send): a
  // consume_output() that makes room may seal more (C10).
  auto take_victim_output = [&](bool all = false) {
    for (int round = 0; round < 1000; ++round) {
      auto out = victim.output();
      if (out.empty()) return;
      std::size_t n = all || !plan.partial_send ? out.size() : uniform(rng, 1, out.size());
      victim_wire.insert(victim_wire.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
      if (auto e = victim.consume_output(n)) return fail("consume_output refused: " + e.message());
      if (!all) return;
    }
  };
  auto victim_close = [&] {
    // close() after a verdict other than CloseNotify has nothing left to close.
    bool nothing_to_close = ended_badly();
    if (auto e = victim.close()) fail("close() refused: " + e.message());
    if (!nothing_to_close) close_effective = true;
    take_victim_output();
  };
  auto victim_write = [&](std::size_t size) {
    std::vector<errc> refusals;  // every rule of write() that applies now (connection.hpp)
    if (tls12 && cn_seen()) refusals.push_back(errc::write_after_peer_close_tls12);
    if (close_effective) refusals.push_back(errc::write_after_close);
    // feed_reset() refuses writes at once; the other ends once read.
    if (v.end_fed && plan.end == TransportEnd::rst) refusals.push_back(errc::write_after_reset);
    if (ended_badly()) refusals.push_back(errc::write_after_end);
    Bytes data = pattern(accepted.size() + 7, size);
    std::span<const std::byte> rest(data);
    for (int blocked = 0; !rest.empty();) {
      IoResult r = victim.write(rest);
      if (!refusals.empty()) {
        bool listed = std::any_of(refusals.begin(), refusals.end(),
                                  [&](errc e) { return r.error == make_error_code(e); });
        if (r.status != IoStatus::refused || !listed)
          fail("write() of " + std::to_string(size) + " bytes should have been refused (" +
               make_error_code(refusals.front()).message() + "), got " + status_name(r.status) +
               " " + r.error.message());
        return;
      }
      if (r.status == IoStatus::ok) {
        if (r.bytes == 0 || r.bytes > rest.size()) return fail("write() returned ok with " + std::to_string(r.bytes) + " bytes");
        blocked = 0;
        accepted.insert(accepted.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(r.bytes));
        rest = rest.subspan(r.bytes);
        take_victim_output();
      } else if (r.status == IoStatus::blocked && victim.wants().output && ++blocked <= 2) {
        take_victim_output(true);  // back-pressure: send, then write the rest
      } else {
        return fail("write() of " + std::to_string(size) + " bytes: " + status_name(r.status) +
                    " " + r.error.message() + " after " + std::to_string(size - rest.size()) + " bytes");
      }
    }
  };

  // ---- peer side reading (what the victim sent) ----
  Bytes peer_got;
  bool peer_ended = false;
  std::optional<Verdict> peer_verdict;
  Bytes peer_buffer(plan.peer_read_size);
  auto peer_drain = [&] {
    for (int spins = 0; !peer_ended && spins < 1000000; ++spins) {
      IoResult r = peer.read(peer_buffer);
      if (r.status == IoStatus::ok) {
        peer_got.insert(peer_got.end(), peer_buffer.begin(), peer_buffer.begin() + static_cast<std::ptrdiff_t>(r.bytes));
      } else if (r.status == IoStatus::end) {
        peer_ended = true;
        peer_verdict = peer.verdict();
      } else {
        if (r.status == IoStatus::refused) fail("peer read() refused: " + r.error.message());
        return;
      }
    }
  };
  std::size_t peer_fed = 0;
  auto feed_peer = [&] {
    while (peer_fed < victim_wire.size()) {
      std::size_t piece = std::min(victim_wire.size() - peer_fed, log_uniform(rng, 1, 70000));
      IoResult r = peer.feed(std::span(victim_wire).subspan(peer_fed, piece));
      if (r.status == IoStatus::refused) return fail("peer feed() refused: " + r.error.message());
      peer_fed += r.bytes;
      std::size_t got = peer_got.size();
      bool was_ended = peer_ended;
      peer_drain();
      // A full queue that reading does not empty is a stall (C2/C3), not a wait.
      if (r.bytes == 0 && peer_got.size() == got && peer_ended == was_ended)
        return fail("peer stalls: its inbound queue is full and read() makes no progress");
    }
  };

  if (plan.early_close) {
    victim_close();
    feed_peer();  // the peer reads our close_notify before it writes anything
  }

  // ---- the peer's script ----
  ScriptWriter w(*pair, plan.victim, version);
  // The peer's early plaintext, sealed when its handshake finished, may
  // still wait in its output: it goes first.
  if (plan.peer_early) w.raw(pair->take_output(peer_role));
  if (plan.forged_bodies) {
    Forge& f = w.forge();
    int empty_in_a_row = 0, tickets = 0, warnings = 0;
    // GnuTLS 3.7 ends a TLS 1.3 stream on any alert but close_notify,
    // user_canceled included (docs/divergences.md; the test
    // WarningAlerts.GnuTlsEndsATls13StreamOnUserCanceled keeps this honest).
    bool victim_ignores_user_canceled = tls12 || backend(plan.victim).name != "gnutls";
    for (std::size_t size : plan.bodies)
      for (std::size_t left = size; left > 0;) {
        // What rides between two records.
        if (empty_in_a_row < 3 && chance(rng, 0.05)) {
          w.raw(f.data({}));
          ++empty_in_a_row;
          continue;
        }
        if (!tls12 && chance(rng, 0.03)) w.raw(f.key_update(chance(rng, 0.5) ? 1 : 0));
        // A warning every backend ignores in both versions (RFC 8446 §6.1:
        // not an error), three at most: wolfSSL refuses a connection's fifth
        // alert, counting close_notify, and OpenSSL a fifth warning in a row.
        // Other warnings diverge too: docs/adversarial.md, "Soak".
        if (warnings < 3 && chance(rng, 0.02) && victim_ignores_user_canceled) {
          ++warnings;
          const Bytes user_canceled{std::byte{1}, static_cast<std::byte>(Alert::user_canceled)};
          w.raw(f.record(record::ContentType::alert, user_canceled));
        }
        if (!tls12 && plan.victim == Role::client && chance(rng, 0.03))
          w.raw(f.record(record::ContentType::handshake, new_session_ticket(++tickets)));
        std::size_t n = std::min(left, log_uniform(rng, 1, record::max_plaintext));
        std::size_t padding = !tls12 && chance(rng, 0.2) ? uniform(rng, 0, record::max_plaintext - n) : 0;
        w.raw(f.record(record::ContentType::application_data, w.next_plaintext(n), padding));
        empty_in_a_row = 0;
        left -= n;
      }
  } else {
    for (std::size_t size : plan.bodies) w.data(size);
  }
  Verdict expected = CloseNotify{};
  auto cut_last = [&](std::size_t record_size) {
    std::size_t keep = 1 + static_cast<std::size_t>(plan.cut_at * static_cast<double>(record_size - 2));
    keep = std::min(keep, record_size - 1);
    w.wire().resize(w.record_starts().back() + keep);
    expected = expected_end(plan.end, keep);
  };
  switch (plan.ending) {
    case Ending::close_notify:
      w.close_notify();
      cn_end = w.wire().size();
      break;
    case Ending::junk_after_cn: {
      w.close_notify();
      cn_end = w.wire().size();
      Bytes junk(plan.after_cn);
      for (auto& b : junk) b = static_cast<std::byte>(rng());
      w.raw(junk);
      expected = CloseNotify{junk.size()};
      break;
    }
    case Ending::forged_after_cn:
      w.close_notify();
      cn_end = w.wire().size();
      w.forge();
      w.data(plan.after_cn, true);
      expected = CloseNotify{w.wire().size() - cn_end};
      break;
    case Ending::fin:
    case Ending::rst: expected = expected_end(plan.end, 0); break;
    case Ending::cut_data: {
      std::size_t records = w.record_starts().size();
      w.data(plan.lost_size, true);
      if (w.record_starts().size() != records + 1) return "harness: a write of " + std::to_string(plan.lost_size) +
                                                            " bytes made more than one record" + what;
      cut_last(w.wire().size() - w.record_starts().back());
      break;
    }
    case Ending::cut_close_notify:
      w.close_notify();
      cut_last(w.wire().size() - w.record_starts().back());
      break;
    case Ending::cut_handshake: return "harness: a handshake cut reached the script" + what;
  }
  w.end(plan.end);
  Script script = w.finish();
  script.plaintext.insert(script.plaintext.begin(), peer_early.begin(), peer_early.end());

  // ---- delivery, with the victim's writes and close at their moments ----
  auto reads = chunks(script.wire, plan, rng);
  std::size_t next_write = 0;
  auto act = [&](double now) {
    // Frees both queues if the victim is idle; they must come back as needed.
    if (plan.release_p > 0 && chance(rng, plan.release_p)) {
      bool idle = victim.output().empty();
      if (victim.release_buffers() && !idle) fail("release_buffers() freed a queue that held output");
    }
    while (next_write < plan.writes.size() && plan.writes[next_write].first <= now)
      victim_write(plan.writes[next_write++].second);
    if (plan.close_at && *plan.close_at <= now && !plan.early_close) {
      victim_close();
      plan.close_at.reset();
    }
  };
  for (std::size_t i = 0; i < reads.size() && v.problems.empty(); ++i) {
    act(static_cast<double>(i) / static_cast<double>(reads.size()));
    bool last = i + 1 == reads.size();
    v.feed(reads[i], last && plan.end_with_last_chunk ? std::optional(plan.end) : std::nullopt,
           !chance(rng, plan.lazy_p));
  }
  if (!v.end_fed) v.feed_end(plan.end);
  v.burst();
  act(2.0);  // whatever is left happens after the end
  if (tls12 && cn_seen()) close_effective = true;  // RFC 5246 §7.2.1: the core answered it
  take_victim_output(true);

  // ---- the victim's oracle: bytes and verdict ----
  for (const auto& p : v.problems) fail("victim: " + p);
  if (plan.end == TransportEnd::none && cn_end == 0) return "harness: a stream without end or close_notify" + what;
  if (auto at = first_difference(script.plaintext, v.plaintext))
    fail("victim bytes: expected " + std::to_string(script.plaintext.size()) + ", got " +
         std::to_string(v.plaintext.size()) + ", first difference at offset " + std::to_string(*at));
  if (v.ends_reported != 1) fail("victim: read() reported the end " + std::to_string(v.ends_reported) + " times");
  // The verdict as it stands now: bytes after close_notify keep being counted.
  const auto& final_verdict = victim.verdict();
  if (!final_verdict || !same_verdict(expected, *final_verdict))
    fail("victim verdict: expected " + describe(expected) + ", got " + (final_verdict ? describe(*final_verdict) : "none"));

  // ---- the peer's oracle: every accepted byte, then our close (or not) ----
  feed_peer();
  if (!peer_ended) {
    if (auto e = peer.feed_eof(); e && e != make_error_code(errc::input_after_transport_end))
      fail("peer feed_eof refused: " + e.message());
    peer_drain();
  }
  auto at = first_difference(accepted, peer_got);
  // C10 (docs/decisions.md, "The write side"): plaintext write() accepted
  // that could never be sealed (the transport was reset, the session failed
  // or its handshake never finished) is missing only as a tail, and exactly
  // as much as Connection::unsent() says.
  const auto& ended_with = victim.verdict();
  bool cannot_send = plan.end == TransportEnd::rst || !victim.wants().handshake_done ||
                     (ended_with && !std::holds_alternative<CloseNotify>(*ended_with) &&
                      !std::holds_alternative<Truncated>(*ended_with));
  bool held_tail_dropped = at && *at == peer_got.size() && cannot_send &&
                           accepted.size() - peer_got.size() == victim.unsent();
  if (held_tail_dropped)
    ++stats.questions["bytes write() accepted, never sealed because the connection could no longer send (counted by unsent())"];
  else if (at)
    fail("peer bytes: the victim's write() accepted " + std::to_string(accepted.size()) + ", the peer got " +
         std::to_string(peer_got.size()) + ", first difference at offset " + std::to_string(*at));
  // Our close_notify follows the bytes write() accepted (C10): when some of
  // them could never be sealed, neither could it (seeds 20551 and 20922 of
  // a 3,000-pair run: TLS 1.2, the peer's close_notify answered behind 16 KB
  // of held plaintext a minimum-size queue could not seal before the RST).
  bool close_sent = close_effective && !(held_tail_dropped && victim.unsent() > 0);
  Verdict peer_expected = close_sent ? Verdict{CloseNotify{}} : Verdict{Truncated{0, false, false}};
  const auto& peer_final = peer.verdict();
  if (!peer_ended || !peer_final || !same_verdict(peer_expected, *peer_final))
    fail("peer verdict: expected " + describe(peer_expected) + ", got " + (peer_final ? describe(*peer_final) : "none"));

  ++stats.verdicts[kind(final_verdict)];
  ++stats.peer_verdicts[kind(peer_final)];
  stats.bytes += static_cast<long long>(v.plaintext.size() + peer_got.size());
  if (failure.empty()) return std::nullopt;
  return failure + what;
}

// The peer's first (or second) handshake flight cut at a random offset,
// then FIN or RST: Truncated/Reset with the incomplete record's bytes as the
// leftover, during_handshake as the victim's handshake stood (a TLS 1.3
// client's "second flight" is the server's tickets: cut after its handshake).
namespace {

// Runs the handshake up to the flight the plan cuts and takes that flight;
// a problem if the handshake failed before it.
std::optional<std::string> flight_to_cut(MemoryPair& pair, const Plan& plan, Bytes& flight) {
  Role peer_role = plan.victim == Role::client ? Role::server : Role::client;
  // Connection::create put the ClientHello in the client's output.
  if (plan.victim == Role::client || plan.second_flight) {
    pair.transfer(Role::client);
    pair.server().handshake();
  }
  if (plan.second_flight) {
    pair.transfer(Role::server);
    pair.client().handshake();
    if (plan.victim == Role::client) {
      pair.transfer(Role::client);
      pair.server().handshake();
    }
  }
  for (Role role : {Role::client, Role::server})
    if (const auto& v = pair.side(role).verdict()) return "handshake: " + describe(*v);
  flight = pair.take_output(peer_role);
  return std::nullopt;
}

// How many of the flight's records the victim needs to finish its
// handshake, fed one whole record at a time (SIZE_MAX: all do not suffice);
// a problem if the probe could not tell.
std::optional<std::string> records_to_finish(MemoryPair& probe, const Plan& plan, std::size_t& needed) {
  Bytes flight;
  if (auto problem = flight_to_cut(probe, plan, flight)) return "probe " + *problem;
  Connection& victim = probe.side(plan.victim);
  std::vector<std::size_t> starts = record_starts(flight);
  needed = SIZE_MAX;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    std::size_t end = i + 1 < starts.size() ? starts[i + 1] : flight.size();
    auto record = std::span(flight).subspan(starts[i], end - starts[i]);
    if (IoResult r = victim.feed(record); r.status != IoStatus::ok || r.bytes != record.size())
      return "probe: feed() refused a record of the flight";
    victim.handshake();
    if (victim.wants().handshake_done) {
      needed = i + 1;
      break;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> SoakCell::Impl::run_handshake_cut(MemoryPair& pair, MemoryPair& probe, const Plan& plan,
                                                             Rng& rng, SoakStats& stats) {
  std::string what = " [" + describe_plan(plan) + "]";
  Bytes flight;
  if (auto problem = flight_to_cut(pair, plan, flight)) return *problem + what;
  std::size_t needed = 0;
  if (auto problem = records_to_finish(probe, plan, needed)) return *problem + what;
  Connection& victim = pair.side(plan.victim);
  std::size_t keep = flight.size() < 2 ? 0
                                       : std::min(flight.size() - 1,
                                                  1 + static_cast<std::size_t>(plan.cut_at * static_cast<double>(flight.size() - 2)));
  flight.resize(keep);
  std::size_t leftover = keep == 0 ? 0 : keep - record_starts(flight).back();
  if (auto starts = record_starts(flight); !starts.empty()) {
    // A cut exactly at a record boundary leaves only complete records.
    auto header = record::parse_header(std::span(flight).subspan(starts.back()));
    if (header && header->record_size() == keep - starts.back()) leftover = 0;
  }
  std::size_t whole_records = record_starts(flight).size() - (leftover > 0 ? 1 : 0);
  bool during = !victim.wants().handshake_done && whole_records < needed;
  Verdict expected = plan.end == TransportEnd::rst ? Verdict{Reset{leftover, during}}
                                                   : Verdict{Truncated{leftover, during, false}};
  Victim v(victim, plan, rng);
  auto reads = chunks(flight, plan, rng);
  for (std::size_t i = 0; i < reads.size() && v.problems.empty(); ++i) {
    bool last = i + 1 == reads.size();
    v.feed(reads[i], last && plan.end_with_last_chunk ? std::optional(plan.end) : std::nullopt);
  }
  v.feed_end(plan.end);
  v.burst();
  std::string failure;
  for (const auto& p : v.problems) failure += "victim: " + p + "; ";
  if (!v.plaintext.empty()) failure += "victim read " + std::to_string(v.plaintext.size()) + " bytes of a handshake; ";
  if (v.ends_reported != 1) failure += "read() reported the end " + std::to_string(v.ends_reported) + " times; ";
  const auto& got = victim.verdict();
  if (!got || !same_verdict(expected, *got))
    failure += "victim verdict: expected " + describe(expected) + (during ? " during the handshake" : "") + ", got " +
               (got ? describe(*got) : "none") + "; ";
  ++stats.verdicts[kind(got) + (during ? " (handshake)" : "")];
  if (failure.empty()) return std::nullopt;
  return failure + "flight of " + std::to_string(keep) + " bytes kept" + what;
}

}  // namespace lastbyte::conformance
