// lastbyte-conformance: runs the scenario catalogue over every installed
// backend (as client and as server, against every installed backend as peer),
// prints a summary per scenario and backend pair with a reproducer per
// failure (report.hpp), and writes the full matrix as JUnit, Markdown, HTML.
#include <lastbyte/backend.hpp>
#include <lastbyte/conformance/clauses.hpp>
#include <lastbyte/conformance/native.hpp>
#include <lastbyte/conformance/scenarios.hpp>

#include "blackbox_mode.hpp"
#include "catalogue_doc.hpp"
#include "report.hpp"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

namespace {

using namespace lastbyte;
using namespace lastbyte::conformance;

constexpr std::uint64_t default_seed = 20261125;

const char usage[] =
    "usage: lastbyte-conformance [filters] [--quick]\n"
    "  --backend NAME     backend under test (repeatable; \"all\": every installed one;\n"
    "                     default: the configured one, LASTBYTE_BACKEND)\n"
    "  --peer NAME        peer backend (repeatable; default: every installed one)\n"
    "  --scenario GLOB    scenario ids, e.g. R0* (repeatable)\n"
    "  --schedule NAME    whole, bytewise, header-split-K, segments-N, random-SEED\n"
    "  --read-size N      application read size\n"
    "  --version 1.2|1.3  --role client|server\n"
    "  --seed N           seed of the random schedule (default 20261125)\n"
    "  --transport T      memory (the schedules), tcp (loopback through the socket driver) or both (default)\n"
    "  --r36 N            R36: N fresh loopback connections per backend pair, the server closing right\n"
    "                     after a 64 KiB response (default 2000; 200 with --quick; 0 skips it)\n"
    "  --quick            a representative subset of schedules and read sizes\n"
    "  --junit FILE       write JUnit XML (one testcase per cell; unsupported cells are <skipped/>)\n"
    "  --markdown FILE    write a Markdown report (matrix, failures with reproducers)\n"
    "  --html FILE        write one self-contained HTML page: the matrix as a heatmap with filters,\n"
    "                     each cell's details and reproducer a click away (also in black-box mode)\n"
    "  --native           drive each TLS library directly through its own I/O hooks (no record gate)\n"
    "                     over the catalogue's scripts; print what it returns beside lastbyte's cell\n"
    "                     (--scenario and --peer filter; default peer openssl)\n"
    "  --write-divergences FILE  with --native: write the measured table between\n"
    "                     <!-- native:begin --> and <!-- native:end --> in FILE (docs/divergences.md)\n"
    "  --list-native      list the TLS libraries native mode was built with and exit\n"
    "  --list             list the scenarios (the catalogue's and black-box mode's rows) and exit\n"
    "  --write-catalogue FILE  write the index of every row between <!-- catalogue:begin --> and\n"
    "                     <!-- catalogue:end --> in FILE (docs/scenarios.md) and exit\n"
    "  --clauses          list each contract clause C1-C10 with the rows and tests that prove it and\n"
    "                     exit (1 if a clause has no row or a row names no clause or an unknown one)\n"
    "  --list-backends    list the installed backends and exit\n"
    "  --list-groups      list the scenario ids with the TLS versions they apply to (tls13, tls12)\n"
    "\n"
    "black-box mode (docs/scenarios.md X and Y rows; docs/blackbox.md):\n"
    "  --client-cmd CMD   judge an HTTPS client: rows X01-X19, TLS 1.3 and 1.2, the harness as the server\n"
    "                     (--backend: its TLS stack). CMD runs with /bin/sh once per cell and must print the\n"
    "                     body on stdout; placeholders {url} {host} {port} {path} {name} {cafile}\n"
    "  --client-output body|response  what CMD prints: the body (default) or the whole response\n"
    "                     as it came out of TLS (a TLS client such as openssl s_client)\n"
    "  --server-cmd CMD   judge an HTTPS server: rows Y01-Y05; CMD must serve HTTPS on {port}\n"
    "                     (also {certfile} {keyfile} {cafile} {docroot}; it runs in {docroot}, which holds\n"
    "                     the file \"body\"); a TLS-terminating proxy forwards to {upstream}, a plaintext\n"
    "                     HTTP server the harness plays (Y05 runs only then)\n"
    "  --server-path P    what the harness requests of a server (default /body)\n"
    "  --vanishing N      Y04: connections that handshake and vanish (default 1000)\n"
    "  --cell GLOB        black-box cell names, e.g. 'X0[4-6]_*' (repeatable)\n"
    "  --expect FILE      recorded behaviour of the program (\"X04 tls13 close fail\" lines; a cell not\n"
    "                     listed must pass): exit 1 only when a cell differs from it\n"
    "  --record FILE      write what the program did as such a file (its failing cells, with why)\n"
    "  --body-size N      bytes of the body (default 100000)   --timeout S   per cell (default 20)\n"
    "  --serve CELL       serve one black-box cell alone (e.g. X04_tls13_close_openssl) and print the\n"
    "                     client command to run against it (--port P, --connections N, --client-cmd)\n"
    "  --program-backend NAME  the program is built on this lastbyte backend: the versions its library\n"
    "                     cannot speak are unsupported by that library (any other version a program does\n"
    "                     not offer fails its cells)\n"
    "  --keep             keep the workspace (certificates, the body, the server's log)\n"
    "  --verbose          the progress line of each cell (stderr) says why it passed, too\n";

struct Filters {
  std::vector<const Backend*> backends, peers;
  std::vector<std::string> scenario_globs;
  std::optional<Schedule> schedule;
  std::optional<std::size_t> read_size;
  std::optional<TlsVersion> version;
  std::optional<Role> role;
  std::uint64_t seed = default_seed;
  bool quick = false;
  bool memory = true, tcp = true;
  std::optional<int> r36;
  std::string junit, markdown, html;
  bool native = false;
  std::string write_divergences;
  BlackboxRun blackbox;
  bool serve_given = false;
  bool blackbox_mode() const { return !blackbox.client_cmd.empty() || !blackbox.server_cmd.empty() || serve_given; }
};

std::uint64_t number(std::string_view text, const char* what) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size()) throw std::invalid_argument(std::string(what) + " needs a number");
  return n;
}

