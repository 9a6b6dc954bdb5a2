// --html FILE: one page a person opens anywhere, CI artifact or mail
// attachment, without a server or a network: the style and the script are
// inline, the run is embedded as JSON, and a Content-Security-Policy forbids
// the page any request (so a reference to something outside it cannot
// creep in unnoticed: the browser test checks no request is made). The
// page draws the row x column grid as a heatmap with filters; a click on a
// grid position shows its cells, their messages and reproducers.
#include "report.hpp"

#include <cstdio>
#include <map>

namespace lastbyte::conformance::report {

namespace {

// `text` as a JSON string that is also safe inside <script>: "<", ">" and
// "&" escaped (no "</script>" or "<!--" can appear), U+2028/U+2029 escaped,
// and bytes that are not UTF-8 (a program's output) replaced by U+FFFD.
std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '<': out += "\\u003c"; break;
        case '>': out += "\\u003e"; break;
        case '&': out += "\\u0026"; break;
        default:
          if (c < 0x20 || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\u%04x", c);
            out += hex;
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // A well-formed UTF-8 sequence is copied; anything else is U+FFFD.
    std::size_t length = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c > 0xF4) length = 0;
    bool valid = length > 0 && i + length <= text.size();
    std::uint32_t code = 0;
    if (valid) {
      code = c & (length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07);
      for (std::size_t k = 1; k < length && valid; ++k) {
        auto b = static_cast<unsigned char>(text[i + k]);
        valid = (b & 0xC0) == 0x80;
        code = code << 6 | (b & 0x3F);
      }
      // Overlong forms, surrogates and beyond U+10FFFF are not UTF-8.
      valid = valid && !(length == 3 && code < 0x800) && !(length == 4 && (code < 0x10000 || code > 0x10FFFF)) &&
              !(code >= 0xD800 && code <= 0xDFFF);
    }
    if (!valid) {
      out += "\\ufffd";
      ++i;
    } else if (code == 0x2028 || code == 0x2029) {
      out += code == 0x2028 ? "\\u2028" : "\\u2029";
      i += length;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out + "\"";
}

// The run as JSON. Messages are shared through a table: thousands of cells
// carry the same "unsupported" reason.
std::string run_json(const Run& run) {
  std::string j = "{";
  j += "\"title\":" + json_string(run.title);
  j += ",\"subject\":" + json_string(run.subject);
  j += ",\"generated\":" + json_string(utc_now());
  j += ",\"rowHeading\":" + json_string(run.row_heading);
  j += ",\"columnHeading\":" + json_string(run.column_heading);
  j += ",\"knownHeading\":" + json_string(run.known_heading);
  j += ",\"totalsLine\":" + json_string(run.totals_line);
  j += ",\"libraries\":[";
  for (std::size_t i = 0; i < run.libraries.size(); ++i)
    j += std::string(i ? "," : "") + "[" + json_string(run.libraries[i].first) + "," +
         json_string(run.libraries[i].second) + "]";
  j += "],\"notes\":[";
  for (std::size_t i = 0; i < run.notes.size(); ++i) j += std::string(i ? "," : "") + json_string(run.notes[i]);
  j += "],\"legend\":[";
  for (std::size_t i = 0; i < run.legend.size(); ++i)
    j += std::string(i ? "," : "") + "[" + json_string(run.legend[i].term) + "," + json_string(run.legend[i].meaning) +
         "]";
  j += "],\"rows\":[";
  for (std::size_t i = 0; i < run.rows.size(); ++i)
    j += std::string(i ? "," : "") + "{\"id\":" + json_string(run.rows[i].id) +
         ",\"title\":" + json_string(run.rows[i].title) + "}";
  j += "],\"columns\":[";
  for (std::size_t i = 0; i < run.columns.size(); ++i) {
    const Column& c = run.columns[i];
    j += std::string(i ? "," : "") + "{\"label\":" + json_string(c.label) + ",\"backend\":" + json_string(c.backend) +
         ",\"peer\":" + json_string(c.peer) + ",\"role\":" + json_string(c.role) +
         ",\"version\":" + json_string(c.version) + "}";
  }
  std::map<std::string_view, std::size_t> message_index;
  std::vector<std::string_view> messages;
  j += "],\"cells\":[";
  for (std::size_t i = 0; i < run.entries.size(); ++i) {
    const Entry& e = run.entries[i];
    auto [at, added] = message_index.try_emplace(e.message, messages.size());
    if (added) messages.push_back(e.message);
    // [row, column, outcome, word, name, message]: compact, a full run has tens of thousands.
    j += std::string(i ? "," : "") + "[" + std::to_string(e.row) + "," + std::to_string(e.column) + "," +
         json_string(to_string(e.outcome)) + "," + json_string(e.word) + "," + json_string(e.name) + "," +
         std::to_string(at->second) + "]";
  }
  j += "],\"messages\":[";
  for (std::size_t i = 0; i < messages.size(); ++i) j += std::string(i ? "," : "") + json_string(messages[i]);
  return j + "]}";
}

const char page_head[] = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lastbyte report</title>
<style>
:root { --pass: #2e9d4f; --fail: #d7263d; --unsupported: #9aa5b1; --known: #f0a202; --undefined: #f4f4f4; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #1b1b1b; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: 12.5px; }
header dl { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: .5em 0; }
header dt { font-weight: 600; }
header dd { margin: 0; }
.totals span.count { font-weight: 700; font-size: 1.1em; }
.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: -.15em; border: 1px solid #0003; margin-right: .3em; }
.s-pass { background: var(--pass); color: #fff; }
.s-fail { background: var(--fail); color: #fff; }
.s-unsupported { background: var(--unsupported); color: #fff; }
.s-known { background: var(--known); color: #000; }
.s-undefined { background: var(--undefined); color: #999; }
#legend ul { margin: .3em 0; padding-left: 1.2em; columns: 2 36em; column-gap: 2em; }
#legend li { break-inside: avoid; }
#filters { display: flex; flex-wrap: wrap; gap: .5em 2em; margin: .8em 0; padding: .5em; background: #f7f7f9; border-radius: 4px; }
#filters fieldset { border: 0; padding: 0; margin: 0; }
#filters legend { font-weight: 600; padding: 0; }
#filters label { margin-right: .8em; white-space: nowrap; }
#grid-wrap { overflow: auto; max-height: 75vh; border: 1px solid #ddd; }
table.grid { border-collapse: collapse; }
table.grid th, table.grid td { border: 1px solid #fff; padding: 0; }
table.grid thead th { position: sticky; top: 0; background: #fff; z-index: 1; vertical-align: bottom; }
table.grid th.col { writing-mode: vertical-rl; transform: rotate(180deg); font-weight: normal; font-size: 12px; padding: 4px 1px; white-space: nowrap; }
table.grid th.row { text-align: left; font-weight: normal; white-space: nowrap; padding: 0 .6em 0 .2em; position: sticky; left: 0; background: #fff; max-width: 28em; overflow: hidden; text-overflow: ellipsis; }
table.grid td.cell { min-width: 2.2em; height: 1.6em; text-align: center; font-size: 11px; cursor: pointer; }
table.grid td.cell:hover, table.grid td.cell:focus, table.grid td.cell.selected { outline: 2px solid #000; outline-offset: -2px; }
table.grid td.sum { padding: 0 .5em; white-space: nowrap; font-size: 12px; }
.hidden { display: none; }
#details { margin-top: 1em; padding: .8em; border: 1px solid #ccc; border-radius: 4px; }
#details table { border-collapse: collapse; width: 100%; }
#details td, #details th { border-bottom: 1px solid #eee; padding: .2em .5em; text-align: left; vertical-align: top; }
#details pre { white-space: pre-wrap; word-break: break-all; margin: 0; max-height: 20em; overflow: auto; }
.reproducer { background: #1b1b1b; color: #f8f8f2; padding: .4em .6em; border-radius: 3px; display: block; white-space: pre-wrap; word-break: break-all; margin: .2em 0; }
</style>
</head>
<body>
<header>
<h1 id="title"></h1>
<div id="subject" class="mono"></div>
<dl id="facts"></dl>
<p class="totals" id="totals"></p>
<p class="mono" id="totals-line"></p>
</header>
<section id="legend"><strong>Legend</strong><ul id="legend-items"></ul></section>
<form id="filters" onsubmit="return false"></form>
<p id="shown"></p>
<div id="grid-wrap"><table class="grid" id="grid"></table></div>
<section id="details"><em>Click a square of the grid to see its cells, their messages and the reproducer of each failure.</em></section>
<script type="application/json" id="report-data">)html";

const char page_tail[] = R"html(</script>
<script>
"use strict";
const data = JSON.parse(document.getElementById("report-data").textContent);
const OUTCOMES = ["pass", "fail", "unsupported", "known"];
const NAMES = {pass: "passed", fail: "failed", unsupported: "unsupported", known: data.knownHeading,
               undefined: "not defined"};
const family = id => id.charAt(0);
const el = (tag, props = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const countsOf = cells => {
  const n = {pass: 0, fail: 0, unsupported: 0, known: 0};
  for (const c of cells) n[c[2]]++;
  return n;
};
// The grid position's colour: a failure shows over anything, then a known
// divergence, then a pass; unsupported only when nothing else is there.
const worst = n => n.fail ? "fail" : n.known ? "known" : n.pass ? "pass" : n.unsupported ? "unsupported" : "undefined";

// Header.
document.title = data.title;
document.getElementById("title").textContent = data.title;
if (data.subject) document.getElementById("subject").textContent = "Program under test: " + data.subject;
const facts = document.getElementById("facts");
const fact = (term, value) => facts.append(el("dt", {text: term}), el("dd", {text: value}));
fact("Generated", data.generated);
fact("Backends", data.libraries.map(([name, version]) => name + " (" + version + ")").join(", "));
for (const note of data.notes) {
  const at = note.indexOf(": ");
  if (at > 0) fact(note.slice(0, at), note.slice(at + 2)); else fact("", note);
}
const total = countsOf(data.cells);
const totals = document.getElementById("totals");
totals.append(el("span", {id: "count-cells", class: "count", text: String(data.cells.length)}), " cells: ");
OUTCOMES.forEach((o, i) => {
  totals.append(el("span", {class: "swatch s-" + o}),
                el("span", {id: "count-" + o, class: "count", text: String(total[o])}), " " + NAMES[o],
                i + 1 < OUTCOMES.length ? ", " : "");
});
document.getElementById("totals-line").textContent = data.totalsLine;

// Legend: the colours, then the run's own words.
const legend = document.getElementById("legend-items");
for (const o of [...OUTCOMES, "undefined"]) {
  const meaning = {pass: "every cell of the square passed",
                   fail: "at least one cell failed (the number: how many)",
                   unsupported: "every cell is unsupported by the library (or program) that would run it",
                   known: "a cell fails as recorded (a " + data.knownHeading + ") and none unexpectedly",
                   undefined: "the row does not define this " + data.columnHeading}[o];
  legend.append(el("li", {}, el("span", {class: "swatch s-" + o}), el("strong", {text: NAMES[o]}), ": " + meaning));
}
legend.append(el("li", {text: "The number in a square: its cells of the square's colour; hover for every count."}));
for (const [term, meaning] of data.legend) legend.append(el("li", {}, el("code", {text: term}), ": " + meaning));

// Cells by grid position.
const byPosition = new Map();
data.cells.forEach(c => {
  const key = c[0] + "," + c[1];
  if (!byPosition.has(key)) byPosition.set(key, []);
  byPosition.get(key).push(c);
});

// Filters: backend, TLS version, role, row family.
const dimensions = [
  ["backend", "Backend", data.columns.map(c => c.backend)],
  ["version", "TLS version", data.columns.map(c => c.version)],
  ["role", "Role judged", data.columns.map(c => c.role)],
  ["family", "Row family", data.rows.map(r => family(r.id))],
];
const chosen = {};
const filters = document.getElementById("filters");
for (const [key, title, values] of dimensions) {
  const set = new Set(values);
  chosen[key] = new Set(set);
  const box = el("fieldset", {id: "filter-" + key}, el("legend", {text: title}));
  for (const v of [...set].sort()) {
    const input = el("input", {type: "checkbox", value: v, "data-dimension": key});
    input.checked = true;
    input.addEventListener("change", () => {
      if (input.checked) chosen[key].add(v); else chosen[key].delete(v);
      draw();
    });
    box.append(el("label", {}, input, " " + v));
  }
  filters.append(box);
}

// The grid.
const grid = document.getElementById("grid");
let selected = null;
function draw() {
  const columns = data.columns.map((c, i) => [c, i]).filter(([c]) =>
      chosen.backend.has(c.backend) && chosen.version.has(c.version) && chosen.role.has(c.role));
  const rows = data.rows.map((r, i) => [r, i]).filter(([r]) => chosen.family.has(family(r.id)));
  grid.replaceChildren();
  const head = el("tr", {}, el("th", {class: "row", text: data.rowHeading}));
  for (const [c] of columns) head.append(el("th", {class: "col", title: c.label, text: c.label}));
  head.append(el("th", {class: "col", text: "pass / fail / unsup / known"}));
  grid.append(el("thead", {}, head));
  const body = el("tbody");
  const shown = [];
  for (const [r, ri] of rows) {
    const tr = el("tr", {}, el("th", {class: "row", title: r.id + " " + r.title, text: r.id + "  " + r.title}));
    const rowCells = [];
    for (const [c, ci] of columns) {
      const cells = byPosition.get(ri + "," + ci) || [];
      rowCells.push(...cells);
      const n = countsOf(cells);
      const status = worst(n);
      const td = el("td", {class: "cell s-" + status, "data-row": ri, "data-column": ci, "data-status": status,
                           "data-pass": n.pass, "data-fail": n.fail, "data-unsupported": n.unsupported,
                           "data-known": n.known,
                           title: r.id + " | " + c.label + "\n" + (cells.length ?
                             OUTCOMES.map(o => n[o] + " " + NAMES[o]).join(", ") : "not defined")});
      td.textContent = status === "undefined" ? "" : String(n[status]);
      td.tabIndex = 0;  // reachable from the keyboard too: Tab to it, Enter or Space
      td.addEventListener("click", () => show(td, r, c, cells));
      td.addEventListener("keydown", event => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          show(td, r, c, cells);
        }
      });
      tr.append(td);
    }
    const n = countsOf(rowCells);
    tr.append(el("td", {class: "sum", text: OUTCOMES.map(o => n[o]).join(" / ")}));
    shown.push(...rowCells);
    body.append(tr);
  }
  grid.append(body);
  const n = countsOf(shown);
  document.getElementById("shown").textContent = "Shown: " + rows.length + " rows x " + columns.length + " " +
      data.columnHeading + "s, " + shown.length + " cells: " + OUTCOMES.map(o => n[o] + " " + NAMES[o]).join(", ");
}

// A grid position's cells: name, word, message; each failure's reproducer.
const reproducerOf = message => {
  const line = message.split("\n").find(l => l.trim().startsWith("reproduce: "));
  return line === undefined ? null : line.trim().slice("reproduce: ".length);
};
function show(td, row, column, cells) {
  if (selected) selected.classList.remove("selected");
  selected = td;
  td.classList.add("selected");
  const details = document.getElementById("details");
  details.replaceChildren(el("h2", {text: row.id + " " + row.title}),
                          el("p", {}, el("strong", {text: data.columnHeading + ": "}), column.label));
  if (!cells.length) {
    details.append(el("p", {text: "Not defined: the row has no cell for this " + data.columnHeading + "."}));
    return;
  }
  const n = countsOf(cells);
  details.append(el("p", {text: cells.length + " cells: " + OUTCOMES.map(o => n[o] + " " + NAMES[o]).join(", ")}));
  const table = el("table", {}, el("tr", {}, el("th", {text: "cell"}), el("th", {text: "result"}),
                                        el("th", {text: "message"})));
  const limit = 500;  // a full run's square holds a few hundred cells at most
  // Failures first: they are what a click on a red square is for.
  const rank = {fail: 0, known: 1, unsupported: 2, pass: 3};
  const order = [...cells].sort((a, b) => rank[a[2]] - rank[b[2]]);
  for (const c of order.slice(0, limit)) {
    const message = data.messages[c[5]];
    const cellText = el("td", {});
    cellText.append(el("pre", {text: message}));
    const reproducer = c[2] === "fail" ? reproducerOf(message) : null;
    if (reproducer) cellText.append(el("strong", {text: "reproduce:"}), el("code", {class: "reproducer", text: reproducer}));
    table.append(el("tr", {class: "detail-" + c[2]}, el("td", {class: "mono", text: c[4]}),
                    el("td", {}, el("span", {class: "swatch s-" + c[2]}), c[3]), cellText));
  }
  details.append(table);
  if (cells.length > limit) details.append(el("p", {text: (cells.length - limit) + " more cells: see --junit"}));
  details.scrollIntoView({block: "nearest"});
}
draw();
document.body.setAttribute("data-ready", "1");
</script>
</body>
</html>
)html";

}  // namespace

bool write_html(const std::string& path, const Run& run) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::string json = run_json(run);
  std::fputs(page_head, f);
  std::fwrite(json.data(), 1, json.size(), f);
  std::fputs(page_tail, f);
  return std::fclose(f) == 0;
}

}  // namespace lastbyte::conformance::report
