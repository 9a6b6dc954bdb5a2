// Black-box mode of lastbyte-conformance: runs the X rows against a client
// command or the Y rows against a server command, prints the summary
// (report.hpp), writes JUnit, Markdown and HTML, and compares with recorded
// expectations.
#include "blackbox_mode.hpp"
#include "report.hpp"

#include <fnmatch.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

namespace lastbyte::conformance {

namespace {

using blackbox::Status;

struct Result {
  std::string name;      // the cell
  std::string row;       // matrix row: "X08 close", "Y01"
  std::string title;     // the row's title
  std::string column;    // matrix column: "tls13 openssl"
  std::string key;       // expectation key
  std::string detected_by = {};  // client cells: "TLS only", "HTTP framing", ... (ClientCell::detected_by)
  blackbox::Judgement judgement;
  blackbox::Expect expected = blackbox::Expect::pass;  // from --expect
  double seconds = 0;
  std::vector<std::string> expected_kinds = {};  // a recorded failure's kinds (empty: any)

  // What the run makes of it: a cell that behaves as recorded is not a
  // failure of the run (a finding about the program, shown as such). A
  // recorded failure must fail the recorded way: one that now fails
  // because the program never connected is not the finding on record.
  bool fails_as_recorded() const {
    return judgement.status == Status::fail &&
           (expected_kinds.empty() ||
            std::find(expected_kinds.begin(), expected_kinds.end(), judgement.kind) != expected_kinds.end());
  }
  bool as_expected() const {
    switch (expected) {
      case blackbox::Expect::pass: return judgement.status != Status::fail;
      case blackbox::Expect::fail: return judgement.status == Status::unsupported || fails_as_recorded();
      case blackbox::Expect::racy: return judgement.status != Status::fail || fails_as_recorded();
    }
    return false;
  }
  std::string short_text() const {
    if (judgement.status == Status::unsupported) return "unsup";
    if (judgement.status == Status::pass) return expected == blackbox::Expect::racy ? "ok~" : as_expected() ? "ok" : "PASS!";
    return expected == blackbox::Expect::racy ? "fail~" : as_expected() ? "fail*" : "FAIL";
  }
};

bool selected(const BlackboxRun& run, const std::string& name) {
  if (run.cell_globs.empty()) return true;
  return std::any_of(run.cell_globs.begin(), run.cell_globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), name.c_str(), 0) == 0; });
}

// The full grid, for --markdown (the terminal gets report::print_summary).
void print_matrix(std::FILE* f, const std::vector<Result>& results, bool markdown) {
  std::vector<std::string> rows, columns;
  std::map<std::pair<std::string, std::string>, std::string> text;
  for (const auto& r : results) {
    if (std::find(rows.begin(), rows.end(), r.row) == rows.end()) rows.push_back(r.row);
    if (std::find(columns.begin(), columns.end(), r.column) == columns.end()) columns.push_back(r.column);
    text[{r.row, r.column}] = r.short_text();
  }
  const char* sep = markdown ? " | " : "  ";
  std::fprintf(f, markdown ? "| %-22s" : "%-22s", "row");
  for (const auto& c : columns) std::fprintf(f, "%s%-16s", sep, c.c_str());
  std::fprintf(f, markdown ? " |\n" : "\n");
  if (markdown) {
    std::fprintf(f, "|---");
    for (std::size_t i = 0; i < columns.size(); ++i) std::fprintf(f, "|---");
    std::fprintf(f, "|\n");
  }
  for (const auto& row : rows) {
    std::fprintf(f, markdown ? "| %-22s" : "%-22s", row.c_str());
    for (const auto& c : columns) {
      auto it = text.find({row, c});
      std::fprintf(f, "%s%-16s", sep, it == text.end() ? "-" : it->second.c_str());
    }
    std::fprintf(f, markdown ? " |\n" : "\n");
  }
}