std::uint64_t in_range(std::string_view text, const char* what, std::uint64_t low, std::uint64_t high) {
  std::uint64_t n = number(text, what);
  if (n < low || n > high)
    throw std::invalid_argument(std::string(what) + " takes " + std::to_string(low) + ".." + std::to_string(high));
  return n;
}

const Backend* backend_named(std::string_view name) {
  auto found = find_backend(name, installed_backends());
  if (!found) throw std::invalid_argument(found.error().message());
  return *found;
}

Filters parse(int argc, char** argv) {
  Filters f;
  // The catalogue's options (and native mode's) given: black-box mode
  // refuses them rather than ignore them (--native with --client-cmd ran
  // native mode and judged nothing).
  static const std::set<std::string_view> catalogue_options = {
      "--peer",  "--scenario",  "--schedule", "--read-size", "--role",   "--seed",
      "--quick", "--transport", "--r36",      "--native",    "--write-divergences"};
  std::vector<std::string> catalogue_given;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (catalogue_options.contains(arg)) catalogue_given.emplace_back(arg);
    auto need = [&]() -> std::string_view {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--backend") {
      auto name = need();
      if (name == "all") f.backends.assign(installed_backends().begin(), installed_backends().end());
      else f.backends.push_back(backend_named(name));
    }
    else if (arg == "--peer") f.peers.push_back(backend_named(need()));
    else if (arg == "--scenario") f.scenario_globs.emplace_back(need());
    else if (arg == "--schedule") {
      auto name = need();
      f.schedule = Schedule::parse(name);
      if (!f.schedule) throw std::invalid_argument("unknown schedule \"" + std::string(name) + "\"");
    } else if (arg == "--read-size") {
      f.read_size = number(need(), "--read-size");
      if (*f.read_size == 0) throw std::invalid_argument("--read-size must be at least 1");
    } else if (arg == "--version") {
      auto v = need();
      if (v != "1.2" && v != "1.3") throw std::invalid_argument("--version takes 1.2 or 1.3");
      f.version = v == "1.3" ? TlsVersion::tls1_3 : TlsVersion::tls1_2;
    } else if (arg == "--role") {
      auto r = need();
      if (r != "client" && r != "server") throw std::invalid_argument("--role takes client or server");
      f.role = r == "client" ? Role::client : Role::server;
    } else if (arg == "--seed") f.seed = number(need(), "--seed");
    else if (arg == "--quick") f.quick = true;
    else if (arg == "--transport") {
      auto t = need();
      if (t != "memory" && t != "tcp" && t != "both") throw std::invalid_argument("--transport takes memory, tcp or both");
      f.memory = t != "tcp";
      f.tcp = t != "memory";
    }
    else if (arg == "--r36") f.r36 = static_cast<int>(number(need(), "--r36"));
    else if (arg == "--junit") f.junit = need();
    else if (arg == "--markdown") f.markdown = need();
    else if (arg == "--html") f.html = need();
    else if (arg == "--native") f.native = true;
    else if (arg == "--write-divergences") f.write_divergences = need();
    else if (arg == "--client-cmd") f.blackbox.client_cmd = need();
    else if (arg == "--server-cmd") f.blackbox.server_cmd = need();
    else if (arg == "--client-output") {
      auto o = need();
      if (o != "body" && o != "response") throw std::invalid_argument("--client-output takes body or response");
      f.blackbox.client_output = o == "body" ? blackbox::ClientOutput::body : blackbox::ClientOutput::response;
    } else if (arg == "--serve") {
      f.blackbox.serve = need();
      f.serve_given = true;
      if (f.blackbox.serve.empty()) throw std::invalid_argument("--serve needs a cell name, e.g. X04_tls13_close_openssl");
    } else if (arg == "--program-backend") f.blackbox.program_backend = backend_named(need());
    else if (arg == "--port") {
      auto port = number(need(), "--port");
      if (port > 65535) throw std::invalid_argument("--port takes 0..65535");
      f.blackbox.port = static_cast<std::uint16_t>(port);
    } else if (arg == "--connections") f.blackbox.connections = static_cast<int>(in_range(need(), "--connections", 1, 100000));
    else if (arg == "--cell") f.blackbox.cell_globs.emplace_back(need());
    else if (arg == "--expect") f.blackbox.expect = need();
    else if (arg == "--record") f.blackbox.record = need();
    // Bounded: the judge keeps a client's stdout in memory (up to 64 MiB).
    else if (arg == "--body-size") f.blackbox.body_size = in_range(need(), "--body-size", 2, 32u << 20);
    else if (arg == "--timeout") f.blackbox.timeout_seconds = static_cast<int>(in_range(need(), "--timeout", 1, 3600));
    else if (arg == "--vanishing") f.blackbox.vanishing = static_cast<int>(in_range(need(), "--vanishing", 0, 100000));
    else if (arg == "--server-path") f.blackbox.server_path = need();
    else if (arg == "--keep") f.blackbox.keep = true;
    else if (arg == "--verbose") f.blackbox.verbose = true;
    else if (arg == "--list") {
      for (const auto& s : scenarios()) std::cout << s.id << "  " << s.title << "\n";
      std::cout << "R36  " << r36_title << "\n";
      for (const auto& row : blackbox::client_rows()) std::cout << row.id << "  " << row.title << "\n";
      for (const auto& row : blackbox::server_rows()) std::cout << row.id << "  " << row.title << "\n";
      std::exit(0);
    } else if (arg == "--write-catalogue") {
      std::string path(need());
      if (auto error = write_marked_section(path, catalogue_begin_marker, catalogue_end_marker, catalogue_markdown())) {
        std::cerr << "lastbyte-conformance: " << *error << "\n";
        std::exit(2);
      }
      std::exit(0);
    } else if (arg == "--clauses") {
      for (const auto& line : clauses_index()) std::cout << line << "\n";
      // A mapping that has drifted is an error, not a footnote.
      auto problems = clause_problems(scenarios(), contract_clauses());
      for (const auto& problem : problems) std::cerr << "lastbyte-conformance: " << problem << "\n";
      std::exit(problems.empty() ? 0 : 1);
    } else if (arg == "--list-groups") {
      for (const auto& s : scenarios())
        for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2})
          if (!s.applies || s.applies(v, Role::client) || s.applies(v, Role::server))
            std::cout << s.id << (v == TlsVersion::tls1_3 ? " tls13\n" : " tls12\n");
      std::exit(0);
    } else if (arg == "--list-native") {
      for (std::string_view name : native_library_names()) std::cout << name << "\n";
      std::exit(0);
    } else if (arg == "--list-backends") {
      for (const Backend* b : installed_backends()) std::cout << b->name << "\n";
      std::exit(0);
    } else if (arg == "-h" || arg == "--help") {
      std::cout << usage;
      std::exit(0);
    } else throw std::invalid_argument("unknown option " + std::string(arg));
  }
  if (!f.write_divergences.empty() && (!f.native || !f.scenario_globs.empty() || !f.peers.empty()))
    throw std::invalid_argument("--write-divergences needs --native, every row and the default peer");
  auto all = installed_backends();
  if (f.backends.empty()) f.backends.push_back(&default_backend());
  if (f.blackbox_mode()) {
    if (!f.blackbox.client_cmd.empty() && !f.blackbox.server_cmd.empty())
      throw std::invalid_argument("--client-cmd and --server-cmd judge one program at a time");
    // Options of the catalogue's matrix that black-box mode has no use for
    // are refused, not silently ignored.
    if (!catalogue_given.empty()) {
      std::string given;
      for (const auto& o : catalogue_given) given += (given.empty() ? "" : ", ") + o;
      throw std::invalid_argument(given + ": catalogue options; black-box mode selects cells with --cell (e.g. "
                                          "--cell 'X04_*') and --version");
    }
    if (!f.blackbox.server_cmd.empty() && !f.blackbox.cell_globs.empty())
      throw std::invalid_argument("--cell selects client cells; --server-cmd runs Y01-Y05 (filter with --version)");
    f.blackbox.backends = f.backends;
    f.blackbox.version = f.version;
    f.blackbox.junit = f.junit;
    f.blackbox.markdown = f.markdown;
    f.blackbox.html = f.html;
  }
  if (f.peers.empty()) f.peers.assign(all.begin(), all.end());
  return f;
}

