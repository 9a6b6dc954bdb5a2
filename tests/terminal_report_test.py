#!/usr/bin/env python3
"""What lastbyte-conformance prints fits a terminal: no line over 100
columns, a legend, the totals line CI parses, and reproducers that still
paste as the one command the JUnit holds.

Runs, with the binary given:
  - the catalogue over every installed backend pair, R01-R09, quick, in
    memory (thousands of cells, 64 configurations: the old grid was 413
    columns wide);
  - black-box client mode with a client that never connects and exits 0
    (every cell fails, with a reproducer), its command long enough that the
    reproducer must be broken over lines.
Usage: terminal_report_test.py LASTBYTE_CONFORMANCE WORK_DIR
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

WIDTH = 100
problems = []


def run(binary, work, name, arguments, expected_exit):
    junit = os.path.join(work, name + ".xml")
    command = [binary, *arguments, "--junit", junit]
    result = subprocess.run(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    output = result.stdout.decode("utf-8")  # a byte that is not UTF-8 fails the test here
    with open(os.path.join(work, name + ".txt"), "w") as f:
        f.write(output)
    if result.returncode != expected_exit:
        problems.append(f"{name}: exit {result.returncode}, not {expected_exit}: {' '.join(command)}\n"
                        + result.stderr.decode(errors="replace")[-2000:])
    lines = output.splitlines()
    for number, line in enumerate(lines, 1):
        if len(line) > WIDTH:  # code points: what a terminal shows
            problems.append(f"{name}: line {number} has {len(line)} columns (over {WIDTH}): {line[:120]}...")
    if "Legend:" not in lines:
        problems.append(f"{name}: no legend (a line \"Legend:\")")
    else:
        # "  TERM[, TERM]  meaning": the terms start at column 3, two spaces end them.
        terms = set()
        for line in lines[lines.index("Legend:") + 1:]:
            if line.startswith("  ") and not line.startswith("   ") and "  " in line[2:]:
                terms.update(line[2:].split("  ")[0].split(", "))
        for term in ("FAIL", "unsup", "known", "ok N", "FAIL F/N", "configuration", "FAIL in", "..."):
            if term not in terms:
                problems.append(f"{name}: the legend does not explain \"{term}\" (it has {sorted(terms)})")
    return lines, junit


def reproducers_printed(lines):
    """The reproduce: commands as printed, continuation lines joined the way the shell joins them."""
    commands = []
    for i, line in enumerate(lines):
        if not line.lstrip().startswith("reproduce: "):
            continue
        text = line.lstrip()[len("reproduce: "):]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text += "\n" + lines[i]
        commands.append(text.replace("\\\n", ""))  # backslash-newline: the shell removes both
    return commands


def main():
    binary, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    lines, _ = run(binary, work, "catalogue",
                   ["--backend", "all", "--scenario", "R0*", "--quick", "--transport", "memory"], 0)
    totals = r"^\d+ passed, \d+ failed, \d+ unsupported by this library, \d+ known divergences \(docs/divergences\.md\)$"
    if not lines or not re.match(totals, lines[-1]):
        problems.append(f"catalogue: the last line is not the totals line CI parses: {lines[-1:]}")
    if not any(line.startswith("Per scenario") for line in lines) or not any(
            line.startswith("Per backend pair") for line in lines):
        problems.append("catalogue: no summary per scenario and per backend pair")

    # Quotes of both kinds, an escape and a long unquoted word: the harness
    # quotes it ('\'' for each '), the terminal breaks it, the shell must
    # read back the same command.
    long_client = (": it's a client that never connects, \"with a \\\"command\\\" long enough\" that its "
                   "reproducer needs more than one line of the terminal to be shown whole " + "x" * 120 + "; exit 0")
    lines, junit = run(binary, work, "blackbox", ["--backend", "all", "--cell", "X0[14]_*", "--timeout", "5",
                                                  "--client-cmd", long_client], 1)
    if not lines or not re.match(r"^\d+ not as expected$", lines[-1]):
        problems.append(f"blackbox: the last line is not the verdict (\"N not as expected\"): {lines[-1:]}")
    expected = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        failure = case.find("failure")
        for line in (failure.text or "").splitlines() if failure is not None else []:
            if line.strip().startswith("reproduce: "):
                expected.append(line.strip()[len("reproduce: "):])
    printed = reproducers_printed(lines)
    if not expected:
        problems.append("blackbox: the client that never connects failed no cell with a reproducer")
    # The run prints the first 20 failures; each must paste as its JUnit command.
    for want, got in zip(expected, printed):
        if shlex.split(want) != shlex.split(got):
            problems.append(f"blackbox: the reproducer printed as\n{got}\nis not the command\n{want}")
    if len(printed) != min(20, len(expected)):
        problems.append(f"blackbox: {len(printed)} reproducers printed for {len(expected)} failures")

    if problems:
        print("terminal_report_test: FAILED (the outputs are in " + work + ")", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)
    print(f"terminal_report_test: OK: every line within {WIDTH} columns, legends, totals and "
          f"{len(printed)} reproducers that paste whole")


if __name__ == "__main__":
    main()
