// lastbyte-conformance --client-cmd / --server-cmd / --serve: black-box mode
// (conformance/harness/include/lastbyte/conformance/blackbox.hpp).
#pragma once

#include <lastbyte/conformance/blackbox.hpp>

#include <string>
#include <vector>

namespace lastbyte::conformance {

struct BlackboxRun {
  std::string client_cmd, server_cmd;
  blackbox::ClientOutput client_output = blackbox::ClientOutput::body;
  std::string serve;           // a cell name: serve it alone
  std::uint16_t port = 0;      // --serve
  int connections = 1;         // --serve
  std::vector<std::string> cell_globs;  // --cell
  std::vector<const Backend*> backends;
  const Backend* program_backend = nullptr;  // the program is built on this lastbyte backend
  std::optional<TlsVersion> version;
  std::string expect;          // expectations file
  std::string record;          // write the measured behaviour as an expectations file
  std::size_t body_size = 100000;
  int timeout_seconds = 20;
  int vanishing = 1000;
  std::string server_path = "/body";
  std::string junit, markdown, html;
  bool keep = false;           // keep the workspace (certificates, logs)
  bool verbose = false;        // the progress line says why a passing cell passed
};

int run_blackbox(const BlackboxRun& run);

std::string xml_escape(std::string_view text);

}  // namespace lastbyte::conformance
