// Black-box mode (docs/scenarios.md, X and Y rows): the harness plays the peer of
// a TLS program it did not build, over loopback TCP, and judges the program
// by what it outputs (the body on stdout, its exit status) or, for a server,
// by what it answers and whether it keeps serving.
//
// Client mode: for every cell the harness listens on 127.0.0.1, starts the
// command (placeholders {url} {host} {port} {path} {name} {cafile}), serves
// the one connection it makes with the row's response and end (real records
// from a lastbyte Connection on the cell's backend; the record forge for
// records no library sends), and judges stdout and the exit status.
//
// Server mode: the harness starts the command once (placeholders {port}
// {certfile} {keyfile} {cafile} {docroot}), plays the client of rows
// Y01-Y05 against it, and after every row checks that a plain request is
// still answered.
#pragma once

#include <lastbyte/conformance/harness.hpp>

#include <sys/types.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance::blackbox {

// How the harness-server frames the body (X rows).
enum class Framing { length, close, chunked };
std::string_view to_string(Framing framing);

// What the client command writes to stdout: the body alone (an HTTP client:
// curl -s, urllib), or the whole response as it came out of TLS (a TLS
// client such as openssl s_client: status line, headers and the body as
// framed on the wire, chunk sizes included).
enum class ClientOutput { body, response };

struct ClientRow {
  std::string_view id;
  std::string_view title;
  std::vector<Framing> framings;  // the cells of the row (X15: one, the framing does not matter)
  bool tls13_only = false;        // X11
  bool uses_forge = false;        // the harness protects some of the records itself
  bool wrong_certificate = false;  // X15
};
std::span<const ClientRow> client_rows();

struct ClientCell {
  const ClientRow* row = nullptr;
  TlsVersion version = TlsVersion::tls1_3;
  Framing framing = Framing::length;
  // X15 has two cells per version: a certificate for another name and one
  // from an untrusted root.
  enum class Certificate { good, other_name, untrusted_root } certificate = Certificate::good;
  const Backend* backend = nullptr;  // the harness-server's TLS stack

  std::string name() const;  // X04_tls13_close_openssl, X15_tls12_other-name_gnutls
  // What can tell the client that the stream did not end whole: "HTTP
  // framing" (a Content-Length or chunked body cut short), "TLS only" (a
  // close-delimited body, an alert, an injected or bad record: only the TLS
  // layer's verdict tells), "clean end" (nothing to detect), "certificate".
  // A client that passes only the framing rows does not handle truncation.
  std::string_view detected_by() const;
  // "X04 tls13 close": the key of an expectation (the backend left out: the
  // program under test should not care which library plays the server).
  std::string expectation_key() const;
  static std::optional<ClientCell> parse(std::string_view name);
};
std::vector<ClientCell> client_cells(const Backend& backend);

// Where the run keeps the certificates and the body (removed on destruction
// unless kept).
class Workspace {
 public:
  // `docroot`: write the body to docroot()/body, for a server under test.
  static Expected<Workspace> create(std::size_t body_size, bool keep = false, bool docroot = false);
  Workspace(Workspace&& other) noexcept;
  Workspace& operator=(Workspace&&) = delete;
  ~Workspace();

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path cafile() const { return dir_ / "ca.pem"; }
  std::filesystem::path certfile() const { return dir_ / "server-chain.pem"; }
  std::filesystem::path keyfile() const { return dir_ / "server-key.pem"; }
  std::filesystem::path docroot() const { return dir_ / "docroot"; }
  const Bytes& body() const { return body_; }
  // Keep the directory after this object (--serve, once it serves).
  void keep() { keep_ = true; }

 private:
  Workspace() = default;
  std::filesystem::path dir_;
  Bytes body_;
  bool keep_ = false;
};

enum class Status { pass, fail, unsupported };
std::string_view to_string(Status status);

struct Judgement {
  Status status = Status::fail;
  std::string message;  // why (failures), or what was seen (passes, for the report)
  // A failure's class ("accepted-truncation", "never-connected", ...): what
  // an expectations file records and compares, unlike the message.
  std::string kind = {};
};

struct CommandResult {
  int exit_code = -1;     // -N: killed by signal N
  bool timed_out = false;
  Bytes out;              // stdout
  std::string err;        // stderr (its last 4 KiB)
  bool success() const { return !timed_out && exit_code == 0; }
  std::string describe() const;  // "exit 0", "exit 1", "killed by signal 9", "timed out after ..."
};