bool write_junit(const std::string& path, const std::vector<Result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  int failures = 0, skipped = 0;
  for (const auto& r : results) {
    failures += !r.as_expected();
    skipped += r.judgement.status == Status::unsupported;
  }
  std::fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
  std::fprintf(f, "<testsuite name=\"lastbyte-conformance-blackbox\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\">\n",
               results.size(), failures, skipped);
  for (const auto& r : results) {
    std::fprintf(f, "  <testcase classname=\"%s\" name=\"%s\" time=\"%.4f\"", xml_escape(r.row).c_str(),
                 xml_escape(r.name).c_str(), r.seconds);
    if (r.judgement.status == Status::unsupported)
      std::fprintf(f, "><skipped message=\"unsupported by this library: %s\"/></testcase>\n",
                   xml_escape(r.judgement.message).c_str());
    else if (!r.as_expected())
      std::fprintf(f, "><failure message=\"%s\">%s</failure></testcase>\n",
                   xml_escape(r.judgement.message.substr(0, r.judgement.message.find('\n'))).c_str(),
                   xml_escape(r.judgement.message).c_str());
    else if (r.judgement.status == Status::fail)  // recorded: a finding about the program
      std::fprintf(f, "><system-out>expected failure (recorded): %s</system-out></testcase>\n",
                   xml_escape(r.judgement.message).c_str());
    else
      std::fprintf(f, "/>\n");
  }
  std::fprintf(f, "</testsuite>\n</testsuites>\n");
  return std::fclose(f) == 0;
}

bool write_markdown(const std::string& path, const std::string& subject, const std::vector<Result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "# lastbyte black-box report\n\nProgram under test: `%s`\n\n", subject.c_str());
  std::fprintf(f, "ok: passes the row; fail*: fails it as its recorded expectation says (a finding about the "
                  "program); FAIL: fails it unexpectedly; PASS!: passes a row it is recorded to fail; ok~ / fail~: "
                  "recorded as racy (the program's outcome depends on timing); unsup: unsupported by the "
                  "harness's library\n\n");
  print_matrix(f, results, true);
  std::map<std::string, int> unsupported;
  for (const auto& r : results)
    if (r.judgement.status == Status::unsupported) ++unsupported[r.judgement.message];
  if (!unsupported.empty()) std::fprintf(f, "\n## Unsupported cells\n\n");
  for (const auto& [why, n] : unsupported) std::fprintf(f, "- %d: %s\n", n, why.c_str());
  std::fprintf(f, "\n## Cells that fail the row\n");
  for (const auto& r : results)
    if (r.judgement.status == Status::fail)
      std::fprintf(f, "\n**%s**%s\n```\n%s\n```\n", r.name.c_str(), r.as_expected() ? " (recorded)" : "",
                   r.judgement.message.c_str());
  return std::fclose(f) == 0;
}

// The measured behaviour as an expectations file: one line per failing
// cell (a cell not listed must pass), the reason as a comment. A cell
// failing on one backend and passing on another is recorded as failing,
// with the backends named: the program should not care who serves it.
bool write_record(const std::string& path, const std::string& subject, const std::vector<Result>& results) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::fprintf(f, "# lastbyte-conformance --record: what `%s` does on the black-box rows.\n", subject.c_str());
  std::fprintf(f, "# ROW VERSION VARIANT fail:KIND[,KIND] (how it failed); a cell not listed must pass.\n");
  std::vector<std::string> written;
  for (const auto& r : results) {
    if (r.judgement.status != Status::fail) continue;
    if (std::find(written.begin(), written.end(), r.key) != written.end()) continue;
    written.push_back(r.key);
    std::string backends, kinds, why = r.judgement.message.substr(0, r.judgement.message.find('\n'));
    for (const auto& other : results)
      if (other.key == r.key && other.judgement.status == Status::fail) {
        backends += (backends.empty() ? "" : ",") + other.column.substr(other.column.find(' ') + 1);
        if (("," + kinds + ",").find("," + other.judgement.kind + ",") == std::string::npos)
          kinds += (kinds.empty() ? "" : ",") + other.judgement.kind;
      }
    std::string expect = "fail:" + kinds;
    std::fprintf(f, "%-24s %-28s # %s (%s)\n", r.key.c_str(), expect.c_str(), why.c_str(), backends.c_str());
  }
  return std::fclose(f) == 0;
}

// Every word black-box mode's reports use, for their legends.
const std::vector<report::LegendItem> blackbox_legend = {
    {"pass, ok", "the program passes the row"},
    {"FAIL", "it fails the row unexpectedly (a cell not in --expect must pass), or passes one recorded as "
             "failing (PASS!): the run fails; each is listed, a failure with its reproducer"},
    {"PASS!", "it passes a row its --expect file records as failing (update the file): the run fails"},
    {"known, fail*", "a recorded failure: it fails the row as its --expect file says (a finding about the program)"},
    {"ok~, fail~", "recorded as racy: the program's outcome depends on timing (counted as pass or known)"},
    {"unsup", "unsupported by the harness's library or by the program's (--program-backend): never run; "
              "each reason says which"},
    {"configuration", "tls13|tls12 BACKEND: the TLS version and the lastbyte backend playing the program's "
                      "peer"},
    {"FAIL in", "where the failing cells are, with how many in brackets"},
    {"...", "a line cut at 100 columns: --junit, --markdown and --html hold every text whole, the last two "
            "the full row x configuration grid"},
};

