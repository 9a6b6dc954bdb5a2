// lastbyte-client: HTTP/1.1 over lastbyte through the reference socket driver.
// Prints the body to stdout, the session and the verdict to stderr; with -n,
// repeats on fresh connections and summarises.
//
// Exit status: 0 every connection ended with close_notify and a complete
// body; 3 a stream was truncated; 4 a stream was reset; 1 any other failure
// (handshake, protocol, I/O, short body); 2 usage.
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
    "  -n N             repeat on N fresh connections and print a summary\n"
    "  --data TEXT      send a POST with this body (default: GET)\n"
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
  bool insecure = false, quiet = false;
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
  if (positional.empty() || positional.size() > 2) throw std::invalid_argument("expected host:port [path] or a URL");
  auto target = tools::parse_target(positional[0]);
  if (!target) throw std::invalid_argument("cannot parse target \"" + std::string(positional[0]) + "\"");
  o.target = *target;
  if (positional.size() == 2) o.target.path = positional[1];
  return o;
}

std::string request_for(const Options& o) {
  std::string host = o.target.host.find(':') != std::string::npos ? "[" + o.target.host + "]" : o.target.host;
  std::string method = o.data ? "POST" : "GET";
  std::string req = method + " " + o.target.path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: lastbyte-client\r\n" +
                    "Connection: close\r\n";
  if (o.data) req += "Content-Length: " + std::to_string(o.data->size()) + "\r\n";
  return req + "\r\n" + o.data.value_or("");
}

struct Result {
  std::optional<Verdict> verdict;
  std::string error;  // set when no verdict (connect/I/O failure)
  tools::Response response;
  std::optional<SessionInfo> info;
};

Result fetch(const Context& context, const Options& o, const std::string& request) {
  Result result;
  auto deadline = net::after(std::chrono::seconds(o.timeout_s));
  auto socket = net::connect_tcp(o.target.host, o.target.port, deadline);
  if (!socket) return {std::nullopt, socket.error().message(), {}, {}};
  auto connection = Connection::create(context, {.server_name = o.target.host});
  if (!connection) return {std::nullopt, connection.error().message(), {}, {}};
  net::SocketDriver driver(*socket, *connection);
  if (auto e = driver.write_all(std::as_bytes(std::span(request)), deadline))
    if (!connection->verdict()) return {std::nullopt, "sending the request: " + e.message(), {}, {}};
  std::string raw;
  std::vector<std::byte> buffer(64 * 1024);
  for (;;) {
    auto r = driver.read(buffer, deadline);
    if (r.status == IoStatus::ok) {
      raw.append(reinterpret_cast<const char*>(buffer.data()), r.bytes);
      continue;
    }
    if (r.status == IoStatus::end) break;
    result.error = "reading the response: " + r.error.message();
    break;
  }
  if (auto info = connection->info()) result.info = *info;
  result.verdict = connection->verdict();
  if (result.verdict && std::holds_alternative<CloseNotify>(*result.verdict)) driver.close(deadline);
  result.response = tools::parse_response(raw);
  return result;
}

int exit_status_for(const Result& r) {
  if (!r.verdict) return exit_failure;
  if (std::holds_alternative<Truncated>(*r.verdict)) return exit_truncated;
  if (std::holds_alternative<Reset>(*r.verdict)) return exit_reset;
  if (std::holds_alternative<CloseNotify>(*r.verdict) && r.response.complete()) return exit_clean;
  return exit_failure;
}

std::string body_summary(const tools::Response& response) {
  if (!response.headers_complete) return "no complete response headers";
  std::string expected = response.content_length ? std::to_string(*response.content_length) : "?";
  return "HTTP " + std::to_string(response.status) + ", body " + std::to_string(response.body.size()) + "/" +
         expected + " bytes (" + (response.complete() ? "complete" : "short") + ")";
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
  std::string request = request_for(o);
  std::map<std::string, int> verdicts;
  int complete = 0, worst = exit_clean;
  for (int i = 0; i < o.repeat; ++i) {
    Result r = fetch(*context, o, request);
    int status = exit_status_for(r);
    worst = std::max(worst, status == exit_failure ? 5 : status);  // failure ranks worst
    complete += r.response.complete();
    std::string verdict = r.verdict ? describe(*r.verdict) : "none: " + r.error;
    ++verdicts[r.verdict ? std::string(kind_name(*r.verdict)) : "error"];
    if (o.repeat == 1) {
      if (r.info)
        std::cerr << "lastbyte-client: " << to_string(r.info->version) << " " << r.info->cipher
                  << " alpn=" << (r.info->alpn.empty() ? "-" : r.info->alpn) << (r.info->resumed ? " resumed" : "")
                  << " backend=" << r.info->backend << "\n";
      if (!o.quiet) std::cout.write(r.response.body.data(), static_cast<std::streamsize>(r.response.body.size()));
      std::cout.flush();
      std::cerr << "lastbyte-client: " << body_summary(r.response) << "\n";
      std::cerr << "lastbyte-client: verdict: " << verdict << "\n";
    } else if (status != exit_clean) {
      std::cerr << "lastbyte-client: connection " << i + 1 << ": " << body_summary(r.response) << "; verdict: " << verdict
                << "\n";
    }
  }
  if (o.repeat > 1) {
    std::cerr << "lastbyte-client: connections: " << o.repeat << "; complete bodies: " << complete
              << "; short bodies: " << o.repeat - complete << "; verdicts:";
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
