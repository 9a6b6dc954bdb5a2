// The terminal summary of a run (report.hpp). One line per row and per
// column instead of a grid: a grid is as wide as the run has columns (413
// columns for 4 backends), this stays within terminal_width whatever the
// run, and the full grid is in --markdown and --html.
#include "report.hpp"

#include <algorithm>
#include <ctime>
#include <map>

namespace lastbyte::conformance::report {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::pass: return "pass";
    case Outcome::fail: return "fail";
    case Outcome::unsupported: return "unsupported";
    case Outcome::known: return "known";
  }
  return "?";
}

namespace {

bool continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Bytes of the first `n` code points of `text`.
std::size_t prefix_bytes(std::string_view text, std::size_t n) {
  std::size_t i = 0;
  for (std::size_t seen = 0; i < text.size(); ++i) {
    if (continuation_byte(text[i])) continue;
    if (seen++ == n) break;
  }
  return i;
}

void emit(std::FILE* out, std::string_view line) {
  std::string text = clip(line);  // the last guard: every line goes through here
  std::fprintf(out, "%s\n", text.c_str());
}

std::string first_line(std::string_view text) { return std::string(text.substr(0, text.find('\n'))); }

std::string pad(std::string_view text, std::size_t width) {
  std::string out(text);
  std::size_t n = columns_of(text);
  if (n < width) out.append(width - n, ' ');
  return out;
}

std::string right(std::size_t number, std::size_t width) {
  std::string text = std::to_string(number);
  return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
}

// "PREFIX a, b, c" over at most `max_lines` lines, "and N more" when the
// items do not all fit.
std::vector<std::string> bounded_list(const std::string& prefix, const std::vector<std::string>& items,
                                      std::size_t indent, std::size_t max_lines = 3) {
  for (std::size_t shown = items.size();; --shown) {
    std::string text = prefix;
    for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + items[i];
    if (shown < items.size()) text += (shown ? ", and " : "") + std::to_string(items.size() - shown) + " more";
    auto lines = wrap_words(text, terminal_width, indent);
    if (lines.size() <= max_lines || shown == 0) return lines;
  }
}

struct Counts {
  std::size_t of[4] = {};
  std::size_t& operator[](Outcome o) { return of[static_cast<int>(o)]; }
  std::size_t operator[](Outcome o) const { return of[static_cast<int>(o)]; }
  std::size_t total() const { return of[0] + of[1] + of[2] + of[3]; }
};

constexpr Outcome outcomes[] = {Outcome::pass, Outcome::fail, Outcome::unsupported, Outcome::known};
constexpr const char* count_headings[] = {"pass", "FAIL", "unsup", "known"};

std::string counts_text(const Counts& counts, std::size_t width) {
  std::string text;
  for (Outcome o : outcomes) text += "  " + right(counts[o], width);
  return text;
}

std::string counts_heading(std::size_t width) {
  std::string text;
  for (std::string_view h : count_headings) text += "  " + std::string(width - h.size(), ' ') + std::string(h);
  return text;
}

// `prefix`, then the words of `text` in lines of at most `width` columns,
// every line after the first indented by `indent` spaces.
std::vector<std::string> hanging(const std::string& prefix, std::string_view text, std::size_t indent,
                                 std::size_t width = terminal_width) {
  std::vector<std::string> lines;
  std::string line = prefix;
  bool line_has_words = false;
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find(' ', start), text.size());
    std::string_view word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (line_has_words && columns_of(line) + 1 + columns_of(word) > width) {
      lines.push_back(clip(line, width));
      line = std::string(indent, ' ');
      line_has_words = false;
    }
    line += (line_has_words ? " " : "") + std::string(word);
    line_has_words = true;
  }
  lines.push_back(clip(line, width));
  return lines;
}

