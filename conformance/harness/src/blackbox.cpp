// Black-box mode, client side (X01-X15): the harness-server, the command
// runner and the judge. Server side (Y01-Y04): blackbox_server.cpp.
#include <lastbyte/conformance/blackbox.hpp>
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/forge.hpp>
#include <lastbyte/socket_driver.hpp>
#include <lastbyte/testing/pki.hpp>

#include "rows.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <variant>

namespace lastbyte::conformance::blackbox {

using namespace std::chrono_literals;

std::string_view to_string(Framing framing) {
  switch (framing) {
    case Framing::length: return "length";
    case Framing::close: return "close";
    case Framing::chunked: return "chunked";
  }
  return "?";
}

std::string_view to_string(Status status) {
  switch (status) {
    case Status::pass: return "pass";
    case Status::fail: return "fail";
    case Status::unsupported: return "unsupported";
  }
  return "?";
}

// ---- the rows -----------------------------------------------------------------

namespace {

constexpr Framing every_framing[] = {Framing::length, Framing::close, Framing::chunked};
const std::vector<Framing> all_framings(std::begin(every_framing), std::end(every_framing));

const std::vector<ClientRow>& client_table() {
  static const std::vector<ClientRow> table = {
      {.id = "X01", .title = "body with Content-Length, close_notify, FIN", .framings = {Framing::length}},
      {.id = "X02", .title = "close-delimited body (HTTP/1.0), close_notify, FIN", .framings = {Framing::close}},
      {.id = "X03", .title = "chunked body, last chunk, close_notify, FIN", .framings = {Framing::chunked}},
      {.id = "X04", .title = "close-delimited body cut after half, FIN without close_notify",
       .framings = {Framing::close}},
      {.id = "X05", .title = "Content-Length body cut after half, FIN without close_notify",
       .framings = {Framing::length}},
      {.id = "X06", .title = "chunked body cut before the last chunk, FIN without close_notify",
       .framings = {Framing::chunked}},
      {.id = "X07", .title = "whole Content-Length body, FIN without close_notify", .framings = {Framing::length}},
      {.id = "X08", .title = "last record cut in half, FIN", .framings = all_framings},
      {.id = "X09", .title = "whole body, RST right after the last record", .framings = all_framings},
      {.id = "X10", .title = "whole body + close_notify + FIN in one segment right after the headers",
       .framings = all_framings},
      {.id = "X11", .title = "TLS 1.3: tickets and a KeyUpdate between the body's records",
       .framings = all_framings, .tls13_only = true, .uses_forge = true},
      {.id = "X12", .title = "3 empty records between body records", .framings = all_framings, .uses_forge = true},
      {.id = "X13", .title = "a record with a bad tag in the middle of the body", .framings = all_framings,
       .uses_forge = true},
      {.id = "X14", .title = "data record after close_notify", .framings = all_framings, .uses_forge = true},
      {.id = "X15", .title = "certificate for another name / from an untrusted root", .framings = {Framing::length},
       .wrong_certificate = true},
      // Issue 19: the rows that close the judge's blind spots. X16: every
      // other close_notify row is followed by a FIN milliseconds later, so a
      // client that ignores close_notify and waits for the FIN passed them.
      {.id = "X16", .title = "close-delimited body, close_notify, the transport open 3 s more before the FIN",
       .framings = {Framing::close}},
      {.id = "X17", .title = "half the body, a fatal alert (internal_error), FIN", .framings = all_framings,
       .uses_forge = true},
      {.id = "X18", .title = "TLS 1.3: half the body, a warning-level internal_error alert, the rest, close_notify",
       .framings = all_framings, .tls13_only = true, .uses_forge = true},
      {.id = "X19", .title = "half a close-delimited body, a plaintext (unprotected) close_notify, FIN",
       .framings = {Framing::close}},
  };
  return table;
}

std::string_view certificate_name(ClientCell::Certificate c) {
  return c == ClientCell::Certificate::other_name ? "other-name" : "untrusted-root";
}

std::string_view version_tag(TlsVersion v) { return v == TlsVersion::tls1_3 ? "tls13" : "tls12"; }

std::vector<std::string> split(std::string_view text, char by) {
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    auto end = text.find(by, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::span<const ClientRow> client_rows() { return client_table(); }

std::string ClientCell::name() const {
  std::string variant(row->wrong_certificate ? certificate_name(certificate) : to_string(framing));
  return std::string(row->id) + "_" + std::string(version_tag(version)) + "_" + variant + "_" +
         std::string(backend->name);
}

std::string_view ClientCell::detected_by() const {
  std::string_view id = row->id;
  if (row->wrong_certificate) return "certificate";
  bool cut = id == "X04" || id == "X05" || id == "X06" || id == "X08" || id == "X17" || id == "X19";
  if (cut) return framing == Framing::close ? "TLS only" : "HTTP framing";
  // The whole body arrives, then an error only TLS reports (X13, X18), or
  // the clean end is close_notify alone (X16).
  if (id == "X13" || id == "X18" || id == "X16") return "TLS only";
  return "clean end";
}

std::string ClientCell::expectation_key() const {
  std::string variant(row->wrong_certificate ? certificate_name(certificate) : to_string(framing));
  return std::string(row->id) + " " + std::string(version_tag(version)) + " " + variant;
}

std::optional<ClientCell> ClientCell::parse(std::string_view name) {
  auto parts = split(name, '_');
  if (parts.size() != 4) return std::nullopt;
  auto found = find_backend(parts[3], installed_backends());
  if (!found) return std::nullopt;
  for (const ClientCell& cell : client_cells(**found))
    if (cell.name() == name) return cell;
  return std::nullopt;
}

std::vector<ClientCell> client_cells(const Backend& backend) {
  std::vector<ClientCell> cells;
  for (const ClientRow& row : client_table())
    for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
      if (row.tls13_only && version != TlsVersion::tls1_3) continue;
      if (row.wrong_certificate) {
        for (auto c : {ClientCell::Certificate::other_name, ClientCell::Certificate::untrusted_root})
          cells.push_back({.row = &row, .version = version, .certificate = c, .backend = &backend});
        continue;
      }
      for (Framing framing : row.framings)
        cells.push_back({.row = &row, .version = version, .framing = framing, .backend = &backend});
    }
  return cells;
}

// ---- the workspace --------------------------------------------------------------

namespace {

// Printable and position-dependent: a dropped, repeated or reordered line
// shows in a comparison, and a reproducer's output can be read.
Bytes make_body(std::size_t size) {
  std::string text;
  text.reserve(size + 64);
  for (std::size_t line = 0; text.size() < size; ++line) {
    char buf[80];
    int n = std::snprintf(buf, sizeof buf, "lastbyte body line %06zu: the end of a TLS stream matters.........\n",
                          line);
    text.append(buf, static_cast<std::size_t>(n));
  }
  text.resize(size);
  if (size) text.back() = '\n';
  Bytes out(size);
  std::memcpy(out.data(), text.data(), size);
  return out;
}

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

void write_file(const std::filesystem::path& path, std::string_view text) {
  write_file(path, std::as_bytes(std::span(text)));
}

}  // namespace

Expected<Workspace> Workspace::create(std::size_t body_size, bool keep, bool docroot) {
  std::string templ = (std::filesystem::temp_directory_path() / "lastbyte-blackbox-XXXXXX").string();
  if (!::mkdtemp(templ.data()))
    return Error{make_error_code(errc::io_error), "mkdtemp " + templ + ": " + std::strerror(errno)};
  Workspace w;
  w.dir_ = templ;
  w.keep_ = keep;
  w.body_ = make_body(body_size);
  try {
    const auto& pki = testing::test_pki();
    write_file(w.cafile(), pki.ca.cert_pem);
    write_file(w.certfile(), pki.server.cert_pem);
    write_file(w.keyfile(), pki.server.key_pem);
    std::filesystem::create_directory(w.docroot());
    // Only what a server under test serves: a client command must print
    // what it received, not find the body on disk.
    if (docroot) write_file(w.docroot() / "body", w.body_);
  } catch (const std::exception& e) {
    return Error{make_error_code(errc::io_error), e.what()};
  }
  return w;
}

Workspace::Workspace(Workspace&& other) noexcept
    : dir_(std::exchange(other.dir_, {})), body_(std::move(other.body_)), keep_(other.keep_) {}

Workspace::~Workspace() {
  std::error_code ignored;
  if (!dir_.empty() && !keep_) std::filesystem::remove_all(dir_, ignored);
}

// ---- running a command ----------------------------------------------------------

std::string CommandResult::describe() const {
  if (timed_out) return "still running at the deadline (killed)";
  if (exit_code < 0) return "killed by signal " + std::to_string(-exit_code);
  return "exit " + std::to_string(exit_code);
}

namespace {
std::atomic<pid_t> running_group[2] = {0, 0};  // the client command, the server command
}  // namespace

void register_program(int slot, pid_t group) noexcept { running_group[slot] = group; }

void kill_running_programs() noexcept {
  for (auto& group : running_group)
    if (pid_t g = group.exchange(0); g > 0) ::kill(-g, SIGKILL);
}

CommandResult run_command(const std::string& command, std::chrono::milliseconds timeout,
                          const std::filesystem::path& cwd) {
  CommandResult result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]), ::close(out[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::string dir = cwd.string();
  pid_t pid = ::fork();
  if (pid == 0) {  // only async-signal-safe calls until exec
    ::setpgid(0, 0);
    int null = ::open("/dev/null", O_RDONLY);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out[1], 1) < 0 || ::dup2(err[1], 2) < 0) ::_exit(126);
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]), ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]), ::close(err[0]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  ::setpgid(pid, pid);  // also here: whichever runs first
  register_program(0, pid);
  auto deadline = net::after(timeout);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_pipes = 2;
  char buf[65536];
  while (open_pipes > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - net::Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(std::min<long long>(left, 100))) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        if (i == 0) {
          if (result.out.size() < (std::size_t{64} << 20))
            result.out.insert(result.out.end(), reinterpret_cast<std::byte*>(buf),
                              reinterpret_cast<std::byte*>(buf) + n);
        } else {
          result.err.append(buf, static_cast<std::size_t>(n));
          if (result.err.size() > 8192) result.err.erase(0, result.err.size() - 4096);
        }
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_pipes;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  // The command may have closed its output and still run: the deadline
  // holds for its exit too.
  int status = 0;
  for (bool exited = false; !exited && !result.timed_out;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    exited = done == pid || (done < 0 && errno != EINTR);
    if (!exited && net::Clock::now() >= deadline) result.timed_out = true;
    else if (!exited) std::this_thread::sleep_for(5ms);
  }
  // Whatever the command started goes with it: nothing is left running.
  ::kill(-pid, SIGKILL);
  register_program(0, 0);
  if (result.timed_out)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  ::kill(-pid, SIGKILL);
  if (result.timed_out) result.exit_code = -SIGKILL;
  else if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_code = -WTERMSIG(status);
  if (result.err.size() > 4096) result.err.erase(0, result.err.size() - 4096);
  return result;
}