bool wanted(const Filters& f, const Cell& c) {
  if (!f.scenario_globs.empty()) {  // first: it applies to both transports
    bool any = false;
    for (const auto& glob : f.scenario_globs) any |= fnmatch(glob.c_str(), std::string(c.scenario->id).c_str(), 0) == 0;
    if (!any) return false;
  }
  if (c.over_tcp) return !f.schedule && (!f.read_size || *f.read_size == c.read_size) &&
                         (!f.version || *f.version == c.version) && (!f.role || *f.role == c.victim) &&
                         (!f.quick || c.read_size == 16384);
  if (f.schedule && f.schedule->name() != c.schedule.name()) return false;
  if (f.read_size && *f.read_size != c.read_size) return false;
  if (f.version && *f.version != c.version) return false;
  if (f.role && *f.role != c.victim) return false;
  // A V row has one cell per version and pair (no byte stream, no schedule
  // to choose among): --quick keeps it whole. It used to drop them all (their
  // read size is 512), so the main job never checked a certificate decision.
  if (f.quick && !f.schedule && !f.read_size && !std::holds_alternative<CertificateCheck>(c.scenario->body)) {
    static const std::set<std::string> schedules = {"whole", "bytewise", "header-split-3", "segments-1460"};
    bool random = c.schedule.kind == Schedule::Kind::random;
    if (!random && !schedules.contains(c.schedule.name())) return false;
    if (c.read_size != 7 && c.read_size != 16384) return false;
    // 1 MiB fed one byte at a time: the full matrix has it.
    if ((c.scenario->id == "R35" || c.scenario->id == "W03") && c.schedule.kind == Schedule::Kind::bytewise)
      return false;
  }
  return true;
}