// One line per item (row or column) with its counts, and the ones failing
// beneath it, named.
void print_counts_section(std::FILE* out, const std::string& heading, const std::string& label_heading,
                          const std::vector<std::string>& labels, const std::vector<std::string>& titles,
                          const std::vector<Counts>& counts,
                          const std::vector<std::vector<std::pair<std::string, std::size_t>>>& failing,
                          const std::string& failing_what) {
  std::size_t label_width = columns_of(label_heading), count_width = 5;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (counts[i].total() == 0) continue;
    label_width = std::max(label_width, columns_of(labels[i]));
    for (Outcome o : outcomes) count_width = std::max(count_width, std::to_string(counts[i][o]).size());
  }
  label_width = std::min<std::size_t>(label_width, 40);
  emit(out, "");
  for (const auto& line : wrap_words(heading, terminal_width, 2)) emit(out, line);
  emit(out, pad(label_heading, label_width) + counts_heading(count_width) + (titles.empty() ? "" : "  title"));
  std::size_t indent = label_width + 2;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (counts[i].total() == 0) continue;
    std::string line = pad(clip(labels[i], label_width), label_width) + counts_text(counts[i], count_width);
    if (!titles.empty()) line += "  " + clip(titles[i], terminal_width - std::min(terminal_width, columns_of(line) + 2));
    emit(out, line);
    if (failing[i].empty()) continue;
    std::vector<std::string> items;
    for (const auto& [name, n] : failing[i]) items.push_back(name + " (" + std::to_string(n) + ")");
    for (const auto& l : bounded_list(std::string(indent, ' ') + "FAIL in " + failing_what + ": ", items, indent + 2))
      emit(out, l);
  }
}

// A configuration's cells in a word and numbers: "ok 90", "FAIL 3/90",
// "known 1/90", "unsup 90", "ok 80, unsup 10", "-" (none).
std::string counts_word(const Counts& n) {
  std::string total = std::to_string(n.total());
  if (n[Outcome::fail]) return "FAIL " + std::to_string(n[Outcome::fail]) + "/" + total;
  if (n[Outcome::known]) return "known " + std::to_string(n[Outcome::known]) + "/" + total;
  if (n[Outcome::pass] && n[Outcome::unsupported])
    return "ok " + std::to_string(n[Outcome::pass]) + ", unsup " + std::to_string(n[Outcome::unsupported]);
  if (n[Outcome::pass]) return "ok " + total;
  if (n[Outcome::unsupported]) return "unsup " + total;
  return "-";
}

// Configurations grouped by backend pair, one column per role and version
// (a picture of the pairs in about 16 lines for 4 backends); when that
// would not fit the terminal, one line per configuration.
void print_configurations(std::FILE* out, const Run& run, const std::vector<Counts>& counts,
                          const std::vector<std::vector<std::pair<std::string, std::size_t>>>& failing) {
  std::vector<std::string> pairs, kinds;  // in the order they ran
  std::map<std::pair<std::string, std::string>, std::size_t> column_at;
  for (std::size_t c = 0; c < run.columns.size(); ++c) {
    const Column& column = run.columns[c];
    std::string pair = column.peer == "program" ? column.backend : column.backend + " <- " + column.peer;
    std::string kind = column.role + " TLS" + column.version;
    if (std::find(pairs.begin(), pairs.end(), pair) == pairs.end()) pairs.push_back(pair);
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    column_at[{pair, kind}] = c;
  }
  std::sort(kinds.begin(), kinds.end(), [](const std::string& a, const std::string& b) {
    // TLS 1.3 first, then client before server.
    return std::pair(a.substr(a.size() - 3) == "1.2", a) < std::pair(b.substr(b.size() - 3) == "1.2", b);
  });
  std::size_t pair_width = std::string_view("backend pair").size();
  for (const auto& p : pairs) pair_width = std::max(pair_width, columns_of(p));
  std::vector<std::size_t> kind_width;
  for (const auto& k : kinds) {
    std::size_t w = k.size();
    for (const auto& p : pairs)
      if (auto it = column_at.find({p, k}); it != column_at.end()) w = std::max(w, counts_word(counts[it->second]).size());
    kind_width.push_back(w);
  }
  std::size_t width = pair_width;
  for (std::size_t w : kind_width) width += 2 + w;
  bool peer_is_program = !run.columns.empty() && run.columns.front().peer == "program";
  if (width > terminal_width || pairs.size() * kinds.size() < run.columns.size()) {
    std::vector<std::string> labels;
    for (const auto& c : run.columns) labels.push_back(c.label);
    print_counts_section(out, "Per " + run.column_heading + ":", run.column_heading, labels, {}, counts, failing,
                         run.row_heading + "s");
    return;
  }
  emit(out, "");
  for (const auto& line : wrap_words(peer_is_program
                                         ? "Per backend playing the program's peer, and TLS version (the legend "
                                           "says what ok N, FAIL F/N... mean):"
                                         : "Per backend pair (backend under test <- peer), its role and TLS "
                                           "version (the legend says what ok N, FAIL F/N... mean):",
                                     terminal_width, 2))
    emit(out, line);
  std::string heading = pad(peer_is_program ? "backend" : "backend pair", pair_width);
  for (std::size_t k = 0; k < kinds.size(); ++k) heading += "  " + pad(kinds[k], kind_width[k]);
  emit(out, heading);
  for (const auto& p : pairs) {
    std::string line = pad(p, pair_width);
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      auto it = column_at.find({p, kinds[k]});
      line += "  " + pad(it == column_at.end() ? "-" : counts_word(counts[it->second]), kind_width[k]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    emit(out, line);
  }
  for (std::size_t c = 0; c < run.columns.size(); ++c) {
    if (failing[c].empty()) continue;
    std::vector<std::string> items;
    for (const auto& [name, n] : failing[c]) items.push_back(name + " (" + std::to_string(n) + ")");
    for (const auto& l : bounded_list("  FAIL in " + run.columns[c].label + ": ", items, 4)) emit(out, l);
  }
}

}  // namespace

