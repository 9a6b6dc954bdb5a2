// Native mode's measurements: the simulated socket, a pair whose victim is a
// library session, the application's reads.
#include "observe.hpp"

#include "certificates.hpp"  // the V rows' certificates (harness/src)

#include <lastbyte/engine/record.hpp>
#include <lastbyte/testing/pki.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace lastbyte::conformance::native {

// ---- Socket -------------------------------------------------------------------

Socket::Receive Socket::receive(std::span<std::byte> out) {
  ++receive_calls_;
  if (unread() > 0 && !out.empty()) {
    std::size_t n = std::min(out.size(), unread());
    std::memcpy(out.data(), arrived_.data() + consumed_, n);
    consumed_ += n;
    return {.bytes = n, .answer = Answer::data};
  }
  if (end_ == TransportEnd::fin) return {.answer = Answer::eof};
  if (end_ == TransportEnd::rst) return {.answer = Answer::reset};
  if (zero_when_empty_) {
    if (++zeros_in_a_row_ <= zero_limit) return {.answer = Answer::zero};
    spun_ = true;
  }
  return {.answer = Answer::would_block};
}

std::span<const std::byte> Socket::take_sent() {
  std::span<const std::byte> out = std::span(sent_).subspan(sent_taken_);
  sent_taken_ = sent_.size();
  return out;
}

std::string series(std::string_view version) {
  // The first "digits.digits" in the string.
  for (std::size_t i = 0; i < version.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(version[i]))) continue;
    std::size_t j = i;
    while (j < version.size() && std::isdigit(static_cast<unsigned char>(version[j]))) ++j;
    if (j + 1 < version.size() && version[j] == '.' && std::isdigit(static_cast<unsigned char>(version[j + 1]))) {
      std::size_t k = j + 1;
      while (k < version.size() && std::isdigit(static_cast<unsigned char>(version[k]))) ++k;
      return std::string(version.substr(i, k - i));
    }
    i = j;
  }
  return std::string(version);
}

namespace {

void feed_all(Connection& c, std::span<const std::byte> bytes) {
  while (!bytes.empty()) {
    auto r = c.feed(bytes);
    if (r.bytes == 0) throw std::runtime_error("the peer refused input: " + r.error.message());
    bytes = bytes.subspan(r.bytes);
  }
}

std::shared_ptr<std::vector<std::string>> capture_keylog(Config& config, const Backend& backend) {
  auto lines = std::make_shared<std::vector<std::string>>();
  if (backend.exports_secrets(config.max_version))
    config.keylog = [lines](std::string_view line) { lines->emplace_back(line); };
  return lines;
}

// The victim is the library's own session; the peer a lastbyte Connection.
class NativePair final : public ScriptPair {
 public:
  NativePair(const Library& library, const Options& options, const Backend& peer_backend, Config peer_config)
      : victim_role_(options.role) {
    keys_ = capture_keylog(peer_config, peer_backend);
    auto context = Context::create(std::move(peer_config), peer_backend);
    if (!context) throw std::runtime_error("peer: " + context.error().message());
    auto connection = Connection::create(*context);
    if (!connection) throw std::runtime_error("peer: " + connection.error().message());
    peer_.emplace(std::move(*connection));
    session_ = library.create(options, socket_);
  }

  Connection& peer() override { return *peer_; }
  Bytes take_peer_output() override {
    auto out = peer_->output();
    Bytes bytes(out.begin(), out.end());
    peer_->consume_output(out.size());
    peer_wire_.insert(peer_wire_.end(), bytes.begin(), bytes.end());
    return bytes;
  }
  const std::vector<std::string>& peer_keylog() const override { return *keys_; }
  std::span<const std::byte> server_wire() const override {
    return victim_role_ == Role::server ? std::span<const std::byte>(socket_.sent()) : std::span<const std::byte>(peer_wire_);
  }
  void victim_close() override { session_->shutdown(); }

  Socket& socket() { return socket_; }
  Session& session() { return *session_; }

