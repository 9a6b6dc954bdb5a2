// The reports a person reads, for the catalogue run and black-box mode
// alike: the terminal summary (report_terminal.cpp: bounded to 100 columns
// whatever the number of backends and rows) and the self-contained HTML
// page (html_report.cpp). Both modes describe their run as a `report::Run`:
// rows (scenarios, black-box rows) x columns (configurations) and the cells
// under them, each with one of four outcomes.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance::report {

// The four things a cell can be. A grid position with no cell at all is
// "not defined" (the row does not apply to that configuration).
enum class Outcome { pass, fail, unsupported, known };
std::string_view to_string(Outcome outcome);  // "pass", "fail", "unsupported", "known"

struct Row {
  std::string id;     // "R01", "X08 close": its first letter is the row's family
  std::string title;
};

struct Column {
  std::string label;    // "openssl client <- gnutls TLS1.3", "tls13 openssl"
  std::string backend;  // the backend under test (black-box: the harness's)
  std::string peer;     // its peer (black-box: "program": the terminal then groups by backend alone)
  std::string role;     // the role of what is judged: "client" or "server"
  std::string version;  // "1.3" or "1.2"
};

struct Entry {  // one cell
  std::size_t row = 0, column = 0;
  Outcome outcome = Outcome::fail;
  std::string word;     // how the run's other reports write it: "ok", "FAIL", "fail*", "unsup"...
  std::string name;     // the cell's name (JUnit's testcase name)
  std::string message;  // why; a failure's ends with a "reproduce: ..." line
};

struct LegendItem {
  std::string term, meaning;
};

struct Run {
  std::string title = {};    // "lastbyte conformance report"
  std::string subject = {};  // black-box: the command judged
  std::vector<std::pair<std::string, std::string>> libraries = {};  // backend name, its library and version
  std::vector<std::string> notes = {};  // more header facts ("Peers: ...": the HTML shows "term: value")
  std::string row_heading = "scenario", column_heading = "configuration";
  std::vector<Row> rows = {};
  std::vector<Column> columns = {};
  std::vector<Entry> entries = {};
  std::string known_heading = "known divergence";  // what a known cell is, in the reasons
  std::vector<LegendItem> legend = {};  // every word and symbol the reports use
  std::string totals_line = {};         // the run's own summary line, verbatim
};

// The terminal's width: no line the runner prints is longer.
constexpr std::size_t terminal_width = 100;

// Characters (UTF-8 code points) of `text`.
std::size_t columns_of(std::string_view text);
// `text` cut to `width` columns, "..." marking the cut.
std::string clip(std::string_view text, std::size_t width = terminal_width);
// Words laid out in lines of at most `width` columns, every line after the
// first indented by `indent` spaces (a word longer than a line is clipped).
std::vector<std::string> wrap_words(std::string_view text, std::size_t width = terminal_width,
                                    std::size_t indent = 2);
// A shell command laid out in lines of at most `width` columns that still
// paste as one command: broken between arguments with " \" continuations,
// inside a long single-quoted argument by closing and reopening the quote
// ('ab'\ + newline + 'cd' is the shell's 'abcd').
std::vector<std::string> wrap_command(std::string_view command, std::size_t width = terminal_width,
                                      std::size_t indent = 4);

// The summary: per row, per column, the failures (at most `max_failures`,
// each with its reproducer), unsupported and known cells grouped by reason.
void print_summary(std::FILE* out, const Run& run, std::size_t max_failures = 20);
// "Legend:" and every term of run.legend, wrapped.
void print_legend(std::FILE* out, const Run& run);

// The self-contained page: no request leaves it (inline CSS and script,
// the run as JSON). False when the file cannot be written.
bool write_html(const std::string& path, const Run& run);

// For the header of the HTML page: the time now, UTC ("2026-12-07 16:30 UTC").
std::string utc_now();

}  // namespace lastbyte::conformance::report
