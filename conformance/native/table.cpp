// The rows of the measured divergence table: which scenario proves each,
// how its wire is delivered, and how a library's returns are summarised.
#include "observe.hpp"

#include <lastbyte/conformance/native.hpp>

#include <fnmatch.h>

#include <fstream>
#include <map>
#include <sstream>

namespace lastbyte::conformance {
namespace {

using native::Call;
using native::Library;
using native::Observation;
using native::Result;
using native::Verify;

struct Probe;
using Summary = std::string (*)(const Probe&, const Observation&, const Library&);

struct Probe {
  std::string_view id;         // the scenario whose script the row runs
  std::string_view situation;  // what the table calls the row
  Role victim = Role::client;
  Schedule schedule = {};
  std::size_t read_size = 16384;
  bool zero_hook = false;
  bool write_after = false;
  bool certificate = false;
  Summary summary = nullptr;  // nullptr: the calls' returns, in order
};

// ---- summaries ----------------------------------------------------------------

// The application's calls, in order: plaintext summed between ends,
// would-block left out, an end repeated without progress counted.
std::string returns(const Observation& o) {
  struct Item {
    bool data = false;
    std::size_t bytes = 0;
    std::string code = {};
    int count = 0;
    std::size_t last_hook_calls = 0;
  };
  std::vector<Item> items;
  for (const Call& c : o.calls) {
    // "Would block" with nothing in the socket is the normal wait; with
    // bytes or the end still there it is a stall for an edge-triggered loop.
    if (c.result.kind == Result::Kind::would_block && !c.readable) continue;
    if (c.result.kind == Result::Kind::data) {
      if (items.empty() || !items.back().data) items.push_back({.data = true});
      items.back().bytes += c.result.bytes;
      continue;
    }
    if (!items.empty() && !items.back().data && items.back().code == c.result.code) {
      ++items.back().count;
      items.back().last_hook_calls = c.hook_calls;
    } else {
      items.push_back({.code = c.result.code, .count = 1, .last_hook_calls = c.hook_calls});
    }
  }
  std::string out;
  for (const Item& item : items) {
    if (!out.empty()) out += " → ";
    out += item.data ? std::to_string(item.bytes) + " B" : item.code;
    if (item.count > 1) out += " ×" + std::to_string(item.count);
  }
  if (out.empty()) out = "nothing (would block)";
  if (!items.empty() && !items.back().data && items.back().count > 1)
    out += " (repeat: " + std::to_string(items.back().last_hook_calls) + " hook call" +
           (items.back().last_hook_calls == 1 ? ")" : "s)");
  if (o.plaintext != o.script.plaintext)
    out += " [lastbyte's oracle: " + std::to_string(o.script.plaintext.size()) + " B]";
  if (o.spun)
    out += " [called the hook again after each 0: " + std::to_string(native::Socket::zero_limit) +
           " zeros within one call, until the hook said \"would block\"]";
  return out;
}

// Records are encrypted: one the size of a protected alert is named so
// (the same words for TLS 1.2 and 1.3), any other by its size.
std::string sent_while_read(const Observation& o) {
  if (o.sent_reading.empty()) return {};
  std::vector<std::pair<std::string, int>> kinds;
  for (std::size_t size : o.sent_reading) {
    std::string kind = size == o.alert_record_size        ? "alert-sized"
                       : size == o.key_update_record_size ? "KeyUpdate-sized"
                                                          : std::to_string(size) + " B";
    if (!kinds.empty() && kinds.back().first == kind) ++kinds.back().second;
    else kinds.emplace_back(kind, 1);
  }
  std::string out;
  for (const auto& [kind, n] : kinds)
    out += (out.empty() ? "" : ", ") + (n > 1 ? std::to_string(n) + " " : kind.starts_with("alert") ? "an " : "a ") +
           kind + (n == 1 ? " record" : " records");
  return "; while being read it sent " + out;
}

// The returns, and whether the library sent anything while being read (an
// alert, a warning, its own KeyUpdate: encrypted, so only counted).
std::string generic(const Probe&, const Observation& o, const Library&) {
  return returns(o) + sent_while_read(o);
}

std::vector<std::string> pending_names(const Library& library) {
  std::vector<std::string> names;
  std::string_view calls = library.pending_calls;
  for (std::size_t at; (at = calls.find(" / ")) != std::string_view::npos; calls.remove_prefix(at + 3))
    names.emplace_back(calls.substr(0, at));
  names.emplace_back(calls);
  return names;
}

std::string counters(const native::Pending& p, const Library& library) {
  auto names = pending_names(library);
  std::string out = names[0] + " " + std::to_string(p.plaintext);
  if (p.records && names.size() > 1) out += ", " + names[1] + " " + std::to_string(*p.records ? 1 : 0);
  return out;
}

// The counters after every read that returned plaintext (the text report).
std::string counter_trace(const Observation& o, const Library& library) {
  std::string out;
  std::string last;
  int count = 0;
  auto flush = [&] {
    if (count) out += (out.empty() ? "" : " ") + last + (count > 1 ? " ×" + std::to_string(count) : "");
  };
  for (const Call& c : o.calls) {
    if (c.result.kind != Result::Kind::data) continue;
    std::string now = std::to_string(c.pending.plaintext) + (c.pending.records ? (*c.pending.records ? "/1" : "/0") : "");
    if (now == last) {
      ++count;
      continue;
    }
    flush();
    last = now;
    count = 1;
  }
  flush();
  return library.pending_calls.data() + std::string(" after each read that returned data: ") +
         (out.empty() ? "(none)" : out);
}

// R03: what the counters say while records are buffered.
std::string buffered(const Probe& probe, const Observation& o, const Library& library) {
  auto starts = record_starts(o.script.wire);
  const Call* first = nullptr;
  const Call* boundary = nullptr;  // after the first record's last byte
  for (const Call& c : o.calls) {
    if (c.result.kind != Result::Kind::data) continue;
    if (!first) first = &c;
    if (!boundary && c.delivered >= 100) boundary = &c;
  }
  if (!first || !boundary || starts.size() < 2) return returns(o);
  std::size_t inside = boundary->consumed - starts[1];
  std::string out = std::string(library.read_call) + "(" + std::to_string(probe.read_size) + ") → " +
                    std::to_string(first->result.bytes) + " B, then " + counters(first->pending, library) +
                    "; after the first record's last byte: " + counters(boundary->pending, library) + ", " +
                    (inside == 0 ? std::string("the later records all still in the socket")
                                 : std::to_string(inside) + " B of later records inside the library") +
                    ". Returns: ";
  return out + returns(o);
}

// R11: what the library does with the bytes behind close_notify.
std::string after_close(const Probe&, const Observation& o, const Library&) {
  auto starts = record_starts(o.script.wire);
  std::string out = returns(o);
  if (starts.size() < 3 || o.calls.empty()) return out;
  std::size_t behind = o.script.wire.size() - starts[2];
  std::size_t consumed = o.calls.back().consumed;
  std::size_t read_behind = consumed > starts[2] ? consumed - starts[2] : 0;
  if (read_behind == 0) return out + "; it read none of the bytes behind close_notify";
  if (read_behind == behind) return out + "; it read all the bytes behind close_notify";
  return out + "; it read " + std::to_string(read_behind) + " of the " + std::to_string(behind) +
         " B behind close_notify";
}

// R15: which record the library failed on.
std::string empty_records(const Probe&, const Observation& o, const Library&) {
  auto starts = record_starts(o.script.wire);
  std::string out = returns(o);
  for (const Call& c : o.calls) {
    if (c.result.kind != Result::Kind::other || c.result.code == "0") continue;
    std::size_t records = 0;
    for (std::size_t i = 0; i < starts.size(); ++i) {
      std::size_t end = i + 1 < starts.size() ? starts[i + 1] : o.script.wire.size();
      if (end <= c.consumed) ++records;
    }
    return out + " (its first error, " + c.result.code + ", once " + std::to_string(records) + " of the " +
           std::to_string(starts.size()) + " records were read: D(10) and " + std::to_string(records - 1) +
           " empty ones)";
  }
  return out;
}

// R22: where the library answers KeyUpdate(update_requested).
std::string key_update(const Probe&, const Observation& o, const Library&) {
  std::string out = returns(o);
  if (!o.sent_reading.empty()) return out + sent_while_read(o);
  out += "; nothing sent while being read";
  if (o.write_after && o.write_after->kind == Result::Kind::data)
    return out + "; its next 1-byte write sent " + std::to_string(o.records_for_write) + " records";
  if (o.write_after) return out + "; its next write: " + o.write_after->code;
  return out;
}

// R25: tickets surfaced through the library's session callback.
std::string tickets(const Probe&, const Observation& o, const Library&) {
  return returns(o) + "; " + std::to_string(o.sessions) + " ticket(s) surfaced by the session callback";
}

// ---- the rows -------------------------------------------------------------------

Schedule bytewise() { return {.kind = Schedule::Kind::bytewise}; }

const std::vector<Probe>& probes() {
  static const std::vector<Probe> all = {
      {.id = "R01", .situation = "close_notify (R01: D(100) CN FIN in one read)"},
      {.id = "R03",
       .situation = "records buffered while the application reads 7 B at a time (R03: 3xD(100) CN FIN in one read)",
       .read_size = 7,
       .summary = buffered},
      {.id = "R04", .situation = "EOF without close_notify (R04: 3xD(100) FIN in one read)"},
      {.id = "R05", .situation = "EOF inside a record header (R05: D(100) + 3 bytes of the next header, FIN)"},
      {.id = "R06",
       .situation = "EOF inside a record (R06: D(100) + the next record cut inside its tag, FIN; one byte per read)",
       .schedule = bytewise()},
      {.id = "R08", .situation = "reset after complete records (R08: 2xD(100) RST)"},
      {.id = "R11",
       .situation = "data after close_notify, and reads after the end (R11: D(50) CN D(50) FIN in one read; read "
                    "again after the end, hook calls counted)",
       .summary = after_close},
      {.id = "R12", .situation = "fatal alert from the peer (R12: D(100) + alert internal_error)"},
      {.id = "R13", .situation = "record authentication failure (R13: D1 D2 D3(tag flipped) D4, rb 512)",
       .read_size = 512},
      {.id = "R14", .situation = "three empty records (R14: D(10) 3xD(0) D(10) CN; one byte per read)",
       .schedule = bytewise()},
      {.id = "R15", .situation = "empty records in a row (R15: D(10) + 33xD(0), FIN)", .summary = empty_records},
      {.id = "R18", .situation = "record carrying 16385 plaintext bytes (R18)"},
      {.id = "R22", .situation = "KeyUpdate(update_requested) (R22: D(100) KeyUpdate D(100) CN, rb 64; TLS 1.3)",
       .read_size = 64,
       .write_after = true,
       .summary = key_update},
      {.id = "R23", .situation = "KeyUpdate and a NewSessionTicket in one record (R23; TLS 1.3)"},
      {.id = "R25", .situation = "tickets between data records (R25: NST D(50) NST D(50) CN, rb 16; TLS 1.3 client)",
       .read_size = 16,
       .summary = tickets},
      {.id = "R31", .situation = "HelloRequest from the server (R31; TLS 1.2 client)"},
      {.id = "R32", .situation = "the client asks to renegotiate (R32; TLS 1.2 server)", .victim = Role::server},
      {.id = "R34", .situation = "record of unknown content type (R34)"},
      {.id = "R01",
       .situation = "a receive hook that returns 0 where it would block (R01 cut 3 bytes into each record header; "
                    "lastbyte's own hooks never return 0)",
       .schedule = {.kind = Schedule::Kind::header_split, .k = 3},
       .zero_hook = true},
      {.id = "V02", .situation = "certificate for another name (V02)", .certificate = true},
      {.id = "V03", .situation = "CN-only certificate whose CN matches (V03)", .certificate = true},
      {.id = "V05", .situation = "chain to an untrusted root (V05)", .certificate = true},
  };
  return all;
}

// ---- cells ----------------------------------------------------------------------

std::string_view version_label(TlsVersion v) { return v == TlsVersion::tls1_3 ? "TLS 1.3" : "TLS 1.2"; }

// One text per TLS version the row applies to (nullopt: unsupported), merged.
std::string merge(const std::vector<std::pair<TlsVersion, std::optional<std::string>>>& texts) {
  std::vector<std::pair<TlsVersion, std::string>> supported;
  std::vector<TlsVersion> unsupported;
  for (const auto& [v, t] : texts) {
    if (t) supported.emplace_back(v, *t);
    else unsupported.push_back(v);
  }
  if (supported.empty()) return "unsupported by this library";
  bool same = true;
  for (const auto& s : supported) same &= s.second == supported.front().second;
  std::string out;
  if (same && unsupported.empty()) return supported.front().second;
  if (same) {
    out = std::string(version_label(supported.front().first)) + ": " + supported.front().second;
  } else {
    for (const auto& [v, t] : supported) out += (out.empty() ? "" : "; ") + std::string(version_label(v)) + ": " + t;
  }
  for (TlsVersion v : unsupported) out += "; " + std::string(version_label(v)) + ": unsupported by this library";
  return out;
}

std::string verify_text(const Observation& o) {
  if (o.status != Observation::Status::ran) return o.note;
  std::string out = o.handshake.kind == Result::Kind::data ? "accepted" : "refused, " + o.handshake.code;
  if (!o.verification.empty()) out += " (" + o.verification + ")";
  return out;
}

std::string certificate_text(const Probe& probe, TlsVersion version, const Library& library, const Backend& peer,
                             std::string& detail) {
  std::string out;
  for (Verify v : {Verify::library_default, Verify::chain, Verify::chain_and_name}) {
    Observation o = native::observe_certificate(library, probe.id, v, version, peer);
    std::string text = std::string(library.verify_calls[static_cast<int>(v)]) + ": " + verify_text(o);
    detail += "      " + text + "\n";
    out += (out.empty() ? "" : "; ") + text;
  }
  return out;
}

std::string brief(Verdict v) {
  // The library's own words stay out: the verdict is one class for all.
  std::visit(
      [](auto& x) {
        if constexpr (requires { x.detail; }) x.detail.clear();
      },
      v);
  return describe(v);
}

const Backend* lastbyte_backend(std::string_view name) {
  for (const Backend* b : installed_backends())
    if (b->name == name) return b;
  return nullptr;
}

std::string lastbyte_text(const Probe& probe, const Scenario& scenario, TlsVersion version, const Backend& backend,
                          const Backend& peer, int& failures) {
  Cell cell{.scenario = &scenario, .version = version, .victim = probe.victim, .victim_backend = &backend,
            .peer_backend = &peer, .schedule = probe.schedule, .read_size = probe.read_size};
  Delivered delivered;
  CellResult r = run_cell(cell, &delivered);
  switch (r.status) {
    case CellResult::Status::unsupported: return "unsupported by this library";
    case CellResult::Status::known_divergence: return "known divergence (docs/divergences.md)";
    case CellResult::Status::fail: ++failures; return "FAIL: " + r.message.substr(0, r.message.find('\n'));
    case CellResult::Status::pass: break;
  }
  if (probe.certificate) return delivered.verdict ? brief(*delivered.verdict) : "accepted";
  return std::to_string(delivered.bytes) + " B, " + (delivered.verdict ? brief(*delivered.verdict) : "open");
}



std::vector<TlsVersion> versions_of(const Scenario& scenario, Role victim) {
  std::vector<TlsVersion> out;
  for (TlsVersion v : {TlsVersion::tls1_3, TlsVersion::tls1_2})
    if (!scenario.applies || scenario.applies(v, victim)) out.push_back(v);
  return out;
}

bool selected(const NativeOptions& options, std::string_view id) {
  if (options.scenario_globs.empty()) return true;
  for (const auto& glob : options.scenario_globs)
    if (fnmatch(glob.c_str(), std::string(id).c_str(), 0) == 0) return true;
  return false;
}

}  // namespace

NativeReport run_native(const NativeOptions& options) {
  const Backend* peer = options.peer ? options.peer : lastbyte_backend("openssl");
  if (!peer) throw std::runtime_error("native mode needs a peer backend (openssl is not built)");
  NativeReport report;
  std::ostringstream text, md;
  auto libraries = native::libraries();
  // The exact versions measured: a Debian point release may change what a
  // library reports (OpenSSL 3.0.22's R34 message), and the test of this
  // table tells that apart from a change of ours (tests/native_table_test.sh).
  md << "Measured with";
  for (const Library* library : libraries)
    md << (library == libraries.front() ? " " : ", ") << library->version();
  md << ".\n\n";
  md << "| situation (the scenario that proves it) |";
  for (const Library* library : libraries) md << " " << library->title << " " << native::series(library->version()) << " |";
  md << " lastbyte reports |\n|---|";
  for (std::size_t i = 0; i < libraries.size(); ++i) md << "---|";
  md << "---|\n";
  for (const Probe& probe : probes()) {
    if (!selected(options, probe.id)) continue;
    const Scenario* scenario = find_scenario(probe.id);
    if (!scenario) throw std::logic_error("native probe of an unknown scenario " + std::string(probe.id));
    ++report.rows;
    auto versions = versions_of(*scenario, probe.victim);
    text << probe.situation << "\n  " << (probe.victim == Role::client ? "client" : "server") << ", peer lastbyte "
         << peer->name << ", schedule " << (probe.certificate ? "-" : probe.schedule.name()) << ", rb "
         << probe.read_size << "\n";
    md << "| " << markdown_cell(std::string(probe.situation)) << " |";
    std::map<TlsVersion, std::map<std::string, std::vector<std::string>>> lastbyte;  // version -> text -> who
    std::vector<std::string> without_backend;
    for (const Library* library : libraries) {
      std::vector<std::pair<TlsVersion, std::optional<std::string>>> natives, ours;
      const Backend* backend = lastbyte_backend(library->name);
      for (TlsVersion v : versions) {
        text << "  " << library->name << " " << version_label(v) << "\n";
        std::string detail;
        std::optional<std::string> cell;
        if (!library->supports(v)) {
          text << "    native:   unsupported by this library\n";
        } else if (probe.certificate) {
          cell = certificate_text(probe, v, *library, *peer, detail);
          text << "    native:\n" << detail;
        } else {
          Observation o = native::observe_stream(*library,
                                                 {.scenario = scenario, .version = v, .victim = probe.victim,
                                                  .schedule = probe.schedule, .read_size = probe.read_size,
                                                  .zero_hook = probe.zero_hook, .write_after = probe.write_after},
                                                 *peer);
          if (o.status == Observation::Status::unsupported) {
            text << "    native:   " << o.note << "\n";
          } else {
            cell = o.status == Observation::Status::ran ? (probe.summary ? probe.summary : generic)(probe, o, *library)
                                                        : "not run: " + o.note;
            text << "    native:   " << *cell << "\n";
            if (o.status == Observation::Status::ran) text << "    counters: " << counter_trace(o, *library) << "\n";
          }
        }
        natives.emplace_back(v, cell);
        if (!backend) {
          text << "    lastbyte: no lastbyte " << library->name << " backend on this branch\n";
          continue;
        }
        std::string ours_text = lastbyte_text(probe, *scenario, v, *backend, *peer, report.lastbyte_failures);
        text << "    lastbyte: " << ours_text << "\n";
        // The header says which versions a library has.
        if (ours_text != "unsupported by this library") lastbyte[v][ours_text].emplace_back(library->title);
      }
      md << " " << markdown_cell(merge(natives)) << " |";
      if (!backend) without_backend.emplace_back(library->title);
    }
    // One text per version when every backend agrees (the point of lastbyte), else who said what.
    std::vector<std::pair<TlsVersion, std::optional<std::string>>> per_version;
    bool agree = true;
    for (TlsVersion v : versions) {
      auto& texts = lastbyte[v];
      if (texts.size() == 1) {
        per_version.emplace_back(v, texts.begin()->first);
        continue;
      }
      agree = false;
      std::string split;
      for (const auto& [t, who] : texts) {
        std::string names;
        for (const auto& w : who) names += (names.empty() ? "" : ", ") + w;
        split += (split.empty() ? "" : "; ") + names + ": " + t;
      }
      per_version.emplace_back(v, split.empty() ? std::nullopt : std::optional(split));
    }
    std::string ours = merge(per_version) + (agree ? " (every lastbyte backend)" : "");
    for (const auto& title : without_backend) ours += "; " + title + ": no lastbyte backend on this branch";
    md << " " << markdown_cell(ours) << " |\n";
    text << "\n";
  }
  report.text = text.str();
  report.markdown = md.str();
  return report;
}

std::vector<std::string_view> native_library_names() {
  std::vector<std::string_view> names;
  for (const Library* library : native::libraries()) names.push_back(library->name);
  return names;
}

std::optional<std::string> write_marked_section(const std::string& path, std::string_view begin_marker,
                                                std::string_view end_marker, std::string_view markdown) {
  std::ifstream in(path);
  if (!in) return "cannot read " + path;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string doc = buffer.str();
  auto begin = doc.find(begin_marker);
  auto end = doc.find(end_marker);
  if (begin == std::string::npos || end == std::string::npos || end < begin)
    return path + " has no " + std::string(begin_marker) + " ... " + std::string(end_marker) + " section";
  begin += begin_marker.size();
  doc.replace(begin, end - begin, "\n" + std::string(markdown));
  std::ofstream out(path, std::ios::trunc);
  out << doc;
  if (!out) return "cannot write " + path;
  return std::nullopt;
}

}  // namespace lastbyte::conformance
