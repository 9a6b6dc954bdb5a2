// The report writers (conformance/runner/report.hpp) on runs no real run
// gives on demand: catalogue failures (their messages, reproducers with an
// "(or: ...)" alternative), more failures than are printed, configurations
// too many for the per-pair table, long labels, titles that are not ASCII,
// and text that would break the HTML page if it were not escaped.
#include "report.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace {

using namespace lastbyte::conformance::report;
using ReportRun = lastbyte::conformance::report::Run;  // a gtest test has a member Run()

std::string printed(const ReportRun& run) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  print_summary(out, run);
  print_legend(out, run);
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string context_lines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i) text += "  record " + std::to_string(i) + ": 17 03 03 00 75 ...\n";
  return text;
}

// A catalogue-like run: `backends` squared pairs x 2 roles x 2 versions,
// every third cell of scenario R05 failing with a catalogue message.
Run catalogue_like(int backends) {
  ReportRun run{.title = "t", .legend = {{"FAIL", "failed"}}};
  run.rows = {{.id = "R05", .title = "D(100) + 3 bytes of the next header, FIN"},
              {.id = "R28", .title = "T12: the same script; RFC 5246 §7.2.1, and a title much longer than any "
                                     "terminal line could hold without being cut somewhere"}};
  for (int b = 0; b < backends; ++b)
    for (int p = 0; p < backends; ++p)
      for (std::string role : {"client", "server"})
        for (std::string version : {"1.3", "1.2"}) {
          std::string backend = "backend-with-a-long-name-" + std::to_string(b), peer = "peer" + std::to_string(p);
          run.columns.push_back({.label = backend + " " + role + " <- " + peer + " TLS" + version,
                                 .backend = backend, .peer = peer, .role = role, .version = version});
        }
  for (std::size_t c = 0; c < run.columns.size(); ++c)
    for (std::size_t r = 0; r < run.rows.size(); ++r) {
      bool fails = r == 0 && c % 3 == 0;
      std::string name = "R05_tls13_client_" + run.columns[c].backend + "_" + run.columns[c].peer + "_whole_rb7";
      run.entries.push_back(
          {.row = r, .column = c, .outcome = fails ? Outcome::fail : Outcome::pass, .word = fails ? "FAIL" : "ok",
           .name = name,
           .message = fails ? "plaintext differs at byte 100 of 103: expected \"" + std::string(150, 'a') +
                                  "\"\nverdict: expected truncated, got clean_close\n" + context_lines(14) +
                                  "reproduce: lastbyte-conformance --scenario R05 --version 1.3 --role client "
                                  "--backend " + run.columns[c].backend + " --peer " + run.columns[c].peer +
                                  " --schedule whole --read-size 7   (or: lastbyte-tests --gtest_filter='*/" +
                                  name + "')"
                            : ""});
    }
  return run;
}

TEST(Report, NoLineIsWiderThanTheTerminalWhateverTheRun) {
  for (int backends : {1, 4, 9}) {
    std::string text = printed(catalogue_like(backends));
    for (const auto& line : lines_of(text)) EXPECT_LE(columns_of(line), terminal_width) << line;
    EXPECT_NE(text.find("\nLegend:\n"), std::string::npos);
  }
}