// The run as the terminal summary and the HTML page see it.
report::Run report_of(const BlackboxRun& run, const std::string& subject, const std::vector<Result>& results) {
  bool clients = !run.client_cmd.empty();
  report::Run out{.title = clients ? "lastbyte black-box report: a client" : "lastbyte black-box report: a server",
                  .subject = subject,
                  .row_heading = "row",
                  .known_heading = "recorded failure",
                  .legend = blackbox_legend};
  for (const Backend* b : run.backends) out.libraries.emplace_back(b->name, b->library_version());
  if (run.program_backend)
    out.notes.push_back("Program built on: " + std::string(run.program_backend->name) + " (" +
                        run.program_backend->library_version() + ")");
  if (!run.expect.empty()) out.notes.push_back("Expectations: " + run.expect);
  std::map<std::string, std::size_t> row_of, column_of;
  for (const auto& r : results) {
    auto [row, new_row] = row_of.try_emplace(r.row, out.rows.size());
    if (new_row) out.rows.push_back({.id = r.row, .title = r.title});
    auto [column, new_column] = column_of.try_emplace(r.column, out.columns.size());
    if (new_column)
      out.columns.push_back({.label = r.column,
                             .backend = r.column.substr(r.column.find(' ') + 1),
                             .peer = "program",
                             .role = clients ? "client" : "server",
                             .version = r.column.starts_with("tls13") ? "1.3" : "1.2"});
    report::Outcome outcome = r.judgement.status == Status::unsupported ? report::Outcome::unsupported
                              : !r.as_expected()                       ? report::Outcome::fail
                              : r.judgement.status == Status::fail     ? report::Outcome::known
                                                                       : report::Outcome::pass;
    std::string message = r.judgement.message;
    if (r.judgement.status == Status::pass && !r.as_expected())
      message = "passes a row recorded as failing (" + r.key + "): update the expectations\n" + message;
    else if (r.judgement.status == Status::fail && !r.as_expected() && !r.expected_kinds.empty())
      message = "fails another way than recorded (" + r.judgement.kind + ", recorded: " + r.expected_kinds.front() +
                (r.expected_kinds.size() > 1 ? ", ..." : "") + ")\n" + message;
    out.entries.push_back({.row = row->second,
                           .column = column->second,
                           .outcome = outcome,
                           .word = r.short_text(),
                           .name = r.name,
                           .message = std::move(message)});
  }
  return out;
}

// Per label (ClientCell::detected_by), how many cells the program passed:
// "handles truncation" must be read off the TLS-only rows, not the ones
// the HTTP framing caught.
std::vector<std::string> detection_lines(const std::vector<Result>& results) {
  std::vector<std::string> lines;
  for (std::string_view label : {"TLS only", "HTTP framing"}) {
    int passed = 0, ran = 0;
    for (const auto& r : results)
      if (r.detected_by == label && r.judgement.status != Status::unsupported) {
        ++ran;
        passed += r.judgement.status == Status::pass;
      }
    if (ran == 0) continue;
    lines.push_back(std::string(label == "TLS only" ? "TLS-only rows (only TLS can tell the end was not whole)"
                                                    : "HTTP-framing rows (the body's framing shows the cut)") +
                    ": " + std::to_string(passed) + " of " + std::to_string(ran) + " cells passed");
  }
  return lines;
}