std::size_t columns_of(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return !continuation_byte(c); }));
}

std::string clip(std::string_view text, std::size_t width) {
  if (columns_of(text) <= width) return std::string(text);
  if (width < 3) return std::string(text.substr(0, prefix_bytes(text, width)));
  return std::string(text.substr(0, prefix_bytes(text, width - 3))) + "...";
}

std::vector<std::string> wrap_words(std::string_view text, std::size_t width, std::size_t indent) {
  // The text's own leading spaces (an indentation) stay on the first line.
  std::size_t lead = std::min(text.find_first_not_of(' '), text.size());
  return hanging(std::string(lead, ' '), text.substr(lead), indent, width);
}

std::vector<std::string> wrap_command(std::string_view command, std::size_t width, std::size_t indent) {
  // The words of the command as the shell splits them (quotes kept).
  std::vector<std::string> words;
  std::string word;
  char quote = 0;
  for (std::size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (!quote && c == ' ') {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
      continue;
    }
    word += c;
    if (quote != '\'' && c == '\\' && i + 1 < command.size()) word += command[++i];
    else if (!quote && (c == '\'' || c == '"')) quote = c;
    else if (quote && c == quote) quote = 0;
  }
  if (!word.empty()) words.push_back(std::move(word));

  std::vector<std::string> lines;
  // The command's own leading spaces (an indentation) stay on the first line.
  std::string line(std::min(command.find_first_not_of(' '), command.size()), ' ');
  auto line_empty = [&] { return line.find_first_not_of(' ') == std::string::npos; };
  for (const auto& w : words) {
    if (!line_empty() && columns_of(line) + 1 + columns_of(w) + 2 > width) {
      lines.push_back(line + " \\");
      line = std::string(indent, ' ');
    }
    if (!line_empty()) line += ' ';
    if (columns_of(line) + columns_of(w) + 2 <= width) {
      line += w;
      continue;
    }
    // A word longer than a line: broken inside, continued at column 0
    // (indenting would put spaces into the word).
    char in = 0;
    for (std::size_t i = 0; i < w.size();) {
      std::size_t n = 1;
      while (i + n < w.size() && continuation_byte(w[i + n])) ++n;
      bool escape = in != '\'' && w[i] == '\\';
      if (escape && i + n < w.size()) ++n;  // a backslash stays with what it escapes
      if (columns_of(line) + 3 > width && i > 0) {
        lines.push_back(line + (in == '\'' ? "'\\" : "\\"));
        line = in == '\'' ? "'" : "";
      }
      std::string_view piece = std::string_view(w).substr(i, n);
      line += piece;
      if (!escape) {
        if (!in && (piece == "'" || piece == "\"")) in = piece[0];
        else if (in && piece.size() == 1 && piece[0] == in) in = 0;
      }
      i += n;
    }
  }
  lines.push_back(line);
  return lines;
}