// Runs `command` with /bin/sh -c in its own process group, stdin from
// /dev/null; kills the group at the deadline. Nothing is left running.
CommandResult run_command(const std::string& command, std::chrono::milliseconds timeout,
                          const std::filesystem::path& cwd = {});

// {name} in `text` replaced; an unknown placeholder is an error (a typo must
// not run a command that silently ignores it).
Expected<std::string> substitute(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values);

// The placeholders a client command and a server command may hold.
inline constexpr std::array<std::string_view, 6> client_placeholder_names = {"url",  "host", "port",
                                                                              "path", "name", "cafile"};
// {upstream}: host:port of a plaintext HTTP server the harness plays, for a
// TLS-terminating proxy to forward to (Y05 runs only when it is used).
inline constexpr std::array<std::string_view, 7> server_placeholder_names = {
    "port", "host", "certfile", "keyfile", "cafile", "docroot", "upstream"};
// What is wrong with the command's placeholders, checked before anything
// runs: a misspelt one ({URL}) would otherwise fail every cell alike, and a
// recording of it would be 57 lines of "fail".
std::optional<std::string> check_placeholders(std::string_view command, std::span<const std::string_view> known);

struct ClientOptions {
  std::string command;
  ClientOutput output = ClientOutput::body;
  std::chrono::milliseconds timeout = std::chrono::seconds(20);
};

// One cell: serve, run, judge. `message` ends with the reproducer on failure.
Judgement run_client_cell(const ClientCell& cell, const ClientOptions& options, const Workspace& workspace);

// --serve: the cell's server alone on `port` (0: any) for `connections`
// connections; prints the client command to run against it (the
// placeholders filled when `command` is given) before it accepts.
int serve_client_cell(const ClientCell& cell, Workspace& workspace, std::uint16_t port, int connections,
                      const std::string& command);

// The command line that re-runs one failing cell on its own.
std::string client_reproducer(const ClientCell& cell, const ClientOptions& options, std::size_t body_size);

// Kills the process groups of the commands running now (async-signal-safe:
// for a signal handler, so that an interrupted run leaves nothing running).
void kill_running_programs() noexcept;
// Slot 0: the client command; slot 1: the server command (0: none).
void register_program(int slot, pid_t group) noexcept;

// ---- server mode -------------------------------------------------------------

struct ServerOptions {
  std::string command;
  std::string path = "/body";  // what the probes request
  int vanishing_connections = 1000;  // Y04
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
  // Called with each cell as soon as it is judged (progress lines).
  std::function<void(const struct ServerCellResult&)> on_result = {};
};

struct ServerCellResult {
  std::string name;  // Y01_tls13_openssl
  std::string_view row;
  TlsVersion version;
  Judgement judgement;
};

// Starts the command, runs Y01-Y05 for each version in `versions` with
// `backend` as the harness-client, stops the command. The last element is
// "the server stayed up" when the server exited on its own.
std::vector<ServerCellResult> run_server_rows(const ServerOptions& options, const Backend& backend,
                                              const std::vector<TlsVersion>& versions, const Workspace& workspace);
struct ServerRow {
  std::string_view id;
  std::string_view title;
};
std::span<const ServerRow> server_rows();

// ---- expectations (the recorded behaviour of a third-party program) -------

// Lines "X04 tls13 close fail  # why"; a cell absent from the file is
// expected to pass. "racy": the program's own outcome depends on timing
// (gnutls-cli's stdin EOF racing the server's FIN), so either is recorded.
enum class Expect { pass, fail, racy };
// Lines "X04 tls13 close fail:accepted-truncation  # why": a recorded
// failure names its kinds (Judgement::kind, comma-separated); a cell that
// fails another way is not as expected. A bare "fail" takes any failure.
struct Expectations {
  struct Cell {
    Expect expect = Expect::pass;
    std::vector<std::string> kinds = {};  // empty: any failure
  };
  std::vector<std::pair<std::string, Cell>> cells;
  Cell find(const std::string& key) const;
};
Expected<Expectations> load_expectations(const std::filesystem::path& file);

}  // namespace lastbyte::conformance::blackbox
