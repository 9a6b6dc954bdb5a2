// Native mode (lastbyte-conformance --native): each TLS library driven
// directly through its own I/O hooks, without the record gate, over the
// catalogue's scripts; what it returns is printed beside what lastbyte
// reports for the same cell, and is the measured table of
// docs/divergences.md.
#pragma once

#include <lastbyte/engine/engine.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lastbyte::conformance {

struct NativeOptions {
  const Backend* peer = nullptr;  // the lastbyte Connection playing the peer; nullptr: openssl
  std::vector<std::string> scenario_globs = {};  // rows of the measured table by scenario id; empty: all
};

struct NativeReport {
  std::string text;      // per row, library and TLS version: the library's returns beside lastbyte's cell
  std::string markdown;  // the measured table (deterministic: no keys, timings or addresses)
  int rows = 0;
  int lastbyte_failures = 0;  // lastbyte cells that failed their oracle
};

NativeReport run_native(const NativeOptions& options);

// The libraries native mode was built with (each one found at configure time).
std::vector<std::string_view> native_library_names();

inline constexpr std::string_view native_begin_marker = "<!-- native:begin -->";
inline constexpr std::string_view native_end_marker = "<!-- native:end -->";

// `text` as a Markdown table cell: a bare '|' would end the cell.
inline std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

// Replaces what lies between `begin` and `end` in the file at `path` with
// `markdown`; an error message, or nullopt. The generated sections of the
// docs (docs/divergences.md's native table, docs/scenarios.md's index).
std::optional<std::string> write_marked_section(const std::string& path, std::string_view begin, std::string_view end,
                                                std::string_view markdown);
inline std::optional<std::string> write_native_section(const std::string& path, std::string_view markdown) {
  return write_marked_section(path, native_begin_marker, native_end_marker, markdown);
}

}  // namespace lastbyte::conformance