std::string column_of(const Cell& c) {
  return std::string(c.victim_backend->name) + (c.victim == Role::client ? " client" : " server") + " <- " +
         std::string(c.peer_backend->name) + (c.version == TlsVersion::tls1_3 ? " TLS1.3" : " TLS1.2");
}

}  // namespace

std::string lastbyte::conformance::xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

struct Ran {
  Cell cell;
  CellResult result;
  double seconds;
};

bool write_junit(const std::string& path, const std::vector<Ran>& runs) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  int failures = 0, skipped = 0;
  for (const auto& r : runs) {
    failures += r.result.status == CellResult::Status::fail;
    skipped += r.result.status == CellResult::Status::unsupported ||
               r.result.status == CellResult::Status::known_divergence;
  }
  std::fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
  std::fprintf(f, "<testsuite name=\"lastbyte-conformance\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\">\n",
               runs.size(), failures, skipped);
  for (const auto& r : runs) {
    std::fprintf(f, "  <testcase classname=\"%.*s\" name=\"%s\" time=\"%.4f\"", static_cast<int>(r.cell.scenario->id.size()),
                 r.cell.scenario->id.data(), r.cell.name().c_str(), r.seconds);
    if (r.result.status == CellResult::Status::pass) {
      std::fprintf(f, "/>\n");
    } else if (r.result.status != CellResult::Status::fail) {
      bool unsupported = r.result.status == CellResult::Status::unsupported;
      std::fprintf(f, "><skipped message=\"%s: %s\"/></testcase>\n",
                   unsupported ? "unsupported" : "known divergence (docs/divergences.md)",
                   xml_escape(r.result.message).c_str());
    } else {
      std::fprintf(f, "><failure message=\"%s\">%s</failure></testcase>\n",
                   xml_escape(r.result.message.substr(0, r.result.message.find('\n'))).c_str(),
                   xml_escape(r.result.message).c_str());
    }
  }
  std::fprintf(f, "</testsuite>\n</testsuites>\n");
  return std::fclose(f) == 0;
}