Expected<std::string> substitute(std::string_view text,
                                 const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      out += text[i++];
      continue;
    }
    auto close = text.find('}', i);
    std::string_view key = close == std::string_view::npos ? text.substr(i) : text.substr(i + 1, close - i - 1);
    auto found = std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == key; });
    if (close == std::string_view::npos || found == values.end()) {
      std::string known;
      for (const auto& [name, value] : values) known += " {" + name + "}";
      return Error{make_error_code(errc::invalid_config),
                   "unknown placeholder \"" + std::string(text.substr(i, close == std::string_view::npos
                                                                              ? std::string_view::npos
                                                                              : close - i + 1)) +
                       "\" in the command (known:" + known + ")"};
    }
    out += found->second;
    i = close + 1;
  }
  return out;
}

std::optional<std::string> check_placeholders(std::string_view command, std::span<const std::string_view> known) {
  std::vector<std::pair<std::string, std::string>> values;
  for (std::string_view name : known) values.emplace_back(name, "");
  auto filled = substitute(command, values);
  if (!filled) return filled.error().detail;
  return std::nullopt;
}

namespace {

std::vector<std::pair<std::string, std::string>> client_placeholders(std::uint16_t port, const Workspace& w) {
  std::string p = std::to_string(port);
  const std::array<std::string, client_placeholder_names.size()> values = {
      "https://127.0.0.1:" + p + "/body", "127.0.0.1", p, "/body", "server.test", w.cafile().string()};
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.emplace_back(client_placeholder_names[i], values[i]);
  return out;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// ---- the response -------------------------------------------------------------

struct Response {
  Bytes head;
  Bytes framed;  // the body as framed on the wire
  const Bytes* body;
  Framing framing;
  std::size_t last_chunk = 0;  // chunked: where "0\r\n\r\n" starts in `framed`
  std::vector<std::pair<std::size_t, std::size_t>> chunks;  // chunked: (offset of the data in `framed`, size)

  // Body bytes within the first `n` bytes of `framed`.
  std::size_t body_within(std::size_t n) const {
    if (framing != Framing::chunked) return std::min(n, body->size());
    std::size_t body_bytes = 0;
    for (auto [offset, size] : chunks)
      if (n > offset) body_bytes += std::min(size, n - offset);
    return body_bytes;
  }
};

Bytes as_bytes(std::string_view text) {
  auto b = std::as_bytes(std::span(text));
  return {b.begin(), b.end()};
}

Response make_response(Framing framing, const Bytes& body) {
  Response r{.head = {}, .framed = {}, .body = &body, .framing = framing, .chunks = {}};
  switch (framing) {
    case Framing::length:
      r.head = as_bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
      r.framed = body;
      break;
    case Framing::close:
      r.head = as_bytes("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
      r.framed = body;
      break;
    case Framing::chunked: {
      r.head = as_bytes("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                        "Connection: close\r\n\r\n");
      constexpr std::size_t chunk = 4096;
      for (std::size_t at = 0; at < body.size(); at += chunk) {
        std::size_t n = std::min(chunk, body.size() - at);
        char size_line[16];
        int len = std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
        Bytes line = as_bytes(std::string_view(size_line, static_cast<std::size_t>(len)));
        r.framed.insert(r.framed.end(), line.begin(), line.end());
        r.chunks.emplace_back(r.framed.size(), n);
        r.framed.insert(r.framed.end(), body.begin() + static_cast<std::ptrdiff_t>(at),
                        body.begin() + static_cast<std::ptrdiff_t>(at + n));
        r.framed.insert(r.framed.end(), {std::byte{'\r'}, std::byte{'\n'}});
      }
      r.last_chunk = r.framed.size();
      Bytes last = as_bytes("0\r\n\r\n");
      r.framed.insert(r.framed.end(), last.begin(), last.end());
      break;
    }
  }
  return r;
}

}  // namespace

// ---- the harness-server ---------------------------------------------------------

namespace {

// What the server saw of the program under test.
struct Served {
  bool connected = false;
  bool handshake_done = false;
  bool request_read = false;
  std::string problem;  // the harness's own failure (its setup, the forge)
  std::string client_end;  // how the client ended before the response, if it did
  // The client's ClientHello does not offer the cell's version: the cell
  // fails (--version / --program-backend say what a program speaks).
  std::optional<std::string> version_not_offered;
  bool client_hello = false;  // the client started a TLS handshake
  bool client_reset = false;  // it closed its socket with response bytes unread
  std::size_t request_bytes = 0;  // application data it sent
  // The expected output's prefix the client may print (X13: what precedes
  // the bad record), in framed-body bytes.
  std::optional<std::size_t> framed_limit;
  // X16: the client was done (closed its side, or exited) while the
  // harness still held the transport open after its close_notify.
  bool done_before_fin = false;
};

Config server_config_for(const ClientCell& cell) {
  Config config = server_config(cell.version);
  config.session_tickets = false;  // the forge counts every record the server sent
  const auto& pki = testing::test_pki();
  if (cell.row->wrong_certificate) {
    if (cell.certificate == ClientCell::Certificate::other_name) {
      auto leaf = testing::issue(pki.ca, {.common_name = "other.test", .dns_names = {"other.test"}});
      config.cert_chain_pem = leaf.cert_pem;
      config.private_key_pem = leaf.key_pem;
    } else {
      auto root = testing::make_root("lastbyte untrusted root");
      auto leaf = testing::issue(root, {.common_name = "server.test",
                                        .dns_names = {"server.test", "localhost"},
                                        .ip_addresses = {"127.0.0.1", "::1"}});
      config.cert_chain_pem = leaf.cert_pem + root.cert_pem;
      config.private_key_pem = leaf.key_pem;
    }
  }
  return config;
}

// One server connection, live over the socket: the handshake and the
// request as they come, then the response built whole (real records, and
// forged ones) and sent in the row's segments.
class LiveServer {
 public:
  LiveServer(net::Socket socket, Connection connection, TlsVersion version,
             std::shared_ptr<std::vector<std::string>> keys, const std::atomic<bool>& stop)
      : socket_(std::move(socket)), conn_(std::move(connection)), version_(version), keys_(std::move(keys)),
        stop_(stop) {
    int one = 1;
    ::setsockopt(socket_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  std::optional<std::string> handshake(net::Deadline deadline) {
    for (;;) {
      IoResult r = conn_.handshake();
      if (auto e = flush(deadline)) return e;
      if (r.status == IoStatus::ok) break;
      if (r.status == IoStatus::end) return "the handshake failed: " + describe_end();
      if (auto e = receive(deadline)) return e;
    }
    handshake_done_ = true;
    return std::nullopt;
  }

  std::optional<std::string> read_request(net::Deadline deadline) {
    std::string request;
    std::byte buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      IoResult r = conn_.read(buf);
      if (auto e = flush(deadline)) return e;
      if (r.status == IoStatus::ok) {
        request.append(reinterpret_cast<const char*>(buf), r.bytes);
        request_bytes_ = request.size();
        if (request.size() > 65536) return "the request head exceeds 64 KiB";
        continue;
      }
      if (r.status == IoStatus::end) return "the client ended before its request was complete: " + describe_end();
      if (auto e = receive(deadline)) return e;
    }
    return std::nullopt;
  }

  // Plaintext in records: real ones until the forge is first used.
  void plain(std::span<const std::byte> bytes) {
    if (forge_) {
      while (!bytes.empty()) {
        std::size_t n = std::min(bytes.size(), record::max_plaintext);
        append(forge_->data(bytes.first(n)));
        bytes = bytes.subspan(n);
      }
      return;
    }
    while (!bytes.empty()) {
      IoResult r = conn_.write(bytes);
      if (r.status != IoStatus::ok) throw std::runtime_error("the harness-server cannot write: " + r.error.message());
      bytes = bytes.subspan(r.bytes);
      take_output();
    }
    take_output();
  }
  void close_notify() {
    if (forge_) {
      const std::byte warning_close_notify[] = {std::byte{1}, std::byte{0}};
      return append(forge_->record(record::ContentType::alert, warning_close_notify));
    }
    if (auto e = conn_.close()) throw std::runtime_error("the harness-server cannot close: " + e.message());
    take_output();
  }
  Forge& forge() {
    if (forge_) return *forge_;
    auto info = conn_.info();
    if (!info) throw std::runtime_error("forge: " + info.error().message());
    std::uint64_t first_seq = (version_ == TlsVersion::tls1_2 ? 1 : 0) + records_;  // TLS 1.2: Finished was 0
    auto forge = Forge::create(version_, info->cipher, Role::server, *keys_, server_wire_, first_seq);
    if (!forge) throw std::runtime_error("forge: " + forge.error().message());
    return forge_.emplace(std::move(*forge));
  }
  void append(std::span<const std::byte> record) { pending_.insert(pending_.end(), record.begin(), record.end()); }
  // The last record waiting to be sent loses its second half.
  void cut_last_record() {
    auto starts = conformance::record_starts(pending_);
    if (starts.empty()) throw std::logic_error("no record to cut");
    std::size_t last = starts.back();
    pending_.resize(last + (pending_.size() - last) / 2);
  }
  // What is pending goes out in one send().
  void segment() {
    if (!pending_.empty()) segments_.push_back(std::exchange(pending_, {}));
  }
  // What the client sent first (its ClientHello, if it got that far).
  std::span<const std::byte> client_wire() const { return client_wire_; }

  // `coalesced`: the last segment and the FIN leave together (TCP_CORK
  // until after shutdown); otherwise 5 ms between segments and before
  // the FIN, so that each arrives on its own.
  // `hold`: after the last segment the transport stays open (X16) until
  // the client is done (done_before_fin()), or until it has read every byte
  // we sent, close_notify included, and then `hold` passed without it being
  // done; then the FIN.
  void send_and_end(TransportEnd end, net::Deadline deadline, bool coalesced = false,
                    std::chrono::milliseconds hold = {}) {
    // A FIN that came before the response (a client that half-closed after
    // its request) says nothing about the close_notify: only its exit then
    // counts as done.
    bool half_closed_before = hold.count() > 0 && peer_half_closed();
    segment();
    int on = 1, off = 0;
    for (std::size_t i = 0; i < segments_.size(); ++i) {
      bool last = i + 1 == segments_.size();
      if (coalesced && last) ::setsockopt(socket_.fd(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
      if (!send_all(segments_[i], deadline)) client_reset_ = true;
      if (!coalesced) std::this_thread::sleep_for(5ms);
    }
    if (hold.count() > 0) done_before_fin_ = wait_for_client_done(hold, deadline, half_closed_before);
    if (end == TransportEnd::rst) {
      wait_until_acknowledged(net::after(5s));
      net::set_linger_reset(socket_);
      socket_ = net::Socket();
      return;
    }
    ::shutdown(socket_.fd(), SHUT_WR);
    if (coalesced) ::setsockopt(socket_.fd(), IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    // Until the client closes (or exits): closing with its close_notify
    // unread would send it an RST. A client that closes with our bytes
    // unread sends us one: it cannot have read to the end.
    char sink[4096];
    for (;;) {
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) {
        if (stop_ || net::Clock::now() >= deadline) break;
        continue;
      }
      ssize_t n = ::recv(socket_.fd(), sink, sizeof sink, 0);
      if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) client_reset_ = true;
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
    }
  }
  bool client_reset() const { return client_reset_; }
  bool done_before_fin() const { return done_before_fin_; }
  std::size_t request_bytes() const { return request_bytes_; }

 private:
  std::string describe_end() const {
    auto v = conn_.verdict();
    return v ? describe(*v) : "no verdict";
  }
  void take_output() {
    auto out = conn_.output();
    records_ += conformance::record_starts(out).size();
    append(out);
    if (auto e = conn_.consume_output(out.size())) throw std::runtime_error("consume_output: " + e.message());
  }
  // Sends the handshake's and reads' output as it comes (kept: the forge
  // reads the TLS 1.2 server random from it).
  std::optional<std::string> flush(net::Deadline deadline) {
    auto out = conn_.output();
    if (out.empty()) return std::nullopt;
    server_wire_.insert(server_wire_.end(), out.begin(), out.end());
    if (handshake_done_) records_ += conformance::record_starts(out).size();  // the forge's sequence numbers
    if (!send_all(out, deadline)) return "the client stopped reading during the handshake";
    if (auto e = conn_.consume_output(out.size())) return "consume_output: " + e.message();
    return std::nullopt;
  }
  std::optional<std::string> receive(net::Deadline deadline) {
    if (!inbox_.empty()) {
      std::size_t before = inbox_.size();
      if (auto e = feed_inbox()) return e;
      if (inbox_.size() < before) return std::nullopt;
      return "the harness-server's inbound queue is full and nothing reads it";
    }
    if (!wants_input_) return "the harness-server is blocked with the transport ended";
    for (;;) {  // what the client sent before it exited is still read
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) break;
      if (stop_) return "the client exited";
      if (net::Clock::now() >= deadline) return "the client sent nothing more before the deadline";
    }
    std::byte buf[16384];
    ssize_t n = ::recv(socket_.fd(), buf, sizeof buf, 0);
    if (n == 0 || n < 0) {
      wants_input_ = false;
      if (n == 0) conn_.feed_eof();
      else conn_.feed_reset();
      return std::nullopt;
    }
    inbox_.insert(inbox_.end(), buf, buf + n);
    if (client_wire_.size() < 65536) client_wire_.insert(client_wire_.end(), buf, buf + n);
    return feed_inbox();
  }
  // What the queue cannot take yet stays here until the next read made room.
  std::optional<std::string> feed_inbox() {
    IoResult r = conn_.feed(inbox_);
    if (r.status != IoStatus::ok) return "feed: " + r.error.message();
    inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(r.bytes));
    return std::nullopt;
  }
  bool send_all(std::span<const std::byte> bytes, net::Deadline deadline) {
    while (!bytes.empty() && net::Clock::now() < deadline) {
      ssize_t n = ::send(socket_.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes = bytes.subspan(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      pollfd p{socket_.fd(), POLLOUT, 0};
      ::poll(&p, 1, 20);
    }
    return bytes.empty();
  }
  // True once the client closes its side of the connection (what it sends
  // before that, its own close_notify, is read and dropped; not when it had
  // half-closed before) or its command exits. False once the client has
  // read every byte we sent (nothing left in our send queue nor in its
  // socket's receive queue) and `hold` passed since, or at `deadline`. The
  // clock starts when the client has read the close_notify, not when we
  // sent it: a correct client that reads slowly (curl --limit-rate) is not
  // failed for its pace.
  bool wait_for_client_done(std::chrono::milliseconds hold, net::Deadline deadline, bool half_closed_before) {
    char sink[4096];
    std::optional<net::Clock::time_point> read_all_since;
    while (net::Clock::now() < deadline) {
      if (stop_) return true;
      bool read_all = unsent_bytes() == 0 && client_unread_bytes().value_or(0) == 0;
      if (!read_all) read_all_since.reset();
      else if (!read_all_since) read_all_since = net::Clock::now();
      else if (net::Clock::now() - *read_all_since >= hold) return false;
      if (half_closed_before) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      pollfd p{socket_.fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(socket_.fd(), sink, sizeof sink, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
    }
    return false;
  }
  // The client's FIN is already here (MSG_PEEK: nothing is consumed).
  bool peer_half_closed() {
    pollfd p{socket_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 5) <= 0) return false;
    char byte;
    return ::recv(socket_.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  int unsent_bytes() const {
    int queued = 0;
    return ::ioctl(socket_.fd(), SIOCOUTQ, &queued) == 0 ? queued : 0;
  }
  // What the client's own socket has received and its program not read
  // yet: on loopback the kernel shows both ends (/proc/net/tcp, rx_queue of
  // the socket whose local address is our peer's). nullopt if not found.
  std::optional<long> client_unread_bytes() const {
    sockaddr_in peer{}, self{};
    socklen_t length = sizeof peer;
    if (::getpeername(socket_.fd(), reinterpret_cast<sockaddr*>(&peer), &length) != 0 || peer.sin_family != AF_INET)
      return std::nullopt;
    length = sizeof self;
    if (::getsockname(socket_.fd(), reinterpret_cast<sockaddr*>(&self), &length) != 0) return std::nullopt;
    char local[32], remote[32];
    std::snprintf(local, sizeof local, "%08X:%04X", peer.sin_addr.s_addr, ntohs(peer.sin_port));
    std::snprintf(remote, sizeof remote, "%08X:%04X", self.sin_addr.s_addr, ntohs(self.sin_port));
    std::ifstream table("/proc/net/tcp");
    std::string line;
    while (std::getline(table, line)) {
      std::istringstream fields(line);
      std::string slot, l, r, state, queues;
      if (!(fields >> slot >> l >> r >> state >> queues) || l != local || r != remote) continue;
      auto colon = queues.find(':');
      if (colon == std::string::npos) return std::nullopt;
      return std::strtol(queues.c_str() + colon + 1, nullptr, 16);
    }
    return std::nullopt;
  }
  void wait_until_acknowledged(net::Deadline deadline) {
    while (unsent_bytes() > 0 && net::Clock::now() < deadline) std::this_thread::sleep_for(1ms);
  }

  net::Socket socket_;
  Connection conn_;
  TlsVersion version_;
  std::shared_ptr<std::vector<std::string>> keys_;
  const std::atomic<bool>& stop_;
  Bytes server_wire_;
  std::uint64_t records_ = 0;  // records sent under the application keys
  std::optional<Forge> forge_;
  Bytes pending_;
  std::vector<Bytes> segments_;
  Bytes inbox_;
  Bytes client_wire_;
  bool wants_input_ = true;
  bool handshake_done_ = false;
  bool client_reset_ = false;
  bool done_before_fin_ = false;
  std::size_t request_bytes_ = 0;
};

// The versions a ClientHello offers (RFC 8446 §4.1.2, §4.2.1): the
// supported_versions extension, or else legacy_version. nullopt if the
// bytes are not a ClientHello in one record.
std::optional<std::vector<std::uint16_t>> offered_versions(std::span<const std::byte> wire) {
  auto u8 = [&](std::size_t at) { return at < wire.size() ? std::to_integer<std::size_t>(wire[at]) : 0; };
  auto u16 = [&](std::size_t at) { return u8(at) << 8 | u8(at + 1); };
  if (wire.size() < 9 || u8(0) != 22 || u8(5) != 1) return std::nullopt;
  // A ClientHello over more than one record (or not all here): no verdict.
  if (u16(3) > wire.size() - 5 || (u8(6) << 16 | u16(7)) + 4 > u16(3)) return std::nullopt;
  std::size_t end = 5 + u16(3);
  std::size_t at = 9;
  std::uint16_t legacy = static_cast<std::uint16_t>(u16(at));
  at += 2 + 32;
  at += 1 + u8(at);   // session id
  at += 2 + u16(at);  // cipher suites
  at += 1 + u8(at);   // compression methods
  if (at + 2 > end) return std::vector<std::uint16_t>{legacy};
  std::size_t extensions_end = std::min(end, at + 2 + u16(at));
  for (at += 2; at + 4 <= extensions_end; at += 4 + u16(at + 2)) {
    if (u16(at) != 43) continue;  // supported_versions
    std::vector<std::uint16_t> versions;
    for (std::size_t v = at + 5; v + 2 <= std::min(extensions_end, at + 5 + u8(at + 4)); v += 2)
      versions.push_back(static_cast<std::uint16_t>(u16(v)));
    return versions;
  }
  return std::vector<std::uint16_t>{legacy};
}

std::optional<std::string> version_not_offered(std::span<const std::byte> client_wire, TlsVersion version) {
  auto offered = offered_versions(client_wire);
  if (!offered) return std::nullopt;
  auto wanted = static_cast<std::uint16_t>(version);
  // legacy_version alone (no supported_versions): it and everything below.
  bool legacy_only = offered->size() == 1 && (*offered)[0] <= 0x0303;
  if (legacy_only ? wanted <= (*offered)[0] : std::find(offered->begin(), offered->end(), wanted) != offered->end())
    return std::nullopt;
  std::string list;
  for (auto v : *offered) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%04x", v);
    list += (list.empty() ? "" : " ") + std::string(v == 0x0304 ? "TLS 1.3" : v == 0x0303 ? "TLS 1.2" : hex);
  }
  return "the client does not offer " + std::string(to_string(version)) + " (its ClientHello offers " + list + ")";
}

// X16: how long the transport stays open after the close_notify. A client
// that finishes on the close_notify is done in milliseconds.
constexpr auto x16_hold = 3000ms;

// The row's script over an established connection with the request read.
// Returns what the client may print of the framed body on a failing row
// (X13), or nullopt.
std::optional<std::size_t> respond(LiveServer& s, const ClientCell& cell, const Response& r, net::Deadline deadline) {
  std::span<const std::byte> framed(r.framed);
  std::size_t half = framed.size() / 2;
  auto first_half = framed.first(half), second_half = framed.subspan(half);
  std::string_view id = cell.row->id;
  std::optional<std::size_t> limit;
  TransportEnd end = TransportEnd::fin;
  s.plain(r.head);
  s.segment();  // the headers in a segment of their own (X10's race)
  if (id == "X01" || id == "X02" || id == "X03" || id == "X15") {
    s.plain(framed);
    s.segment();  // the body, close_notify and the FIN apart
    s.close_notify();
  } else if (id == "X10") {
    s.plain(framed);
    s.close_notify();
    s.send_and_end(TransportEnd::fin, deadline, /*coalesced=*/true);
    return std::nullopt;
  } else if (id == "X04" || id == "X05") {
    s.plain(first_half);
  } else if (id == "X06") {
    s.plain(framed.first(r.last_chunk));
  } else if (id == "X07") {
    s.plain(framed);
  } else if (id == "X08") {
    s.plain(framed);
    s.cut_last_record();
  } else if (id == "X09") {
    s.plain(framed);
    end = TransportEnd::rst;
  } else if (id == "X11") {
    s.plain(first_half);
    s.append(s.forge().record(record::ContentType::handshake, detail::new_session_ticket(1)));
    s.append(s.forge().record(record::ContentType::handshake, detail::new_session_ticket(2)));
    s.append(s.forge().key_update(0));
    s.plain(second_half);
    s.close_notify();
  } else if (id == "X12") {
    s.plain(first_half);
    for (int i = 0; i < 3; ++i) s.append(s.forge().data({}));
    s.plain(second_half);
    s.close_notify();
  } else if (id == "X13") {
    s.plain(first_half);
    std::size_t bad = std::min<std::size_t>(4096, second_half.size());
    Bytes record = s.forge().data(second_half.first(bad));
    record.back() ^= std::byte{0x01};  // the last byte of the tag
    s.append(record);
    s.plain(second_half.subspan(bad));
    s.close_notify();
    limit = half;
  } else if (id == "X16") {
    s.plain(framed);
    s.segment();
    s.close_notify();
    s.send_and_end(TransportEnd::fin, deadline, /*coalesced=*/false, x16_hold);
    return std::nullopt;
  } else if (id == "X17") {
    s.plain(first_half);
    s.append(s.forge().alert(Alert::internal_error));
  } else if (id == "X18") {
    // RFC 8446 §6.2: every alert but close_notify and user_canceled is an
    // error whatever its level; a client that reads on past it prints bytes
    // of a stream that ended in an error.
    s.plain(first_half);
    const std::byte warning_internal_error[] = {std::byte{1}, static_cast<std::byte>(Alert::internal_error)};
    s.append(s.forge().record(record::ContentType::alert, warning_internal_error));
    s.plain(second_half);
    s.close_notify();
    limit = half;
  } else if (id == "X19") {
    // The truncation attack dressed as a clean end: anyone on the path can
    // write this record.
    s.plain(first_half);
    const std::byte plaintext_close_notify[] = {std::byte{21}, std::byte{3}, std::byte{3}, std::byte{0},
                                                std::byte{2},  std::byte{1}, std::byte{0}};
    s.append(plaintext_close_notify);
  } else if (id == "X14") {
    s.plain(framed);
    s.forge();  // the close_notify and what follows it are forged
    s.close_notify();
    s.plain(as_bytes("BYTES AFTER CLOSE_NOTIFY: a client must never print these\n"));
  } else {
    throw std::logic_error("no script for " + std::string(id));
  }
  s.send_and_end(end, deadline);
  return limit;
}

// The next connection, or an empty socket at the deadline or on `stop`.
net::Socket accept_one(const net::Socket& listener, net::Deadline deadline, const std::atomic<bool>& stop) {
  while (!stop && net::Clock::now() < deadline) {
    auto accepted = net::accept_tcp(listener, std::min(deadline, net::after(50ms)));
    if (accepted) return std::move(*accepted);
  }
  return {};
}

// Serves one accepted connection (none: the client never connected) the way
// the cell's row says.
Served serve_one(const ClientCell& cell, const Context& context, net::Socket socket,
                 std::shared_ptr<std::vector<std::string>> keys, const Response& response, net::Deadline deadline,
                 const std::atomic<bool>& stop) {
  Served served;
  if (!socket) return served;
  served.connected = true;
  auto connection = Connection::create(context);
  if (!connection) {
    served.problem = "Connection::create: " + connection.error().message();
    return served;
  }
  try {
    LiveServer server(std::move(socket), std::move(*connection), cell.version, std::move(keys), stop);
    auto handshake = server.handshake(deadline);
    // A handshake record first: the client started TLS (its ClientHello may
    // span records, which offered_versions() does not read).
    served.client_hello = !server.client_wire().empty() && server.client_wire()[0] == std::byte{22};
    if (handshake) {
      served.client_end = *handshake;
      served.version_not_offered = version_not_offered(server.client_wire(), cell.version);
      return served;
    }
    served.handshake_done = true;
    if (auto e = server.read_request(deadline)) {
      served.client_end = *e;
      served.request_bytes = server.request_bytes();
      return served;
    }
    served.request_read = true;
    served.framed_limit = respond(server, cell, response, deadline);
    served.done_before_fin = server.done_before_fin();
    served.client_reset = server.client_reset();
  } catch (const std::exception& e) {
    served.problem = e.what();
  }
  return served;
}

struct CellServer {
  Context context;
  std::shared_ptr<std::vector<std::string>> keys = std::make_shared<std::vector<std::string>>();
};

// Unsupported (a reason) or the context the cell's server runs with.
std::variant<std::string, CellServer> prepare(const ClientCell& cell) {
  if (!cell.backend->supports(cell.version))
    return std::string(to_string(cell.version)) + " unsupported by this library (" + cell.backend->library_version() +
           ")";
  if (cell.row->uses_forge && !cell.backend->exports_secrets(cell.version))
    return "the record forge needs the server's " + std::string(to_string(cell.version)) +
           " traffic secrets, which this library build cannot export (" + cell.backend->library_version() + ")";
  Config config = server_config_for(cell);
  auto keys = std::make_shared<std::vector<std::string>>();
  if (cell.row->uses_forge) config.keylog = [keys](std::string_view line) { keys->emplace_back(line); };
  auto context = Context::create(config, *cell.backend);
  if (!context) throw std::runtime_error("the harness-server's Context: " + context.error().message());
  return CellServer{.context = std::move(*context), .keys = keys};
}

std::string show(std::span<const std::byte> bytes, std::size_t max = 60) {
  std::string out;
  for (std::byte b : bytes.first(std::min(bytes.size(), max))) {
    auto c = static_cast<unsigned char>(b);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out + (bytes.size() > max ? "..." : "");
}

std::string last_line(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  auto nl = t.rfind('\n');
  t = nl == std::string::npos ? t : t.substr(nl + 1);
  return t.size() > 200 ? t.substr(0, 200) + "..." : t;
}

Judgement judge(const ClientCell& cell, const Response& response, ClientOutput mode, const CommandResult& run,
                const Served& served) {
  // `kind`: the failure's class, stable across runs and wordings, which an
  // expectations file records ("fail:accepted-truncation") so that a
  // recorded failure is not satisfied by another one (never connecting).
  auto fail = [&](std::string_view kind, std::string why) {
    why += "\n  the client: " + run.describe() + ", " + std::to_string(run.out.size()) + " bytes on stdout";
    if (!run.err.empty()) why += "; stderr ends: " + last_line(run.err);
    return Judgement{.status = Status::fail, .message = why, .kind = std::string(kind)};
  };
  if (!served.problem.empty()) return fail("harness", "harness: " + served.problem);
  Bytes expected = mode == ClientOutput::body ? *response.body : response.head;
  if (mode == ClientOutput::response) expected.insert(expected.end(), response.framed.begin(), response.framed.end());
  const Bytes& out = run.out;
  bool whole = out == expected;
  if (run.timed_out) return fail("hangs", "the client did not finish within the timeout (a client waiting for more after "
                                 "the transport ended hangs its user)");
  if (!served.connected) return fail("never-connected", "the client never connected");
  // Not a pass, not "unsupported": a program that stops offering a version
  // must fail its record. --version or --program-backend says what it speaks.
  if (served.version_not_offered) return fail("version-not-offered", *served.version_not_offered);
  if (cell.row->wrong_certificate) {
    if (served.request_read) return fail("accepted-bad-certificate", "the client accepted the certificate and sent its request");
    if (!served.client_hello) return fail("no-tls", "the client never started a TLS handshake");
    // Finishing the handshake is allowed (curl checks the name after it);
    // sending data over it is trusting the certificate.
    if (served.request_bytes > 0)
      return fail("data-under-bad-certificate", "the client sent " + std::to_string(served.request_bytes) +
                  " bytes of application data under a certificate it cannot have verified");
    if (run.success()) return fail("success-under-bad-certificate", "the client exited 0 although it could not have verified the server");
    if (!out.empty()) return fail("printed-under-bad-certificate", "the client printed " + std::to_string(out.size()) + " bytes: " + show(out));
    return {Status::pass, "refused: " + served.client_end};
  }
  // The same words on every row (X15 used them alone): a plaintext client
  // or one that never spoke read as "the handshake failed: truncated".
  if (!served.client_hello) return fail("no-tls", "the client never started a TLS handshake");
  if (!served.request_read)
    return fail("no-response", "the client did not get to the response (" +
                (served.client_end.empty() ? std::string("no request") : served.client_end) + ")");
  if (auto at = first_difference(std::span(expected).first(std::min(expected.size(), out.size())),
                                 std::span(out).first(std::min(expected.size(), out.size()))))
    return fail("wrong-bytes", "stdout differs from what the server sent at byte " + std::to_string(*at) + ": \"" +
                show(std::span(out).subspan(*at)) + "\"");
  if (out.size() > expected.size())
    return fail("extra-bytes", "the client printed " + std::to_string(out.size() - expected.size()) +
                " bytes the server never sent as the body: \"" + show(std::span(out).subspan(expected.size())) + "\"");
  std::string got = std::to_string(out.size()) + " of " + std::to_string(expected.size()) + " bytes, " + run.describe();
  std::string_view id = cell.row->id;
  // X17 (a fatal alert) and X19 (a plaintext close_notify): the stream did
  // not end cleanly; what came before is all the client may print.
  bool truncated = id == "X04" || id == "X05" || id == "X06" || id == "X08" || id == "X17" || id == "X19";
  if (truncated) {
    // An RST means the client closed with bytes unread, so it cannot have
    // read to the end it judged; but X17's and X19's last record is the
    // error itself, which a TLS stack may reject from its header alone
    // (curl's OpenSSL does, on X19) and leave unread: not a sign there.
    bool ends_in_a_bad_record = id == "X17" || id == "X19";
    if (served.client_reset && !run.success() && !ends_in_a_bad_record)
      return fail("closed-unread", "the client closed its socket with response bytes unread (RST): it cannot have judged the end");
    if (run.success())
      return fail("accepted-truncation", "a truncated response accepted as complete: exit 0 with " + std::to_string(out.size()) + " of " +
                  std::to_string(expected.size()) + " bytes" +
                  (whole ? " (every body byte arrived, but not the end of the framing)" : ""));
    return {Status::pass, "failed as it must: " + got};
  }
  if (id == "X09") {
    if (run.success() && !whole) return fail("short-after-reset", "a short body with success after a reset");
    return {Status::pass, got};
  }
  if (id == "X13" || id == "X18") {
    std::size_t limit = mode == ClientOutput::body ? response.body_within(served.framed_limit.value_or(0))
                                                   : response.head.size() + served.framed_limit.value_or(0);
    if (out.size() > limit)
      return fail("printed-after-error", "printed " + std::to_string(out.size() - limit) + " bytes from the bad record or after it");
    if (run.success())
      return fail("success-after-error", id == "X13" ? "exit 0 after a record that failed authentication"
                              : "exit 0 after an error alert (a non-closure alert of level warning is an error in "
                                "TLS 1.3)");
    return {Status::pass, "failed as it must: " + got};
  }
  // The clean rows, and X07 (the length frames it).
  if (!whole) return fail("short-body", "a short body: " + got);
  // A TLS client that does not read HTTP cannot know the length framed it;
  // an HTTP client that fails on the missing close_notify after printing
  // the whole framed body is strict, not wrong: it never took a cut body
  // as whole (lastbyte-client --require-close-notify; docs/decisions.md).
  if (id == "X07" && !run.success()) return {Status::pass, got + " (a strict client: the body was whole)"};
  if (!run.success()) return fail("failed-whole-body", "the whole body arrived but the client failed: " + got);
  if (id == "X16" && !served.done_before_fin)
    return fail("waited-for-fin", "the client had read the close_notify that ended the body and was still "
                                  "waiting " + std::to_string(x16_hold.count() / 1000) +
                                  " s later: it finished only at the FIN (it treats close_notify as nothing)");
  return {Status::pass, got};
}

}  // namespace

std::string client_reproducer(const ClientCell& cell, const ClientOptions& options, std::size_t body_size) {
  return "lastbyte-conformance --serve " + cell.name() + " --client-cmd " + shell_quote(options.command) +
         (options.output == ClientOutput::response ? " --client-output response" : "") +
         (body_size != 100000 ? " --body-size " + std::to_string(body_size) : "");
}

Judgement run_client_cell(const ClientCell& cell, const ClientOptions& options, const Workspace& workspace) {
  try {
    auto prepared = prepare(cell);
    if (auto* why = std::get_if<std::string>(&prepared)) return {Status::unsupported, *why};
    auto& server = std::get<CellServer>(prepared);
    auto listener = net::listen_tcp("127.0.0.1", 0);
    if (!listener) return {Status::fail, "harness: listen: " + listener.error().message(), "harness"};
    std::uint16_t port = *net::local_port(*listener);
    auto command = substitute(options.command, client_placeholders(port, workspace));
    if (!command) return {Status::fail, command.error().detail, "harness"};
    Response response = make_response(cell.framing, workspace.body());
    std::atomic<bool> stop = false;
    Served served;
    auto deadline = net::after(options.timeout + 2s);
    // The listener is closed as soon as the cell's one connection is
    // accepted: a client that retries (wget after a truncation, a client
    // after a certificate failure) meets a refused connection and is judged
    // on what it did, instead of waiting in the listen backlog until the
    // cell's timeout and being failed as a hang (issue 19).
    std::thread thread([&] {
      net::Socket socket = accept_one(*listener, deadline, stop);
      *listener = net::Socket();
      served = serve_one(cell, server.context, std::move(socket), server.keys, response, deadline, stop);
    });
    CommandResult run;
    try {
      run = run_command(*command, options.timeout);  // in the caller's directory
    } catch (...) {
      stop = true;
      thread.join();
      throw;
    }
    stop = true;
    thread.join();
    Judgement j = judge(cell, response, options.output, run, served);
    if (j.status == Status::fail) j.message += "\n  reproduce: " + client_reproducer(cell, options, workspace.body().size());
    return j;
  } catch (const std::exception& e) {
    return {Status::fail, std::string("harness: ") + e.what(), "harness"};
  }
}

int serve_client_cell(const ClientCell& cell, Workspace& workspace, std::uint16_t port, int connections,
                      const std::string& command) {
  auto prepared = prepare(cell);
  if (auto* why = std::get_if<std::string>(&prepared)) {
    std::fprintf(stderr, "lastbyte-conformance: %s: unsupported by this library: %s\n", cell.name().c_str(),
                 why->c_str());
    return 2;
  }
  auto& server = std::get<CellServer>(prepared);
  auto listener = net::listen_tcp("127.0.0.1", port);
  if (!listener) {
    std::fprintf(stderr, "lastbyte-conformance: listen on 127.0.0.1:%u: %s\n", port,
                 listener.error().message().c_str());
    return 2;
  }
  port = *net::local_port(*listener);
  std::printf("serving %s (%s) on 127.0.0.1:%u for %d connection(s), 60 s each\n", cell.name().c_str(),
              std::string(cell.row->title).c_str(), port, connections);
  std::printf("CA file: %s\nbody: %zu bytes\n", workspace.cafile().c_str(), workspace.body().size());
  if (!command.empty()) {
    auto filled = substitute(command, client_placeholders(port, workspace));
    if (!filled) {
      std::fprintf(stderr, "lastbyte-conformance: %s\n", filled.error().detail.c_str());
      return 2;
    }
    std::printf("run: %s\n", filled->c_str());
  } else {
    std::printf("run your client against https://127.0.0.1:%u/body with that CA file\n", port);
  }
  std::fflush(stdout);
  workspace.keep();  // the client run by hand needs the CA file after we exit
  Response response = make_response(cell.framing, workspace.body());
  std::atomic<bool> stop = false;
  for (int i = 0; i < connections; ++i) {
    auto deadline = net::after(60s);
    Served served = serve_one(cell, server.context, accept_one(*listener, deadline, stop), server.keys, response,
                              deadline, stop);
    if (!served.connected) {
      std::printf("no connection within 60 s\n");
      return 1;
    }
    std::printf("connection %d: %s\n", i + 1,
                !served.problem.empty() ? ("harness: " + served.problem).c_str()
                : served.request_read   ? "response sent as the row says"
                                        : ("no response: " + served.client_end).c_str());
    std::fflush(stdout);
  }
  return 0;
}

// ---- expectations -----------------------------------------------------------------

Expectations::Cell Expectations::find(const std::string& key) const {
  for (const auto& [k, cell] : cells)
    if (k == key) return cell;
  return {};
}

Expected<Expectations> load_expectations(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return Error{make_error_code(errc::invalid_config), "cannot read " + file.string()};
  Expectations e;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto hash = line.find('#');
    std::string text = line.substr(0, hash);
    std::vector<std::string> words;
    for (auto& w : split(text, ' '))
      if (!w.empty()) words.push_back(w);
    if (words.empty()) continue;
    // "fail:accepted-truncation,short-body" or "racy:closed-unread": the
    // kinds the failure may have; a bare word takes any.
    std::string word = words.size() == 4 ? words[3] : "";
    std::string outcome = word.substr(0, word.find(':'));
    if (words.size() != 4 || (outcome != "pass" && outcome != "fail" && outcome != "racy"))
      return Error{make_error_code(errc::invalid_config),
                   file.string() + ":" + std::to_string(number) +
                       ": expected \"ROW VERSION VARIANT pass|fail[:KIND,...]|racy[:KIND,...]\""};
    Expectations::Cell cell{.expect = outcome == "pass" ? Expect::pass : outcome == "fail" ? Expect::fail : Expect::racy};
    if (auto colon = word.find(':'); colon != std::string::npos)
      for (auto& kind : split(std::string_view(word).substr(colon + 1), ','))
        if (!kind.empty()) cell.kinds.push_back(kind);
    e.cells.emplace_back(words[0] + " " + words[1] + " " + words[2], std::move(cell));
  }
  return e;
}

}  // namespace lastbyte::conformance::blackbox
