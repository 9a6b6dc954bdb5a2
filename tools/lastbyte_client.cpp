// lastbyte-client: HTTP/1.1 over lastbyte through the reference socket driver.
// Prints the (de-chunked) body to stdout, the session and the verdict to
// stderr; with -n, sends N requests (on fresh connections, or with
// --keep-alive on as few as the server allows) and summarises.
//
// A response is complete when its framing says so (Content-Length, the last
// chunk, no body for HEAD/204/304) or, for a close-delimited body, when the
// stream ends with close_notify. Exit status: 0 every response complete (a
// stream that then ended without close_notify is a warning, unless
// --require-close-notify); 3 a response cut by a truncated stream; 4 by a
// reset; 1 any other failure (handshake, protocol, malformed response, I/O);
// 2 usage.
#include "http.hpp"

#include <lastbyte/lastbyte.hpp>
#include <lastbyte/socket_driver.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

namespace {

using namespace lastbyte;

constexpr int exit_clean = 0, exit_failure = 1, exit_usage = 2, exit_truncated = 3, exit_reset = 4;

const char usage[] =
    "usage: lastbyte-client [options] host:port [path]\n"
    "       lastbyte-client [options] https://host[:port]/path\n"
    "  -n N             send N requests (on fresh connections) and print a summary\n"
    "  --keep-alive     send them on one connection, a new one when the server closes\n"
    "  --data TEXT      send a POST with this body (default: GET)\n"
    "  --head           send HEAD (the response has no body)\n"
    "  --require-close-notify  fail (3, 4) when a stream ends without close_notify,\n"
    "                   also after a response complete by its length\n"
    "  --cafile FILE    trust anchors (default: the system store)\n"
    "  --alpn LIST      offer these ALPN protocols (comma-separated)\n"
    "  --tls 1.2|1.3    pin the TLS version\n"
    "  --insecure       do not verify the certificate or host name (dangerous)\n"
    "  --keylog FILE    append NSS key log lines (SSLKEYLOGFILE works too)\n"
    "  --timeout SEC    per connection (default 10)\n"
    "  --backend NAME   fail unless NAME is the backend this build links\n"
    "  --quiet          do not print the body\n"
    "exit status: 0 clean and complete, 3 truncated, 4 reset, 1 other failure, 2 usage\n";

struct Options {
  tools::Target target;
  int repeat = 1;
  std::optional<std::string> data;
  std::string cafile, keylog, backend;
  std::vector<std::string> alpn;
  std::optional<TlsVersion> version;
  bool insecure = false, quiet = false, keep_alive = false, head = false, require_close_notify = false;
  int timeout_s = 10;
};

int fail_usage(const std::string& why) {
  std::cerr << "lastbyte-client: " << why << "\n" << usage;
  return exit_usage;
}

std::vector<std::string> split(std::string_view list) {
  std::vector<std::string> out;
  for (std::size_t start = 0; start <= list.size();) {
    auto comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.emplace_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::optional<Options> parse(int argc, char** argv, int& status) {
  Options o;
  std::vector<std::string_view> positional;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string_view(argv[++i]);
    };
    auto need = [&](std::string_view name) -> std::string_view {
      auto v = value();
      if (!v) throw std::invalid_argument(std::string(name) + " needs a value");
      return *v;
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      status = exit_clean;
      return std::nullopt;
    } else if (arg == "-n") {
      auto n = tools::parse_size(need(arg));
      if (!n || *n == 0 || *n > 1000000) throw std::invalid_argument("-n needs a count between 1 and 1000000");
      o.repeat = static_cast<int>(*n);
    } else if (arg == "--data") o.data = std::string(need(arg));
    else if (arg == "--cafile") o.cafile = need(arg);
    else if (arg == "--keylog") o.keylog = need(arg);
    else if (arg == "--backend") o.backend = need(arg);
    else if (arg == "--alpn") o.alpn = split(need(arg));
    else if (arg == "--insecure") o.insecure = true;
    else if (arg == "--keep-alive") o.keep_alive = true;
    else if (arg == "--head") o.head = true;
    else if (arg == "--require-close-notify") o.require_close_notify = true;
    else if (arg == "--quiet") o.quiet = true;
    else if (arg == "--timeout") {
      auto n = tools::parse_size(need(arg));
      if (!n || *n == 0 || *n > 3600) throw std::invalid_argument("--timeout needs seconds between 1 and 3600");
      o.timeout_s = static_cast<int>(*n);
    } else if (arg == "--tls") {
      auto v = need(arg);
      if (v == "1.2") o.version = TlsVersion::tls1_2;
      else if (v == "1.3") o.version = TlsVersion::tls1_3;
      else throw std::invalid_argument("--tls takes 1.2 or 1.3 (older versions are not supported)");
    } else if (arg.starts_with("-")) throw std::invalid_argument("unknown option " + std::string(arg));
    else positional.push_back(arg);
  }
  if (o.head && o.data) throw std::invalid_argument("--head and --data exclude each other");
  if (positional.empty() || positional.size() > 2) throw std::invalid_argument("expected host:port [path] or a URL");
  auto target = tools::parse_target(positional[0]);
  if (!target) throw std::invalid_argument("cannot parse target \"" + std::string(positional[0]) + "\"");
  o.target = *target;
  if (positional.size() == 2) o.target.path = positional[1];
  return o;
}

// `last`: the last request on its connection ("Connection: close").
std::string request_for(const Options& o, bool last) {
  std::string host = o.target.host.find(':') != std::string::npos ? "[" + o.target.host + "]" : o.target.host;
  std::string method = o.head ? "HEAD" : o.data ? "POST" : "GET";
  std::string req = method + " " + o.target.path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lastbyte-client\r\n";
  if (last) req += "Connection: close\r\n";
  if (o.data) req += "Content-Length: " + std::to_string(o.data->size()) + "\r\n";
  return req + "\r\n" + o.data.value_or("");
}

// One request and what came back.
struct Exchange {
  tools::ResponseParser response;
  std::optional<Verdict> verdict = {};  // set when the stream ended during or right after this response
  std::string error = {};               // an I/O failure, or why nothing was sent
  std::optional<SessionInfo> info = {};
  int connection = 0;                   // which connection carried it (1, 2, ...)
  bool kept_alive = false;              // the connection carried the next request too
};

// Sends requests on one connection until `wanted` exchanges were made, the
// server closes, or something fails. Bytes that arrive after a response are
// the start of the next one.
void exchange_on_one_connection(const Context& context, const Options& o, int wanted, int connection_number,
                                std::vector<Exchange>& out) {
  const auto timeout = std::chrono::seconds(o.timeout_s);  // for the connection, then for each request
  auto deadline = net::after(timeout);
  auto fail_all = [&](std::string why) {
    out.push_back({.response = tools::ResponseParser(o.head), .error = std::move(why), .connection = connection_number});
  };
  auto socket = net::connect_tcp(o.target.host, o.target.port, deadline);
  if (!socket) return fail_all(socket.error().message());
  auto connection = Connection::create(context, {.server_name = o.target.host});
  if (!connection) return fail_all(connection.error().message());
  net::SocketDriver driver(*socket, *connection);
  std::string pending;  // received, not yet part of a response
  std::vector<std::byte> buffer(64 * 1024);
  bool ended = false;
  for (int i = 0; i < wanted && !ended; ++i) {
    bool last = i + 1 == wanted || !o.keep_alive;
    if (i > 0) deadline = net::after(timeout);
    Exchange ex{.response = tools::ResponseParser(o.head), .connection = connection_number};
    std::string request = request_for(o, last);
    if (auto e = driver.write_all(std::as_bytes(std::span(request)), deadline); e && !connection->verdict()) {
      ex.error = "sending the request: " + e.message();
      out.push_back(std::move(ex));
      break;
    }
    pending.erase(0, ex.response.feed(pending));
    // The last response on a connection is read to the stream's end, so that
    // its verdict is known; the others until they are complete.
    bool graced = false;
    while (!ex.response.failed() && (last || !ex.response.complete())) {
      // Once the last response is complete its end is waited for briefly:
      // a server that ignores "Connection: close" is closed by us.
      if (ex.response.complete() && !graced) {
        deadline = std::min(deadline, net::after(std::chrono::seconds(2)));
        graced = true;
      }
      auto r = driver.read(buffer, deadline);
      if (r.status == IoStatus::ok) {
        std::string_view got(reinterpret_cast<const char*>(buffer.data()), r.bytes);
        std::size_t used = ex.response.feed(got);
        pending.append(got.substr(used));
        continue;
      }
      if (r.status == IoStatus::end) {
        ended = true;
        ex.verdict = connection->verdict();
        // A kept-alive connection the server closed before any byte of
        // this response (RFC 9112 §9.6): the request goes on a new one.
        bool idle_close = i > 0 && !ex.response.started() && ex.verdict &&
                          (std::holds_alternative<CloseNotify>(*ex.verdict) ||
                           std::holds_alternative<Truncated>(*ex.verdict));
        if (idle_close) return;
        ex.response.end_of_stream(ex.verdict && std::holds_alternative<CloseNotify>(*ex.verdict));
      } else if (!ex.response.complete()) {
        ex.error = "reading the response: " + r.error.message();
        ended = true;
      }
      break;
    }
    if (auto info = connection->info()) ex.info = *info;
    // Bytes after a complete response that no request asked for yet: the
    // connection is not reused (they would pass for the next answer).
    bool reusable = ex.response.complete() && ex.response.keep_alive() && ex.error.empty() && pending.empty();
    if (o.repeat > 1) ex.response.discard_body();  // only counted
    ex.kept_alive = reusable && i + 1 < wanted;
    out.push_back(std::move(ex));
    if (!reusable) break;
  }
  // Our close_notify: after the server's, or when we are done with a
  // connection the server keeps open.
  if (!connection->verdict() || std::holds_alternative<CloseNotify>(*connection->verdict())) driver.close(deadline);
}

int exit_status_for(const Exchange& ex, const Options& o) {
  bool clean_end = !ex.verdict || std::holds_alternative<CloseNotify>(*ex.verdict);
  if (ex.response.complete() && (clean_end || !o.require_close_notify)) return exit_clean;
  // A handshake cut by the transport is a handshake failure (1), not a
  // truncated response.
  if (auto* t = ex.verdict ? std::get_if<Truncated>(&*ex.verdict) : nullptr) return t->during_handshake ? exit_failure : exit_truncated;
  if (auto* r = ex.verdict ? std::get_if<Reset>(&*ex.verdict) : nullptr) return r->during_handshake ? exit_failure : exit_reset;
  return exit_failure;
}

std::string response_summary(const tools::ResponseParser& response) {
  if (!response.headers_complete()) {
    return response.failed() ? "no response: " + response.error() : "no complete response headers";
  }
  std::string framing(to_string(response.framing()));
  if (response.framing() == tools::Framing::length) framing += " " + std::to_string(*response.content_length());
  return "HTTP " + std::to_string(response.status()) + ", " + framing + ", body " +
         std::to_string(response.body_size()) + " bytes (" +
         (response.complete() ? "complete" : "incomplete: " + response.error()) + ")";
}

int run(const Options& o) {
  if (!o.backend.empty()) {
    const Backend* linked[] = {&default_backend()};
    if (auto found = find_backend(o.backend, linked); !found) {
      std::cerr << "lastbyte-client: " << found.error().message() << "\n";
      return exit_usage;
    }
  }
  Config config;
  config.role = Role::client;
  config.server_name = o.target.host;
  config.alpn = o.alpn;
  config.ca_file = o.cafile;
  config.dangerously_disable_certificate_verification = o.insecure;
  if (o.version) config.min_version = config.max_version = *o.version;
  std::shared_ptr<std::ofstream> keylog;
  if (!o.keylog.empty()) {
    keylog = std::make_shared<std::ofstream>(o.keylog, std::ios::app);
    if (!*keylog) {
      std::cerr << "lastbyte-client: cannot open --keylog file " << o.keylog << "\n";
      return exit_usage;
    }
    config.keylog = [keylog](std::string_view line) { *keylog << line << "\n" << std::flush; };
  }
  auto context = Context::create(config, default_backend());
  if (!context) {
    std::cerr << "lastbyte-client: " << context.error().message() << "\n";
    return exit_failure;
  }
  std::vector<Exchange> exchanges;
  for (int connections = 1; static_cast<int>(exchanges.size()) < o.repeat; ++connections) {
    std::size_t before = exchanges.size();
    int wanted = o.keep_alive ? o.repeat - static_cast<int>(before) : 1;
    exchange_on_one_connection(*context, o, wanted, connections, exchanges);
    // With --keep-alive, a failed exchange ends the run (the next would
    // most likely fail the same way); a connection the server closed while
    // idle just means a new one. Without it every request has its own.
    // (A first request always yields an exchange, so every connection makes progress.)
    if (o.keep_alive && exchanges.size() > before && !exchanges.back().response.complete()) break;
  }
  std::map<std::string, int> verdicts;
  int complete = 0, worst = exit_clean;
  for (std::size_t i = 0; i < exchanges.size(); ++i) {
    const Exchange& ex = exchanges[i];
    int status = exit_status_for(ex, o);
    worst = std::max(worst, status == exit_failure ? 5 : status);  // failure ranks worst
    complete += ex.response.complete();
    std::string verdict = ex.verdict ? describe(*ex.verdict) : ex.error.empty() ? "none: we closed" : "none: " + ex.error;
    ++verdicts[ex.verdict ? std::string(kind_name(*ex.verdict)) : !ex.error.empty() ? "error" : ex.kept_alive ? "kept_alive" : "closed_by_us"];
    bool warn = status == exit_clean && ex.verdict && !std::holds_alternative<CloseNotify>(*ex.verdict);
    if (o.repeat == 1) {
      if (ex.info)
        std::cerr << "lastbyte-client: " << to_string(ex.info->version) << " " << ex.info->cipher
                  << " alpn=" << (ex.info->alpn.empty() ? "-" : ex.info->alpn) << (ex.info->resumed ? " resumed" : "")
                  << " backend=" << ex.info->backend << "\n";
      const std::string& body = ex.response.body();
      if (!o.quiet) std::cout.write(body.data(), static_cast<std::streamsize>(body.size()));
      std::cout.flush();
      std::cerr << "lastbyte-client: " << response_summary(ex.response) << "\n";
      std::cerr << "lastbyte-client: verdict: " << verdict << "\n";
    } else if (status != exit_clean || warn) {
      std::cerr << "lastbyte-client: request " << i + 1 << " (connection " << ex.connection
                << "): " << response_summary(ex.response) << "; verdict: " << verdict << "\n";
    }
    if (warn && o.repeat == 1)
      std::cerr << "lastbyte-client: warning: the stream ended without close_notify after a response complete by "
                   "its framing (--require-close-notify makes this a failure)\n";
  }
  if (o.repeat > 1) {
    int connections = exchanges.empty() ? 0 : exchanges.back().connection;
    std::cerr << "lastbyte-client: requests: " << o.repeat << "; connections: " << connections
              << "; complete responses: " << complete << "; incomplete: " << o.repeat - complete << "; verdicts:";
    for (const auto& [kind, count] : verdicts) std::cerr << " " << kind << "=" << count;
    std::cerr << "\n";
  }
  return worst == 5 ? exit_failure : worst;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int status = exit_usage;
    auto options = parse(argc, argv, status);
    if (!options) return status;
    return run(*options);
  } catch (const std::invalid_argument& e) {
    return fail_usage(e.what());
  }
}