struct Tally {
  int pass = 0, fail = 0, unsupported = 0, diverged = 0;
  std::string short_text() const {
    if (fail) return "FAIL" + std::to_string(fail);
    if (diverged) return "known";
    if (unsupported && !pass) return "unsup";
    return "ok";
  }
};

using Matrix = std::map<std::string, std::map<std::string, Tally>>;  // scenario -> configuration -> tally

// The full grid, for --markdown (the terminal gets report::print_summary:
// this is as wide as the run has scenarios). One row per configuration
// (backend, role, peer, version), one column per scenario: "ok", "FAIL n",
// "unsup" (unsupported by this library), "known" (a documented divergence),
// "-" (the row does not define that cell).
void print_markdown_matrix(std::FILE* f, const std::vector<std::string>& configurations, const Matrix& matrix) {
  std::fprintf(f, "| %-34s", "configuration");
  for (const auto& [id, row] : matrix) std::fprintf(f, " | %-6s", id.c_str());
  std::fprintf(f, " |\n|---");
  for (std::size_t i = 0; i < matrix.size(); ++i) std::fprintf(f, "|---");
  std::fprintf(f, "|\n");
  for (const auto& configuration : configurations) {
    std::fprintf(f, "| %-34s", configuration.c_str());
    for (const auto& [id, row] : matrix) {
      auto it = row.find(configuration);
      std::string text = it == row.end() ? "-" : it->second.short_text();
      std::fprintf(f, " | %-6s", text.c_str());
    }
    std::fprintf(f, " |\n");
  }
}