void print_summary(std::FILE* out, const Run& run, std::size_t max_failures) {
  if (run.entries.empty()) return;  // --scenario R36: its own lines are the report
  std::vector<Counts> row_counts(run.rows.size()), column_counts(run.columns.size());
  // Failing columns per row and failing rows per column, in their order, with counts.
  std::vector<std::map<std::size_t, std::size_t>> row_fails(run.rows.size()), column_fails(run.columns.size());
  for (const auto& e : run.entries) {
    ++row_counts[e.row][e.outcome];
    ++column_counts[e.column][e.outcome];
    if (e.outcome == Outcome::fail) {
      ++row_fails[e.row][e.column];
      ++column_fails[e.column][e.row];
    }
  }
  std::vector<std::string> row_ids, row_titles;
  for (const auto& r : run.rows) row_ids.push_back(r.id), row_titles.push_back(r.title);
  std::vector<std::vector<std::pair<std::string, std::size_t>>> row_failing(run.rows.size()),
      column_failing(run.columns.size());
  for (std::size_t r = 0; r < run.rows.size(); ++r)
    for (auto [c, n] : row_fails[r]) row_failing[r].emplace_back(run.columns[c].label, n);
  for (std::size_t c = 0; c < run.columns.size(); ++c)
    for (auto [r, n] : column_fails[c]) column_failing[c].emplace_back(run.rows[r].id, n);

  print_counts_section(out, "Per " + run.row_heading + ": cells that passed, FAILED, are unsupported, are known",
                       run.row_heading, row_ids, row_titles, row_counts, row_failing, run.column_heading + "s");
  print_configurations(out, run, column_counts, column_failing);

  std::size_t failures = 0;
  for (const auto& e : run.entries) {
    if (e.outcome != Outcome::fail) continue;
    if (failures++ >= max_failures) continue;
    emit(out, "");
    emit(out, e.word + " " + e.name);
    std::size_t shown = 0, lines = 0;
    std::size_t start = 0;
    while (start <= e.message.size()) {
      std::size_t end = e.message.find('\n', start);
      if (end == std::string::npos) end = e.message.size();
      std::string_view line = std::string_view(e.message).substr(start, end - start);
      start = end + 1;
      std::size_t text = line.find_first_not_of(' ');
      if (text == std::string_view::npos) continue;
      if (line.substr(text).starts_with("reproduce: ")) {
        // "COMMAND   (or: OTHER)": the other command on a line of its own,
        // "or: OTHER", both never clipped: they must paste.
        std::string_view command = line.substr(text + 11);
        std::string_view alternative;
        if (auto or_at = command.find("   (or: "); or_at != std::string_view::npos && command.ends_with(')')) {
          alternative = command.substr(or_at + 8, command.size() - or_at - 9);
          command = command.substr(0, or_at);
        }
        for (const auto& l : wrap_command("  reproduce: " + std::string(command), terminal_width, 6))
          std::fprintf(out, "%s\n", l.c_str());
        if (!alternative.empty())
          for (const auto& l : wrap_command("  or: " + std::string(alternative), terminal_width, 6))
            std::fprintf(out, "%s\n", l.c_str());
        continue;
      }
      ++lines;
      if (shown < 12) {
        emit(out, "  " + std::string(line));
        ++shown;
      }
    }
    if (lines > shown)
      emit(out, "  (" + std::to_string(lines - shown) + " more lines: --junit, --markdown and --html have them all)");
  }
  if (failures > max_failures)
    emit(out, "\n... and " + std::to_string(failures - max_failures) +
                  " more failures (--junit, --markdown and --html list every one)");

  // Unsupported and known cells, grouped by their reason (its first line).
  for (Outcome o : {Outcome::unsupported, Outcome::known}) {
    std::map<std::string, std::size_t> why;
    for (const auto& e : run.entries)
      if (e.outcome == o) ++why[first_line(e.message)];
    if (why.empty()) continue;
    emit(out, "");
    for (const auto& [reason, n] : why)
      for (const auto& l : wrap_words((o == Outcome::unsupported ? "unsupported, " : run.known_heading + ", ") +
                                          std::to_string(n) + " cells: " + reason,
                                      terminal_width, 4))
        emit(out, l);
  }
}

void print_legend(std::FILE* out, const Run& run) {
  // The words of the per-pair table are the summary's own.
  std::vector<LegendItem> legend = run.legend;
  legend.push_back({"ok N", "(per pair) the N cells of that role and version passed; \"ok N, unsup U\": N passed, U "
                            "are unsupported"});
  legend.push_back({"FAIL F/N", "(per pair) F of its N cells failed; \"known K/N\": K fail as recorded, none "
                                "unexpectedly; \"unsup N\": all N are unsupported"});
  std::size_t term_width = 0;
  for (const auto& item : legend) term_width = std::max(term_width, columns_of(item.term));
  term_width = std::min<std::size_t>(term_width, 16);
  emit(out, "");
  emit(out, "Legend:");
  for (const auto& item : legend)
    for (const auto& l : hanging("  " + pad(item.term, term_width) + "  ", item.meaning, term_width + 4)) emit(out, l);
}

std::string utc_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

}  // namespace lastbyte::conformance::report