TEST(Report, FailuresAreBoundedAndEachKeepsItsReproducer) {
  ReportRun run = catalogue_like(4);  // 64 configurations, 22 failures
  std::string text = printed(run);
  std::size_t failures = 0, reproducers = 0;
  for (const auto& line : lines_of(text)) {
    failures += line.starts_with("FAIL R05_");
    reproducers += line.starts_with("  reproduce: lastbyte-conformance --scenario R05");
  }
  EXPECT_EQ(failures, 20u);
  EXPECT_EQ(reproducers, 20u);
  EXPECT_NE(text.find("... and 2 more failures"), std::string::npos);
  // The alternative on a line of its own, and the cut message says so.
  EXPECT_NE(text.find("\n  or: lastbyte-tests \\\n      --gtest_filter='*/R05_tls13_client_backend-with-a-long-name-0_"
                      "peer0_whole_rb7'\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("more lines: --junit, --markdown and --html have them all"), std::string::npos);
}

TEST(Report, ThePairTableGivesWayToOneLinePerConfigurationWhenItCannotFit) {
  ReportRun run = catalogue_like(2);
  EXPECT_NE(printed(run).find("Per backend pair"), std::string::npos);
  // Six TLS versions: the table would be 6 x 2 columns wide.
  for (auto& c : run.columns) c.version = std::to_string(&c - run.columns.data());
  std::string text = printed(run);
  EXPECT_EQ(text.find("Per backend pair"), std::string::npos);
  EXPECT_NE(text.find("Per configuration:"), std::string::npos);
}

// The words the shell makes of `text`: quotes removed, backslash escapes
// and backslash-newline continuations as POSIX sh reads them.
std::vector<std::string> shell_words(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      if (text[++i] != '\n') word += text[i], in_word = true;
    } else if (c == '\'') {
      std::size_t end = text.find('\'', i + 1);
      word += text.substr(i + 1, end - i - 1), in_word = true;
      i = end;
    } else if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        bool escapes = text[i] == '\\' && i + 1 < text.size() &&
                       std::string_view("$`\"\\\n").find(text[i + 1]) != std::string_view::npos;
        if (escapes && text[++i] == '\n') continue;
        word += text[i];
      }
      in_word = true;
    } else if (c == ' ' || c == '\n') {
      if (in_word) words.push_back(word);
      word.clear(), in_word = false;
    } else {
      word += c, in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

TEST(Report, ACommandBrokenOverLinesIsTheSameCommand) {
  std::string command = "lastbyte-conformance --serve X04_tls13_close_openssl --client-cmd 'curl -sS --cacert "
                        "{cafile} {url} | sed '\\''s/a/b/'\\'' \"" + std::string(120, 'y') + "\"' " +
                        std::string(130, 'z') + " \"double \\\"quoted\\\" " + std::string(110, 'w') + "\"";
  auto lines = wrap_command("  reproduce: " + command);
  ASSERT_GT(lines.size(), 3u);
  std::string joined;
  for (const auto& line : lines) {
    EXPECT_LE(columns_of(line), terminal_width) << line;
    joined += line + "\n";
  }
  EXPECT_EQ(shell_words(joined), shell_words("reproduce: " + command)) << joined;
  EXPECT_EQ(shell_words("a 'b c'\\\n'd' \"e\\\"f\" g\\\n  h"),
            (std::vector<std::string>{"a", "b cd", "e\"f", "g", "h"}));
}

TEST(Report, ClipCountsCharactersNotBytes) {
  EXPECT_EQ(columns_of("§7.2.1"), 6u);
  EXPECT_EQ(clip("RFC 5246 §7.2.1 and more", 12), "RFC 5246 ...");
  EXPECT_EQ(clip("§§§§§§", 5), "§§...");
  EXPECT_EQ(clip("short", 5), "short");
}

TEST(Report, TheHtmlPageKeepsTheRunsTextAsText) {
  ReportRun run = catalogue_like(1);
  run.subject = "x </script><script>alert(1)</script> <!-- \xff\xfe \xe2\x80\xa8 end";
  run.entries[0].message = "</SCRIPT> & \"quoted\" \x01";
  std::string path = ::testing::TempDir() + "report_test.html";
  ASSERT_TRUE(write_html(path, run));
  std::ifstream in(path);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  auto data_at = page.find("<script type=\"application/json\" id=\"report-data\">");
  ASSERT_NE(data_at, std::string::npos);
  auto data_end = page.find("</script>", data_at);
  std::string data = page.substr(data_at, data_end - data_at);
  // The data ends where the page means it to: nothing in it closes the
  // element, opens a comment or carries a byte that is not UTF-8.
  EXPECT_NE(data.find("\\u003c/script\\u003e\\u003cscript\\u003ealert(1)"), std::string::npos) << data;
  EXPECT_NE(data.find("\\u003c/SCRIPT\\u003e \\u0026 \\\"quoted\\\" \\u0001"), std::string::npos);
  EXPECT_NE(data.find("\\ufffd\\ufffd \\u2028 end"), std::string::npos);
  EXPECT_EQ(data.find('<', 1), std::string::npos);
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
}

}  // namespace