// Every word the catalogue's reports use, for their legends.
const std::vector<report::LegendItem>& catalogue_legend() {
  static const std::vector<report::LegendItem> legend = {
      {"pass, ok", "the cell passed: the side under test delivered what the row demands and ended as it must"},
      {"FAIL", "the cell failed: lastbyte broke the row's contract (each failure is listed with its reproducer)"},
      {"unsup", "unsupported by this library: a TLS library of the cell cannot run it (TLS 1.3 on Mbed TLS "
                "2.28), or the pair's two libraries cannot talk (docs/divergences.md); shown and counted, never "
                "run, never a pass"},
      {"known", "a known divergence: the cell fails the way docs/divergences.md records for that library; "
                "counted apart, never a pass"},
      {"-", "no cell: the scenario defines none for that configuration (HTML: not defined)"},
      {"cell", "one scenario on one configuration under one delivery schedule and read size (in memory) or "
               "over loopback TCP"},
      {"configuration", "BACKEND client|server <- PEER TLS1.x: the backend under test, in that role, against "
                        "the peer backend, over that TLS version"},
      {"FAIL in", "where the failing cells are, with how many in brackets"},
      {"...", "a line cut at 100 columns: --junit, --markdown and --html hold every text whole, the last two "
              "the full scenario x configuration grid"},
  };
  return legend;
}

bool write_markdown(const std::string& path, const Filters& filters, const std::vector<std::string>& columns,
                    const Matrix& matrix, const std::vector<std::string>& failures, const Tally& total) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "# lastbyte conformance report\n\nBackends under test:");
  for (const Backend* b : filters.backends) std::fprintf(f, " %s (%s);", std::string(b->name).c_str(), b->library_version().c_str());
  std::fprintf(f, "\nPeers:");
  for (const Backend* b : filters.peers) std::fprintf(f, " %s;", std::string(b->name).c_str());
  std::fprintf(f, "\nRandom schedule seed: %llu%s\n\n", static_cast<unsigned long long>(filters.seed),
               filters.quick ? " (quick subset)" : "");
  std::fprintf(f, "**%d passed, %d failed, %d unsupported by this library, %d known divergences**\n\n", total.pass,
               total.fail, total.unsupported, total.diverged);
  std::fprintf(f, "Legend:");
  for (const auto& item : catalogue_legend())
    if (item.term != "FAIL in" && item.term != "...")  // words of the terminal's summary only
      std::fprintf(f, " `%s` %s;", item.term.c_str(), item.meaning.c_str());
  std::fprintf(f, "\n\n");
  print_markdown_matrix(f, columns, matrix);
  if (!failures.empty()) {
    std::fprintf(f, "\n## Failures\n");
    for (const auto& failure : failures) std::fprintf(f, "\n```\n%s```\n", failure.c_str());
  }
  return std::fclose(f) == 0;
}

// The run as the terminal summary and the HTML page see it: scenarios in
// catalogue order x configurations in the order they ran.
report::Run catalogue_report(const Filters& filters, const std::vector<Ran>& runs) {
  report::Run run{.title = "lastbyte conformance report"};
  for (const Backend* b : filters.backends) run.libraries.emplace_back(b->name, b->library_version());
  std::string peers;
  for (const Backend* b : filters.peers) peers += (peers.empty() ? "" : ", ") + std::string(b->name);
  run.notes.push_back("Peers: " + peers);
  run.notes.push_back("Random schedule seed: " + std::to_string(filters.seed) + (filters.quick ? " (quick subset)" : ""));
  run.legend = catalogue_legend();
  std::map<std::string_view, std::size_t> row_of;
  for (const auto& scenario : scenarios())
    for (const auto& r : runs)
      if (r.cell.scenario == &scenario) {
        row_of[scenario.id] = run.rows.size();
        run.rows.push_back({.id = std::string(scenario.id), .title = std::string(scenario.title)});
        break;
      }
  std::map<std::string, std::size_t> column_of_label;
  for (const auto& r : runs) {
    const Cell& c = r.cell;
    auto [at, added] = column_of_label.try_emplace(column_of(c), run.columns.size());
    if (added)
      run.columns.push_back({.label = at->first,
                             .backend = std::string(c.victim_backend->name),
                             .peer = std::string(c.peer_backend->name),
                             .role = c.victim == Role::client ? "client" : "server",
                             .version = c.version == TlsVersion::tls1_3 ? "1.3" : "1.2"});
    using S = CellResult::Status;
    auto [outcome, word] = r.result.status == S::pass          ? std::pair{report::Outcome::pass, "ok"}
                           : r.result.status == S::fail        ? std::pair{report::Outcome::fail, "FAIL"}
                           : r.result.status == S::unsupported ? std::pair{report::Outcome::unsupported, "unsup"}
                                                               : std::pair{report::Outcome::known, "known"};
    run.entries.push_back({.row = row_of.at(c.scenario->id),
                           .column = at->second,
                           .outcome = outcome,
                           .word = word,
                           .name = c.name(),
                           .message = r.result.message});
  }
  return run;
}