  // Whole flights both ways until both handshakes are done; nullopt, or why
  // not. `result` receives how the library's handshake ended.
  std::optional<std::string> handshake(Result& result) {
    bool done = false;
    for (int round = 0; round < 32; ++round) {
      if (!done) {
        result = session_->handshake();
        if (result.kind == Result::Kind::data) done = true;
        if (result.kind == Result::Kind::other) return "the library's handshake failed: " + result.code;
      }
      feed_all(*peer_, socket_.take_sent());
      peer_->handshake();
      if (peer_->verdict()) return "the peer failed the handshake: " + describe(*peer_->verdict());
      socket_.arrive(take_peer_output());
      if (done && peer_->wants().handshake_done) return std::nullopt;  // tickets: settle() delivers them
    }
    return "the handshake did not finish";
  }

  // Tickets and last flights, delivered and read on both sides, so that the
  // script starts on a quiet connection (as MemoryPair::handshake() does).
  std::optional<std::string> settle() {
    std::byte buffer[256];
    for (int round = 0; round < 2; ++round) {
      socket_.arrive(take_peer_output());
      for (int i = 0; i < 16; ++i) {
        Result r = session_->read(buffer);
        if (r.kind == Result::Kind::data) return "unexpected plaintext right after the handshake";
        if (r.kind == Result::Kind::would_block) break;
        return "the library ended right after the handshake: " + r.code;
      }
      feed_all(*peer_, socket_.take_sent());
      while (peer_->wants().read_now) {
        auto r = peer_->read(buffer);
        if (r.status != IoStatus::blocked) return "the peer read something right after the handshake";
      }
    }
    if (socket_.unread() != 0) return "the library left handshake bytes unread";
    return std::nullopt;
  }

 private:
  Role victim_role_;
  Socket socket_;
  std::unique_ptr<Session> session_;
  std::optional<Connection> peer_;
  Bytes peer_wire_;
  std::shared_ptr<std::vector<std::string>> keys_;
};

Options victim_options(TlsVersion version, Role role) {
  const auto& pki = testing::test_pki();
  return {.role = role, .version = version, .verify = Verify::chain_and_name, .server_name = "server.test",
          .ca_pem = pki.ca.cert_pem, .cert_pem = pki.server.cert_pem, .key_pem = pki.server.key_pem};
}

// The sizes of the records in `bytes` (what the library sent, whole records).
std::vector<std::size_t> record_sizes(std::span<const std::byte> bytes) {
  std::vector<std::size_t> sizes;
  if (bytes.empty()) return sizes;
  auto starts = record_starts(bytes);
  for (std::size_t i = 0; i < starts.size(); ++i)
    sizes.push_back((i + 1 < starts.size() ? starts[i + 1] : bytes.size()) - starts[i]);
  return sizes;
}

// The application's side: after every transport read, read until the
// library would block, or until it repeats an end without progress (the
// repeat is how "what happens after the end" is measured).
class Reader {
 public:
  Reader(NativePair& pair, std::size_t read_size, std::size_t base)
      : pair_(pair), buffer_(read_size), base_(base) {}

  void burst(Observation& o) {
    Socket& socket = pair_.socket();
    for (int i = 0; i < 4096; ++i) {
      std::size_t hooks = socket.receive_calls(), consumed = socket.consumed();
      socket.begin_call();
      Call call{.result = pair_.session().read(buffer_)};
      if (call.result.kind == Result::Kind::data)
        o.plaintext.insert(o.plaintext.end(), buffer_.begin(), buffer_.begin() + static_cast<long>(call.result.bytes));
      call.hook_calls = socket.receive_calls() - hooks;
      call.pending = pair_.session().pending();
      call.consumed = socket.consumed() - base_;
      call.delivered = o.plaintext.size();
      call.progress = socket.consumed() != consumed || call.result.kind == Result::Kind::data;
      // A level-triggered loop calls again while the socket is readable
      // (bytes left, or its end): "would block" then is the library's word
      // against the socket's, and is kept.
      if (call.result.kind == Result::Kind::would_block && socket.ended() != TransportEnd::none && socket.unread() == 0)
        call.result.code += socket.ended() == TransportEnd::fin ? " (at EOF)" : " (after the reset)";
      else if (call.result.kind == Result::Kind::would_block && socket.unread() > 0)
        call.result.code += " (socket still readable)";
      call.readable = socket.unread() > 0 || socket.ended() != TransportEnd::none;
      bool repeat = !o.calls.empty() && !call.progress && o.calls.back().result.kind != Result::Kind::data &&
                    o.calls.back().result.code == call.result.code;
      o.calls.push_back(call);
      if (call.result.kind == Result::Kind::would_block && !call.readable) return;
      if (call.result.kind != Result::Kind::data && repeat) return;
    }
  }

