// Black-box mode, server side (Y01-Y04): the program under test listens,
// the harness plays its clients, and after every row checks that a plain
// request is still answered.
#include <lastbyte/conformance/blackbox.hpp>
#include <lastbyte/socket_driver.hpp>

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace lastbyte::conformance::blackbox {

using namespace std::chrono_literals;

namespace {

const ServerRow server_table[] = {
    {.id = "Y01", .title = "request + close_notify + FIN in one segment"},
    {.id = "Y02", .title = "request, then RST"},
    {.id = "Y03", .title = "request bytes cut mid-record, FIN"},
    {.id = "Y04", .title = "connections that handshake and vanish (FIN and RST in turn)"},
    {.id = "Y05", .title = "a proxy's upstream after a request cut mid-record: never the partial request and a FIN"},
};



// The program under test, in its own process group; stopped (the whole
// group) on destruction, so that nothing is left running.
class Child {
 public:
  Child(const std::string& command, const std::filesystem::path& cwd, const std::filesystem::path& log) {
    std::string dir = cwd.string(), log_path = log.string();
    pid_ = ::fork();
    if (pid_ == 0) {  // async-signal-safe calls only until exec
      ::setpgid(0, 0);
      int null = ::open("/dev/null", O_RDONLY);
      int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (null < 0 || out < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(126);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    ::setpgid(pid_, pid_);
    register_program(1, pid_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { stop(); }

  // nullopt while it runs; its status once it exited.
  std::optional<std::string> exited() {
    if (status_) return status_;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
    status_ = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                : "killed by signal " + std::to_string(WTERMSIG(status));
    return status_;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(-pid_, SIGTERM);
    for (int i = 0; i < 200 && !exited(); ++i) std::this_thread::sleep_for(10ms);
    ::kill(-pid_, SIGKILL);
    register_program(1, 0);
    if (!status_) {
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  std::optional<std::string> status_;
};

Expected<std::uint16_t> free_port() {
  auto s = net::listen_tcp("127.0.0.1", 0);
  if (!s) return s.error();
  return net::local_port(*s);  // closed here; the program under test binds it next
}

void send_all(int fd, std::span<const std::byte> bytes, net::Deadline deadline) {
  while (!bytes.empty() && net::Clock::now() < deadline) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return;
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 20);
  }
}

void reset(net::Socket& socket) {
  int queued = 0;
  auto deadline = net::after(2s);
  while (::ioctl(socket.fd(), SIOCOUTQ, &queued) == 0 && queued > 0 && net::Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  net::set_linger_reset(socket);
  socket = net::Socket();
}

// The plaintext HTTP server a TLS-terminating proxy under test forwards to
// ({upstream}). It answers every whole request head with the body
// (Content-Length, then its FIN), and records what each connection brought
// and how it ended: Y05 fails a proxy that turned a TLS truncation into a
// partial request followed by a clean FIN, which an upstream cannot tell
// from a short request that really ended (an HTTP/0.9 `GET /` gets a 200).
class Upstream {
 public:
  struct Seen {
    std::string bytes;        // what arrived (its first 200 bytes)
    bool whole_head = false;  // a request head ended by an empty line arrived
    std::string end;          // "FIN", "RST", or empty while open
  };

  explicit Upstream(const Bytes& body) {
    auto listener = net::listen_tcp("127.0.0.1", 0);
    if (!listener) throw std::runtime_error("the upstream's listen: " + listener.error().message());
    port_ = *net::local_port(*listener);
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                       "\r\nConnection: close\r\n\r\n";
    response_.assign(head.begin(), head.end());
    for (std::byte b : body) response_.push_back(static_cast<char>(b));
    thread_ = std::thread([this, l = std::move(*listener)]() mutable { serve(l); });
  }
  ~Upstream() {
    stop_ = true;
    thread_.join();
  }
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t connections() const {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  // The connections from `first` on, once each that brought bytes has
  // ended and nothing happened upstream for `quiet` (or at `until`): what
  // the proxy forwards may still be on its way when the client's side is
  // done (a first version looked at once and passed a forwarding proxy one
  // run in four). Connections that brought nothing may stay open: a proxy
  // connects upstream for each client (stunnel does, also for Y04's
  // vanishing ones) and ends those whenever it likes.
  std::vector<Seen> after(std::size_t first, net::Deadline until, std::chrono::milliseconds quiet) const {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        bool open = false;
        for (std::size_t i = first; i < seen_.size(); ++i) open |= seen_[i].end.empty() && !seen_[i].bytes.empty();
        bool settled = net::Clock::now() - last_change_ >= quiet;
        if ((!open && settled) || net::Clock::now() >= until)
          return {seen_.begin() + static_cast<std::ptrdiff_t>(std::min(first, seen_.size())), seen_.end()};
      }
      std::this_thread::sleep_for(20ms);
    }
  }

 private:
  struct Open {
    net::Socket socket;
    std::size_t index;
    std::string received = {};
    bool answered = false;
  };
  void serve(const net::Socket& listener) {
    std::vector<Open> open;
    while (!stop_) {
      std::vector<pollfd> fds{{listener.fd(), POLLIN, 0}};
      for (const Open& o : open) fds.push_back({o.socket.fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        if (auto accepted = net::accept_tcp(listener, net::after(0ms))) {
          std::lock_guard lock(mutex_);
          last_change_ = net::Clock::now();
          seen_.push_back({});
          open.push_back({.socket = std::move(*accepted), .index = seen_.size() - 1});
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        Open& o = open[i - 1];
        char buf[4096];
        ssize_t n = ::recv(o.socket.fd(), buf, sizeof buf, 0);
        std::lock_guard lock(mutex_);
        last_change_ = net::Clock::now();
        Seen& seen = seen_[o.index];
        if (n > 0) {
          o.received.append(buf, static_cast<std::size_t>(n));
          seen.bytes = o.received.substr(0, 200);
          seen.whole_head = o.received.find("\r\n\r\n") != std::string::npos;
          if (seen.whole_head && !o.answered) {
            o.answered = true;
            send_all(o.socket.fd(), std::as_bytes(std::span(response_)), net::after(5s));
            ::shutdown(o.socket.fd(), SHUT_WR);
          }
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        seen.end = n == 0 ? "FIN" : "RST";
        o.socket = net::Socket();
      }
      std::erase_if(open, [](const Open& o) { return !o.socket; });
    }
  }

  std::uint16_t port_ = 0;
  std::string response_;
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
  net::Clock::time_point last_change_ = net::Clock::now();
  std::atomic<bool> stop_ = false;
  std::thread thread_;
};

std::string request_for(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

struct Session {
  net::Socket socket;
  Connection connection;
};

Expected<Session> open_session(const Context& context, std::uint16_t port, net::Deadline deadline,
                               std::optional<Verdict>* ended = nullptr) {
  auto socket = net::connect_tcp("127.0.0.1", port, deadline);
  if (!socket) return socket.error();
  auto connection = Connection::create(context);
  if (!connection) return connection.error();
  Session s{.socket = std::move(*socket), .connection = std::move(*connection)};
  net::SocketDriver driver(s.socket, s.connection);
  if (auto e = driver.handshake(deadline)) {
    auto v = s.connection.verdict();
    if (ended) *ended = v;
    return Error{e, v ? describe(*v) : ""};
  }
  return s;
}

// Reads what the server sends until the end or the deadline.
std::string read_response(Session& s, net::Deadline deadline, std::string* end = nullptr) {
  net::SocketDriver driver(s.socket, s.connection);
  std::string got;
  std::byte buf[16384];
  for (;;) {
    IoResult r = driver.read(buf, deadline);
    if (r.status == IoStatus::ok) {
      got.append(reinterpret_cast<const char*>(buf), r.bytes);
      continue;
    }
    if (end) {
      auto v = s.connection.verdict();
      *end = r.status == IoStatus::end && v ? std::string(kind_name(*v)) : r.error.message();
    }
    return got;
  }
}

// A 2xx response, whole: every byte its Content-Length announced, or, with
// none, a stream that ended with close_notify. nullopt if so, else why not.
std::optional<std::string> incomplete(const std::string& response, const std::string& end) {
  if (!response.starts_with("HTTP/1.1 2") && !response.starts_with("HTTP/1.0 2")) return "no 2xx response";
  auto head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return "the response head never ended";
  std::string head = response.substr(0, head_end + 2);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t body = response.size() - head_end - 4;
  if (auto at = head.find("\r\ncontent-length:"); at != std::string::npos) {
    std::size_t length = std::strtoull(head.c_str() + at + 17, nullptr, 10);
    if (body != length)
      return "a body of " + std::to_string(body) + " bytes where Content-Length says " + std::to_string(length);
    return std::nullopt;
  }
  if (end != "close_notify") return "a body without a length that ended with " + end + ", not close_notify";
  return std::nullopt;
}

std::string head_of(const std::string& response) {
  auto line = response.substr(0, response.find("\r\n"));
  return line.size() > 80 ? line.substr(0, 80) + "..." : line;
}

// A plain request on a fresh connection: is the server still serving?
std::optional<std::string> probe(const Context& context, std::uint16_t port, const std::string& path) {
  auto deadline = net::after(10s);
  auto s = open_session(context, port, deadline);
  if (!s) return "the next connection failed its handshake: " + s.error().message();
  net::SocketDriver driver(s->socket, s->connection);
  std::string request = request_for(path);
  if (auto e = driver.write_all(std::as_bytes(std::span(request)), deadline))
    return "the next connection could not send its request: " + e.message();
  std::string end;
  std::string response = read_response(*s, deadline, &end);
  if (auto why = incomplete(response, end))
    return "the next connection got no whole response: " + *why + " (" + std::to_string(response.size()) +
           " bytes, then " + end + (response.empty() ? "" : ", \"" + head_of(response) + "\"") + ")";
  return std::nullopt;
}

struct RowRun {
  std::optional<std::string> problem;  // the row's own failure
  std::string seen;                    // what happened, for a pass
};

RowRun y01(const Context& context, std::uint16_t port, const std::string& path) {
  auto deadline = net::after(10s);
  auto s = open_session(context, port, deadline);
  if (!s) return {"handshake: " + s.error().message(), {}};
  std::string request = request_for(path);
  if (s->connection.write(request).status != IoStatus::ok || s->connection.close())
    return {"harness: cannot queue the request and close_notify", {}};
  auto out = s->connection.output();
  send_all(s->socket.fd(), out, deadline);  // one send(): request, close_notify
  (void)s->connection.consume_output(out.size());
  ::shutdown(s->socket.fd(), SHUT_WR);  // and the FIN right behind them
  std::string end;
  std::string response = read_response(*s, deadline, &end);
  if (auto why = incomplete(response, end))
    return {"the request was not answered whole: " + *why + " (" + std::to_string(response.size()) +
                " bytes, then " + end + ")",
            {}};
  return {std::nullopt, "answered: " + head_of(response) + ", then " + end};
}

RowRun y02(const Context& context, std::uint16_t port, const std::string& path) {
  auto deadline = net::after(10s);
  auto s = open_session(context, port, deadline);
  if (!s) return {"handshake: " + s.error().message(), {}};
  net::SocketDriver driver(s->socket, s->connection);
  std::string request = request_for(path);
  if (auto e = driver.write_all(std::as_bytes(std::span(request)), deadline)) return {"send: " + e.message(), {}};
  reset(s->socket);
  return {std::nullopt, "request sent, then RST"};
}

// Y03 and Y05: the request's first 5 bytes in a whole record (a server that
// answers whatever bytes it has answers those), the rest in a record cut in
// its middle, then a FIN: the request line itself never arrives whole. A
// server may answer with an error (4xx, 5xx), never with a success.
RowRun cut_request(const Context& context, std::uint16_t port, const std::string& path) {
  auto deadline = net::after(10s);
  auto s = open_session(context, port, deadline);
  if (!s) return {"handshake: " + s.error().message(), {}};
  std::string request = request_for(path);
  std::string_view first(request.data(), 5), rest(request.data() + first.size());
  if (s->connection.write(first).status != IoStatus::ok) return {"harness: cannot queue the request", {}};
  auto out = s->connection.output();
  send_all(s->socket.fd(), out, deadline);
  (void)s->connection.consume_output(out.size());
  if (s->connection.write(rest).status != IoStatus::ok) return {"harness: cannot queue the request", {}};
  out = s->connection.output();
  send_all(s->socket.fd(), out.first(out.size() / 2), deadline);
  (void)s->connection.consume_output(out.size());
  ::shutdown(s->socket.fd(), SHUT_WR);
  std::string end;
  std::string response = read_response(*s, net::after(3s), &end);
  if (response.empty()) return {std::nullopt, "no response, then " + end};
  // "HTTP/1.1 400": an error answer is correct (haproxy answers 400); the
  // row used to fail any answer at all (issue 19).
  bool error_answer = response.size() > 9 && response.starts_with("HTTP/1.") && (response[9] == '4' || response[9] == '5');
  if (!error_answer)
    return {"answered a request whose second half never arrived, not with an error: \"" + head_of(response) + "\"",
            {}};
  return {std::nullopt, "an error answer, \"" + head_of(response) + "\", then " + end};
}

RowRun y05(const Context& context, std::uint16_t port, const std::string& path, const Upstream& upstream) {
  std::size_t before = upstream.connections();
  RowRun run = cut_request(context, port, path);
  if (run.problem) return run;
  // A proxy may end the upstream connection late (its own timeout): it is
  // waited for. Forwarded and never ended is not a pass either: only
  // nothing forwarded, or a reset, is (review: a FIN after 6 s passed).
  constexpr auto upstream_wait = 15s;
  std::string forwarded;
  for (const auto& seen : upstream.after(before, net::after(upstream_wait), 1s)) {
    if (seen.bytes.empty()) continue;
    std::string shown = "\"" + head_of(seen.bytes) + "\" (" + std::to_string(seen.bytes.size()) + " bytes)";
    if (!seen.whole_head && seen.end == "FIN")
      return {"forwarded the partial request " + shown +
                  " to the upstream and ended that connection with a clean FIN: the upstream cannot tell it from "
                  "a request that really ended there",
              {}};
    if (!seen.whole_head && seen.end.empty())
      return {"forwarded the partial request " + shown + " to the upstream and neither reset nor ended that "
                  "connection within " + std::to_string(upstream_wait.count()) + " s: a correct proxy resets it (or "
                  "forwards nothing)",
              {}};
    forwarded += (forwarded.empty() ? "" : "; ") + shown + ", then " + seen.end;
  }
  return {std::nullopt, run.seen + (forwarded.empty() ? "; nothing forwarded to the upstream"
                                                      : "; the upstream got " + forwarded)};
}

RowRun y04(const Context& context, std::uint16_t port, int connections) {
  int failed = 0;
  std::string first_failure;
  for (int i = 0; i < connections; ++i) {
    auto s = open_session(context, port, net::after(5s));
    if (!s) {
      if (failed++ == 0) first_failure = s.error().message();
      if (failed >= 3) break;
      continue;
    }
    if (i % 2) {
      reset(s->socket);
      continue;
    }
    // A FIN: what the server sent (TLS 1.3 tickets) is read first, or
    // closing with it unread would be an RST.
    char sink[4096];
    while (::recv(s->socket.fd(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
    ::shutdown(s->socket.fd(), SHUT_WR);
  }
  if (failed)
    return {std::to_string(failed) + " connections could not handshake (stopped at 3; first: " + first_failure + ")",
            {}};
  return {std::nullopt, std::to_string(connections) + " handshakes, each dropped without close_notify"};
}

std::string log_tail(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string t = text.str();
  if (t.size() > 600) t = "..." + t.substr(t.size() - 600);
  return t;
}

}  // namespace

std::span<const ServerRow> server_rows() { return server_table; }

std::vector<ServerCellResult> run_server_rows(const ServerOptions& options, const Backend& backend,
                                              const std::vector<TlsVersion>& versions, const Workspace& workspace) {
  std::vector<ServerCellResult> results;
  // The first cell carries the reason (and the server's log); the others
  // point at it rather than repeat it.
  auto fail_all = [&](const std::string& why) {
    for (TlsVersion v : versions)
      for (const ServerRow& row : server_table) {
        std::string name =
            std::string(row.id) + "_" + (v == TlsVersion::tls1_3 ? "tls13_" : "tls12_") + std::string(backend.name);
        std::string message = results.empty() ? why : "not run: " + results.front().name + " says why";
        results.push_back({.name = name, .row = row.id, .version = v, .judgement = {Status::fail, message, "never-served"}});
      }
    return results;
  };
  auto port = free_port();
  if (!port) return fail_all("harness: " + port.error().message());
  std::string p = std::to_string(*port);
  // A proxy forwards to the harness's own plaintext server: its command
  // names {upstream}. Y05 needs one; without it the row is unsupported by
  // the program (it is not a proxy).
  std::optional<Upstream> upstream;
  if (options.command.find("{upstream}") != std::string::npos) upstream.emplace(workspace.body());
  const std::array<std::string, server_placeholder_names.size()> values = {
      p, "127.0.0.1", workspace.certfile().string(), workspace.keyfile().string(), workspace.cafile().string(),
      workspace.docroot().string(), upstream ? upstream->address() : std::string()};
  std::vector<std::pair<std::string, std::string>> placeholders;
  for (std::size_t i = 0; i < values.size(); ++i) placeholders.emplace_back(server_placeholder_names[i], values[i]);
  auto command = substitute(options.command, placeholders);
  if (!command) return fail_all(command.error().detail);
  auto log = workspace.dir() / "server.log";
  Child child(*command, workspace.docroot(), log);
  // Listening? A bare TCP connection, closed at once, until one is accepted.
  auto started = net::after(options.start_timeout);
  bool listening = false;
  while (!listening && net::Clock::now() < started && !child.exited()) {
    listening = static_cast<bool>(net::connect_tcp("127.0.0.1", *port, net::after(200ms)));
    if (!listening) std::this_thread::sleep_for(50ms);
  }
  if (!listening)
    return fail_all("the server never listened on 127.0.0.1:" + p + " (" + child.exited().value_or("still running") +
                    "); its output:\n" + log_tail(log));
  // Listening is not serving: a server (or a proxy whose upstream is still
  // starting) may accept before it answers. The rows start once a plain
  // request is answered whole, within the same start timeout.
  {
    Config config = client_config(backend.supports(TlsVersion::tls1_3) ? TlsVersion::tls1_3 : TlsVersion::tls1_2);
    config.server_name = "127.0.0.1";
    config.min_version = TlsVersion::tls1_2;
    auto any = Context::create(config, backend);
    if (!any) return fail_all("harness: " + any.error().message());
    std::optional<std::string> not_yet = "no request tried";
    while (not_yet && net::Clock::now() < started && !child.exited()) {
      not_yet = probe(*any, *port, options.path);
      if (not_yet) std::this_thread::sleep_for(100ms);
    }
    if (not_yet)
      return fail_all("the server listens but never answered a plain request whole within " +
                      std::to_string(options.start_timeout.count() / 1000) + " s (" +
                      child.exited().value_or("still running") + "; last: " + *not_yet + "); its output:\n" +
                      log_tail(log));
  }

  for (TlsVersion version : versions) {
    std::optional<std::string> not_spoken;
    Config config = client_config(version);
    config.server_name = "127.0.0.1";
    auto context = Context::create(config, backend);
    for (const ServerRow& row : server_table) {
      ServerCellResult result{.name = std::string(row.id) + "_" +
                                      (version == TlsVersion::tls1_3 ? "tls13_" : "tls12_") +
                                      std::string(backend.name),
                              .row = row.id,
                              .version = version,
                              .judgement = {}};
      if (row.id == "Y05" && !upstream) {
        result.judgement = {Status::unsupported, "unsupported by this program: not a proxy (the command has no "
                                                 "{upstream} to forward to)"};
        results.push_back(std::move(result));
        if (options.on_result) options.on_result(results.back());
        continue;
      }
      if (!backend.supports(version)) {
        result.judgement = {Status::unsupported, "the harness-client's library (" + backend.library_version() +
                                                     ") cannot speak " + std::string(to_string(version))};
        results.push_back(std::move(result));
        if (options.on_result) options.on_result(results.back());
        continue;
      }
      if (!context) {
        result.judgement = {Status::fail, "harness: " + context.error().message(), "harness"};
        results.push_back(std::move(result));
        if (options.on_result) options.on_result(results.back());
        continue;
      }
      // Does the server speak the version at all? A handshake pinned to it
      // that fails, while one offering both versions gets the other one,
      // says it does not.
      if (&row == &server_table[0]) {
        std::optional<Verdict> ended;
        auto pinned = open_session(*context, *port, net::after(5s), &ended);
        if (!pinned) {
          Config both = client_config(TlsVersion::tls1_3);
          both.server_name = "127.0.0.1";
          both.min_version = TlsVersion::tls1_2;
          auto any = Context::create(both, backend);
          auto s = any ? open_session(*any, *port, net::after(5s)) : Expected<Session>(any.error());
          auto info = s ? s->connection.info() : Expected<SessionInfo>(s.error());
          std::string alone = std::string(to_string(version)) + " alone ends with " +
                              (ended ? describe(*ended) : pinned.error().message());
          // Either it speaks another version only, or no handshake works:
          // every row of the version fails at once (not after 1,000 tries).
          not_spoken = info && info->version != version
                           ? "the server does not speak " + std::string(to_string(version)) +
                                 ": offered TLS 1.2 and 1.3, it chose " + std::string(to_string(info->version)) +
                                 "; " + alone
                           : "no handshake with the server completes: " + alone;
        }
      }
      if (not_spoken) {  // a failure: --version or --program-backend says what it speaks
        result.judgement = {Status::fail, *not_spoken, "version-not-spoken"};
        results.push_back(std::move(result));
        if (options.on_result) options.on_result(results.back());
        continue;
      }
      RowRun run;
      try {
        if (row.id == "Y01") run = y01(*context, *port, options.path);
        else if (row.id == "Y02") run = y02(*context, *port, options.path);
        else if (row.id == "Y03") run = cut_request(*context, *port, options.path);
        else if (row.id == "Y04") run = y04(*context, *port, options.vanishing_connections);
        else run = y05(*context, *port, options.path, *upstream);
      } catch (const std::exception& e) {
        run.problem = std::string("harness: ") + e.what();
      }
      std::optional<std::string> still;
      if (!child.exited()) still = probe(*context, *port, options.path);
      // Refused connections may mean the program is on its way out: say so.
      for (int i = 0; (still || run.problem) && !child.exited() && i < 50; ++i) std::this_thread::sleep_for(20ms);
      if (child.exited()) still = "the server " + *child.exited() + "; its output:\n" + log_tail(log);
      if (run.problem || still) {
        std::string why = run.problem.value_or(run.seen);
        if (still) why += (run.problem ? "; " : " but ") + *still;
        // The kinds an expectations file records: the row's own failure
        // (Y05: the proxy forwarded the cut request), or the server
        // stopped serving after it.
        bool forwarded = row.id == "Y05" && run.problem && run.problem->starts_with("forwarded the partial request");
        result.judgement = {Status::fail, why,
                            forwarded ? "forwarded-cut-request" : run.problem ? "row-failed" : "stopped-serving"};
      } else {
        result.judgement = {Status::pass, run.seen + "; the next connection was served"};
      }
      results.push_back(std::move(result));
      if (options.on_result) options.on_result(results.back());
    }
  }
  return results;
}

}  // namespace lastbyte::conformance::blackbox