// --native: the measured table (docs/divergences.md) and, per row, library
// and version, what the library returned beside lastbyte's cell.
int run_native_mode(const Filters& filters) {
  NativeOptions options{.scenario_globs = filters.scenario_globs};
  if (filters.peers.size() == 1) options.peer = filters.peers.front();
  NativeReport report;
  try {
    report = run_native(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lastbyte-conformance: %s\n", e.what());
    return 2;
  }
  if (report.rows == 0) {
    std::cerr << "lastbyte-conformance: the filters select no row of the native table\n";
    return 2;
  }
  std::cout << report.text << report.markdown;
  if (!filters.write_divergences.empty()) {
    if (auto error = write_native_section(filters.write_divergences, report.markdown)) {
      std::fprintf(stderr, "lastbyte-conformance: %s\n", error->c_str());
      return 2;
    }
  }
  std::printf("\n%d rows measured natively; %d lastbyte cells failed\n", report.rows, report.lastbyte_failures);
  return report.lastbyte_failures ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Filters filters;
  try {
    filters = parse(argc, argv);
  } catch (const std::invalid_argument& e) {
    // The reason alone: the whole usage would bury it.
    std::cerr << "lastbyte-conformance: " << e.what() << "\n(lastbyte-conformance --help lists the options)\n";
    return 2;
  }
  if (filters.native) return run_native_mode(filters);
  if (filters.blackbox_mode()) return run_blackbox(filters.blackbox);
  std::vector<Cell> cells;
  for (const auto& scenario : scenarios())
    for (const Backend* backend : filters.backends)
      for (const Backend* peer : filters.peers)
        for (const auto& candidates : {filters.memory ? cells_for(scenario, *backend, *peer, filters.seed)
                                                      : std::vector<Cell>{},
                                       filters.tcp ? tcp_cells_for(scenario, *backend, *peer) : std::vector<Cell>{}})
          for (const Cell& cell : candidates)
            if (wanted(filters, cell)) cells.push_back(cell);
  bool r36_selected = filters.scenario_globs.empty() ||
                      std::any_of(filters.scenario_globs.begin(), filters.scenario_globs.end(),
                                  [](const std::string& glob) { return fnmatch(glob.c_str(), "R36", 0) == 0; });
  if (cells.empty() && !r36_selected) {
    std::cerr << "lastbyte-conformance: the filters select no cell (see --list)\n";
    return 2;
  }
  std::string header = "lastbyte-conformance: " + std::to_string(cells.size()) + " cells; backends:";
  for (const Backend* b : filters.backends)
    header += " " + std::string(b->name) + " (" + b->library_version() + ")" + (b == filters.backends.back() ? "" : ",");
  for (const auto& line : report::wrap_words(header)) std::cout << line << "\n";
  std::cout << std::flush;

  bool tty = ::isatty(STDERR_FILENO);
  Matrix matrix;  // scenario -> column -> tally
  std::vector<std::string> columns;
  std::vector<std::string> failures;
  Tally total;
  std::vector<Ran> runs;
  runs.reserve(cells.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const Cell& cell = cells[i];
    auto started = std::chrono::steady_clock::now();
    CellResult result = run_cell(cell);
    runs.push_back({cell, result, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()});
    std::string column = column_of(cell);
    if (std::find(columns.begin(), columns.end(), column) == columns.end()) columns.push_back(column);
    Tally& tally = matrix[std::string(cell.scenario->id)][column];
    switch (result.status) {
      case CellResult::Status::pass: ++tally.pass, ++total.pass; break;
      case CellResult::Status::unsupported: ++tally.unsupported, ++total.unsupported; break;
      case CellResult::Status::known_divergence: ++tally.diverged, ++total.diverged; break;
      case CellResult::Status::fail:
        ++tally.fail, ++total.fail;
        failures.push_back("FAIL " + cell.name() + "\n" + result.message);
        break;
    }
    if (tty && (i % 50 == 0 || i + 1 == cells.size()))
      std::cerr << "\r" << i + 1 << "/" << cells.size() << " cells, " << total.fail << " failed" << std::flush;
  }
  if (tty) std::cerr << "\n";

  report::Run run = catalogue_report(filters, runs);
  report::print_summary(stdout, run);
  int r36 = filters.r36.value_or(filters.quick ? 200 : 2000);
  if (r36 > 0 && r36_selected && filters.tcp) {
    std::printf("\nR36: %d fresh loopback connections per pair, server closing right after a 64 KiB response\n", r36);
    for (const Backend* backend : filters.backends)
      for (const Backend* peer : filters.peers) {
        auto result = run_http_exchanges(*backend, *peer, r36, 64 * 1024);
        bool ok = result && result->complete == r36 && result->verdicts["close_notify"] == r36;
        std::string pair = std::string(backend->name) + " client <- " + std::string(peer->name) + " server";
        std::string outcome = result ? std::to_string(result->complete) + "/" + std::to_string(r36) +
                                           " complete bodies, " + std::to_string(result->verdicts["close_notify"]) +
                                           " close_notify"
                                     : result.error().message();
        // A pair that cannot talk TLS 1.3 runs R36 over TLS 1.2 (the end of
        // the stream is the same question); the report says so, after the
        // outcome (a terminal line is cut at 100 columns).
        if (result && result->limited) outcome += " (TLS 1.2: TLS 1.3 is " + describe(*result->limited) + ")";
        std::printf("%s\n", report::clip("  " + pair + ": " + outcome).c_str());
        run.notes.push_back("R36 " + pair + ": " + outcome + (ok ? "" : " (FAIL)"));
        ++(ok ? total.pass : total.fail);
        if (!ok) {
          failures.push_back("FAIL R36 " + std::string(backend->name) + " client <- " + std::string(peer->name) +
                             " server\nreproduce: lastbyte-conformance --scenario R36 --backend " +
                             std::string(backend->name) + " --peer " + std::string(peer->name) + " --r36 " +
                             std::to_string(r36) + "\n");
          std::printf("%s", failures.back().c_str());
        }
      }
  }
  report::print_legend(stdout, run);
  // Tests and CI parse this line: its wording stays.
  char totals[200];
  std::snprintf(totals, sizeof totals,
                "%d passed, %d failed, %d unsupported by this library, %d known divergences (docs/divergences.md)",
                total.pass, total.fail, total.unsupported, total.diverged);
  std::printf("\n%s\n", totals);
  run.totals_line = totals;
  if (!filters.junit.empty() && !write_junit(filters.junit, runs)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", filters.junit.c_str());
    return 2;
  }
  if (!filters.markdown.empty() && !write_markdown(filters.markdown, filters, columns, matrix, failures, total)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", filters.markdown.c_str());
    return 2;
  }
  if (!filters.html.empty() && !report::write_html(filters.html, run)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", filters.html.c_str());
    return 2;
  }
  return total.fail ? 1 : 0;
}