 private:
  NativePair& pair_;
  Bytes buffer_;
  std::size_t base_;
};

Config peer_config(TlsVersion version, Role peer_role, bool tickets) {
  Config config = peer_role == Role::client ? client_config(version) : server_config(version);
  config.session_tickets = tickets;
  return config;
}

}  // namespace

Observation observe_stream(const Library& library, const StreamRun& run, const Backend& peer) {
  Observation o;
  if (!library.supports(run.version)) {
    o.status = Observation::Status::unsupported;
    o.note = std::string(to_string(run.version)) + " unsupported by this library (" + library.version() + ")";
    return o;
  }
  const auto* read = std::get_if<ReadScript>(&run.scenario->body);
  if (!read || !read->handshake_first) {
    o.status = Observation::Status::not_run;
    o.note = "the row drives both Connections itself";
    return o;
  }
  try {
    Role peer_role = run.victim == Role::client ? Role::server : Role::client;
    NativePair pair(library, victim_options(run.version, run.victim), peer,
                    peer_config(run.version, peer_role, !read->uses_forge));
    Result handshake;
    if (auto error = pair.handshake(handshake)) throw std::runtime_error(*error);
    if (auto error = pair.settle()) throw std::runtime_error(*error);
    Socket& socket = pair.socket();
    std::size_t base = socket.consumed(), sent_base = socket.sent().size();
    int sessions_before = pair.session().sessions_surfaced();

    auto info = pair.peer().info();
    if (auto sealing = info ? record::sealing(info->version == TlsVersion::tls1_3, info->cipher) : std::nullopt) {
      o.alert_record_size = record::header_size + sealing->overhead() + 2;
      if (info->version == TlsVersion::tls1_3) o.key_update_record_size = record::header_size + sealing->overhead() + 5;
    }
    ScriptWriter writer(pair, run.victim, run.version);
    read->build(writer);
    o.script = writer.finish();

    socket.set_zero_when_empty(run.zero_hook);
    Reader reader(pair, run.read_size, base);
    auto reads = cut(o.script.wire, run.schedule);
    for (std::size_t i = 0; i < reads.size(); ++i) {
      socket.arrive(reads[i]);
      if (i + 1 == reads.size()) socket.end(o.script.end);
      reader.burst(o);
    }
    if (reads.empty()) {
      socket.end(o.script.end);
      reader.burst(o);
    }
    o.spun = socket.spun();
    o.sessions = pair.session().sessions_surfaced() - sessions_before;
    std::size_t sent_reading = socket.sent().size();
    o.sent_reading = record_sizes(std::span(socket.sent()).subspan(sent_base));
    if (run.write_after) {
      const std::byte one[] = {std::byte{'x'}};
      o.write_after = pair.session().write(one);
      o.records_for_write = record_sizes(std::span(socket.sent()).subspan(sent_reading)).size();
    }
  } catch (const std::logic_error& e) {  // the row needs what a native victim is not (ScriptWriter::pair())
    o.status = Observation::Status::not_run;
    o.note = e.what();
  } catch (const std::exception& e) {
    o.status = Observation::Status::not_run;
    o.note = std::string("setup: ") + e.what();
  }
  return o;
}

Observation observe_certificate(const Library& library, std::string_view id, Verify verify, TlsVersion version,
                                const Backend& peer) {
  Observation o;
  if (!library.supports(version)) {
    o.status = Observation::Status::unsupported;
    o.note = std::string(to_string(version)) + " unsupported by this library (" + library.version() + ")";
    return o;
  }
  try {
    detail::CertificateCase presented = detail::certificate_case(id);
    Options options = victim_options(version, Role::client);
    options.verify = verify;
    options.server_name = presented.name;
    Config server = server_config(version);
    server.cert_chain_pem = presented.chain_pem;
    server.private_key_pem = presented.key_pem;
    NativePair pair(library, options, peer, std::move(server));
    auto error = pair.handshake(o.handshake);
    if (error && o.handshake.kind != Result::Kind::other) o.handshake = {.code = *error};
    o.verification = pair.session().verification();
  } catch (const std::exception& e) {
    o.status = Observation::Status::not_run;
    o.note = std::string("setup: ") + e.what();
  }
  return o;
}

}  // namespace lastbyte::conformance::native
