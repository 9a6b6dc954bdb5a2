#include "catalogue_doc.hpp"

#include <lastbyte/conformance/blackbox.hpp>
#include <lastbyte/conformance/clauses.hpp>
#include <lastbyte/conformance/native.hpp>
#include <lastbyte/conformance/scenarios.hpp>

#include "report.hpp"

#include <algorithm>

namespace lastbyte::conformance {
namespace {

// "TLS 1.3, 1.2" from the row's own rule; a version no role applies to is left out.
std::string versions_of(const Scenario& scenario) {
  std::string out;
  for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    bool any = !scenario.applies || scenario.applies(version, Role::client) || scenario.applies(version, Role::server);
    if (!any) continue;
    out += out.empty() ? "TLS " : ", ";
    out += version == TlsVersion::tls1_3 ? "1.3" : "1.2";
  }
  return out;
}

std::string roles_of(const Scenario& scenario) {
  bool client = false, server = false;
  for (TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    client |= !scenario.applies || scenario.applies(version, Role::client);
    server |= !scenario.applies || scenario.applies(version, Role::server);
  }
  if (client && server) return "client, server";
  return client ? "client" : "server";
}

std::string how_it_runs(const Scenario& scenario) {
  if (std::holds_alternative<CertificateCheck>(scenario.body))
    return "one cell per version and backend pair (the client's decision)";
  std::string out = "every schedule and read size";
  if (std::holds_alternative<WriteScript>(scenario.body)) out = "the side under test writes; every schedule at the peer";
  if (std::holds_alternative<CellRunner>(scenario.body)) out = "its own cell runner, once per handshake record";
  if (scenario.runs_over_tcp()) out += "; loopback TCP";
  if (scenario.uses_forge()) out += "; the record forge";
  return out;
}

std::string clauses_of(const Scenario& scenario) {
  std::string out;
  for (Clause clause : scenario.clauses) out += (out.empty() ? "" : ", ") + to_string(clause);
  return out;
}


}  // namespace

std::string catalogue_markdown() {
  std::string out =
      "\n| id | title (as the runner prints it) | TLS | side under test | how it runs | contract clauses |\n"
      "|---|---|---|---|---|---|\n";
  for (const Scenario& scenario : scenarios())
    out += "| " + std::string(scenario.id) + " | " + markdown_cell(scenario.title) + " | " + versions_of(scenario) +
           " | " + roles_of(scenario) + " | " + how_it_runs(scenario) + " | " + clauses_of(scenario) + " |\n";
  out += "| R36 | " + std::string(r36_title) +
         " | the libraries' default | client | real loopback TCP, 2,000 connections per backend pair | |\n";
  for (const blackbox::ClientRow& row : blackbox::client_rows()) {
    std::string framings;
    for (blackbox::Framing framing : row.framings)
      framings += (framings.empty() ? "" : ", ") + std::string(blackbox::to_string(framing));
    out += "| " + std::string(row.id) + " | " + markdown_cell(row.title) + " | " +
           (row.tls13_only ? "TLS 1.3" : "TLS 1.3, 1.2") + " | a client program | black-box mode, " +
           (row.wrong_certificate ? "other name and untrusted root" : framings + " framing") +
           (row.uses_forge ? "; the record forge" : "") + " | |\n";
  }
  for (const blackbox::ServerRow& row : blackbox::server_rows())
    out += "| " + std::string(row.id) + " | " + markdown_cell(row.title) + " | TLS 1.3, 1.2 | a server program | " +
           "black-box mode | |\n";
  return out;
}

std::vector<std::string> clauses_index() {
  std::vector<std::string> lines = report::wrap_words(
      "The decrypt-pending contract (docs/design.md) clause by clause, with the catalogue rows that prove it "
      "(lastbyte-conformance --list; ctest runs each row under its id) and the tests of tests/ that prove it too "
      "(gtest names; a parametrised suite runs each once per backend).",
      report::terminal_width, 0);
  auto add = [&](std::string_view text, std::size_t indent) {
    for (auto& line : report::wrap_words(text, report::terminal_width, indent)) lines.push_back(std::move(line));
  };
  for (const ContractClause& clause : contract_clauses()) {
    lines.emplace_back();
    lines.push_back(to_string(clause.id) + " " + std::string(clause.name));
    add("  " + std::string(clause.statement), 2);
    std::string rows = "  rows: ";
    for (const Scenario& scenario : scenarios())
      if (std::find(scenario.clauses.begin(), scenario.clauses.end(), clause.id) != scenario.clauses.end())
        rows += " " + std::string(scenario.id);
    add(rows, 8);
    std::string tests = "  tests:";
    for (std::string_view test : clause.tests) tests += " " + std::string(test);
    add(tests, 9);
  }
  return lines;
}

}  // namespace lastbyte::conformance