int report(const BlackboxRun& run, const std::string& subject, std::vector<Result>& results) {
  if (!run.record.empty() && !write_record(run.record, subject, results)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", run.record.c_str());
    return 2;
  }
  if (!run.expect.empty()) {
    auto expectations = blackbox::load_expectations(run.expect);
    if (!expectations) {
      std::fprintf(stderr, "lastbyte-conformance: %s\n", expectations.error().detail.c_str());
      return 2;
    }
    for (auto& r : results) {
      auto recorded_cell = expectations->find(r.key);
      r.expected = recorded_cell.expect;
      r.expected_kinds = recorded_cell.kinds;
    }
  }
  report::Run summary = report_of(run, subject, results);
  auto detection = detection_lines(results);
  summary.notes.insert(summary.notes.end(), detection.begin(), detection.end());
  report::print_summary(stdout, summary);
  report::print_legend(stdout, summary);
  if (!detection.empty()) std::printf("\n");
  for (const auto& line : detection) std::printf("%s\n", report::clip(line).c_str());
  int pass = 0, fail = 0, unsupported = 0, recorded = 0, unexpected = 0;
  for (const auto& r : results) {
    switch (r.judgement.status) {
      case Status::pass: ++pass; break;
      case Status::fail: ++fail; break;
      case Status::unsupported: ++unsupported; break;
    }
    if (r.judgement.status == Status::fail && r.as_expected()) ++recorded;
    unexpected += !r.as_expected();
  }
  // The counts, then the verdict on a line of its own (the legend says
  // who an unsupported cell is unsupported by).
  // Without --expect every cell must pass: no expectations to mention.
  char counts[200], verdict[64];
  std::string recorded_text =
      run.expect.empty() ? "" : " (" + std::to_string(recorded) + " of them as recorded in the expectations)";
  std::snprintf(counts, sizeof counts, "%zu cells: %d passed, %d failed%s, %d unsupported", results.size(), pass,
                fail, recorded_text.c_str(), unsupported);
  std::snprintf(verdict, sizeof verdict, "%d not as expected", unexpected);
  summary.totals_line = std::string(counts) + "; " + verdict;
  std::printf("\n%s\n%s\n", report::clip(counts).c_str(), verdict);
  if (!run.junit.empty() && !write_junit(run.junit, results)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", run.junit.c_str());
    return 2;
  }
  if (!run.markdown.empty() && !write_markdown(run.markdown, subject, results)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", run.markdown.c_str());
    return 2;
  }
  if (!run.html.empty() && !report::write_html(run.html, summary)) {
    std::fprintf(stderr, "lastbyte-conformance: cannot write %s\n", run.html.c_str());
    return 2;
  }
  return unexpected ? 1 : 0;
}

// A version the program's own library cannot speak (--program-backend):
// its cells are unsupported by that library, shown and never run.
std::optional<std::string> program_cannot(const BlackboxRun& run, TlsVersion version) {
  if (!run.program_backend || run.program_backend->supports(version)) return std::nullopt;
  return "the program's library (" + run.program_backend->library_version() + ") cannot speak " +
         std::string(to_string(version));
}

// Progress on stderr while a run works (a slow client's run takes
// minutes): on a terminal one line rewritten in place, otherwise (ctest, a
// log) a line per cell; each with the elapsed time. --verbose adds why a
// cell passed.
class Progress {
 public:
  Progress(std::size_t total, bool verbose) : total_(total), verbose_(verbose), tty_(::isatty(STDERR_FILENO)) {}
  ~Progress() {
    if (tty_ && done_ > 0) std::fputc('\n', stderr);
  }
  void cell_done(const std::string& name, const blackbox::Judgement& j) {
    ++done_;
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const char* word = j.status == Status::pass ? "pass" : j.status == Status::fail ? "FAIL" : "unsupported";
    char head[64];
    std::snprintf(head, sizeof head, "[%zu/%zu %.1f s] ", done_, total_, elapsed);
    std::string line = head + name + ": " + word;
    if (j.status != Status::pass || verbose_) line += ": " + j.message.substr(0, j.message.find('\n'));
    if (tty_) std::fprintf(stderr, "\r\033[K%s", report::clip(line).c_str());
    else std::fprintf(stderr, "%s\n", report::clip(line).c_str());
    std::fflush(stderr);
  }

 private:
  std::size_t total_, done_ = 0;
  bool verbose_, tty_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

int run_clients(const BlackboxRun& run, const blackbox::Workspace& workspace) {
  blackbox::ClientOptions options{.command = run.client_cmd,
                                  .output = run.client_output,
                                  .timeout = std::chrono::seconds(run.timeout_seconds)};
  std::vector<blackbox::ClientCell> cells;
  for (const Backend* backend : run.backends)
    for (const auto& cell : blackbox::client_cells(*backend))
      if ((!run.version || cell.version == *run.version) && selected(run, cell.name())) cells.push_back(cell);
  if (cells.empty()) {
    std::fprintf(stderr, "lastbyte-conformance: the filters select no black-box cell\n");
    return 2;
  }
  std::vector<Result> results;
  Progress progress(cells.size(), run.verbose);
  for (const auto& cell : cells) {
    auto started = std::chrono::steady_clock::now();
    auto cannot = program_cannot(run, cell.version);
    auto judgement = cannot ? blackbox::Judgement{Status::unsupported, *cannot}
                            : blackbox::run_client_cell(cell, options, workspace);
    progress.cell_done(cell.name(), judgement);
    std::string key = cell.expectation_key();
    std::string variant = key.substr(key.rfind(' ') + 1);
    results.push_back({.name = cell.name(),
                       .row = std::string(cell.row->id) + " " + variant,
                       .title = "[" + std::string(cell.detected_by()) + "] " + std::string(cell.row->title),
                       .column = std::string(cell.version == TlsVersion::tls1_3 ? "tls13 " : "tls12 ") +
                                 std::string(cell.backend->name),
                       .key = key,
                       .detected_by = std::string(cell.detected_by()),
                       .judgement = std::move(judgement),
                       .expected = blackbox::Expect::pass,
                       .seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()});
  }
  return report(run, run.client_cmd, results);
}

std::string title_of(std::string_view server_row) {
  for (const auto& row : blackbox::server_rows())
    if (row.id == server_row) return std::string(row.title);
  return {};
}

int run_servers(const BlackboxRun& run, const blackbox::Workspace& workspace) {
  std::size_t versions_run = 0;
  for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2})
    versions_run += (!run.version || *run.version == v) && !program_cannot(run, v);
  Progress progress(versions_run * run.backends.size() * blackbox::server_rows().size(), run.verbose);
  blackbox::ServerOptions options{
      .command = run.server_cmd,
      .path = run.server_path,
      .vanishing_connections = run.vanishing,
      .on_result = [&](const blackbox::ServerCellResult& c) { progress.cell_done(c.name, c.judgement); }};
  std::vector<TlsVersion> versions;
  std::vector<Result> results;
  for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    if (run.version && *run.version != v) continue;
    auto cannot = program_cannot(run, v);
    if (!cannot) {
      versions.push_back(v);
      continue;
    }
    std::string tag = v == TlsVersion::tls1_3 ? "tls13" : "tls12";
    for (const Backend* backend : run.backends)
      for (const auto& row : blackbox::server_rows())
        results.push_back({.name = std::string(row.id) + "_" + tag + "_" + std::string(backend->name),
                           .row = std::string(row.id),
                           .title = std::string(row.title),
                           .column = tag + " " + std::string(backend->name),
                           .key = std::string(row.id) + " " + tag + " -",
                           .judgement = {Status::unsupported, *cannot},
                           .expected = blackbox::Expect::pass,
                           .seconds = 0});
  }
  for (const Backend* backend : run.backends) {
    if (versions.empty()) break;
    auto started = std::chrono::steady_clock::now();
    auto cells = blackbox::run_server_rows(options, *backend, versions, workspace);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (auto& c : cells) {
      std::string tag = c.version == TlsVersion::tls1_3 ? "tls13" : "tls12";
      results.push_back({.name = c.name,
                         .row = std::string(c.row),
                         .title = title_of(c.row),
                         .column = tag + " " + std::string(backend->name),
                         .key = std::string(c.row) + " " + tag + " -",
                         .judgement = std::move(c.judgement),
                         .expected = blackbox::Expect::pass,
                         .seconds = seconds / static_cast<double>(cells.size())});
    }
  }
  return report(run, run.server_cmd, results);
}

}  // namespace

extern "C" void stop_on_signal(int signal_number) {
  blackbox::kill_running_programs();  // nothing the run started keeps running
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

int run_blackbox(const BlackboxRun& run) {
  std::optional<blackbox::ClientCell> serve;
  if (!run.serve.empty() && !(serve = blackbox::ClientCell::parse(run.serve))) {
    std::fprintf(stderr, "lastbyte-conformance: no black-box cell named \"%s\" (ROW_tls13|tls12_VARIANT_BACKEND, "
                         "e.g. X04_tls13_close_openssl)\n", run.serve.c_str());
    return 2;
  }
  // A misspelt placeholder is a usage error, before anything runs.
  for (const auto& [command, known] :
       {std::pair{run.client_cmd, std::span<const std::string_view>(blackbox::client_placeholder_names)},
        std::pair{run.server_cmd, std::span<const std::string_view>(blackbox::server_placeholder_names)}})
    if (auto problem = blackbox::check_placeholders(command, known)) {
      std::fprintf(stderr, "lastbyte-conformance: %s\n", problem->c_str());
      return 2;
    }
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::signal(s, stop_on_signal);
  auto workspace = blackbox::Workspace::create(run.body_size, run.keep, !run.server_cmd.empty());
  if (!workspace) {
    std::fprintf(stderr, "lastbyte-conformance: %s\n", workspace.error().message().c_str());
    return 2;
  }
  if (run.keep) std::printf("workspace (kept): %s\n", workspace->dir().c_str());
  if (serve) return blackbox::serve_client_cell(*serve, *workspace, run.port, run.connections, run.client_cmd);
  if (!run.client_cmd.empty()) return run_clients(run, *workspace);
  return run_servers(run, *workspace);
}

}  // namespace lastbyte::conformance
