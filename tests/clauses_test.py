#!/usr/bin/env python3
"""lastbyte-conformance --clauses must list each contract clause C1-C10 of
docs/design.md, in its words, with at least one catalogue row that the runner
has and only tests that exist, in lines of at most 100 columns; and it must
exit 0 (it exits 1 when a row names no clause or an unknown one, or a clause
has no row: tests/clauses_test.cpp drives that).

  clauses_test.py LASTBYTE_CONFORMANCE LASTBYTE_TESTS DOCS_DESIGN_MD
"""
import re
import subprocess
import sys
from pathlib import Path

WIDTH = 100
HEADING = re.compile(r"^(C\d+) (.+)$")


def design_clauses(text: str) -> dict:
    """{"C1": ("Order", "Plaintext reaches ..."), ...} from the contract's list."""
    clauses = {}
    for match in re.finditer(r"^- \*\*(C\d+) (.+?)\.\*\* (.*?)(?=^- \*\*C\d+ |^## |\Z)", text, re.M | re.S):
        clauses[match.group(1)] = (match.group(2), " ".join(match.group(3).split()))
    return clauses


def gtest_names(binary: str) -> set:
    """Suite.Test for every test of the binary, without a parametrised suite's prefix and suffix."""
    listed = subprocess.run([binary, "--gtest_list_tests"], check=True, capture_output=True, text=True).stdout
    names, suite = set(), ""
    for line in listed.splitlines():
        if not line.startswith(" "):
            suite = line.split("#")[0].strip().rstrip(".").split("/")
            suite = suite[1] if len(suite) > 1 else suite[0]
        elif line.strip():
            names.add(suite + "." + line.split("#")[0].strip().split("/")[0])
    return names


def main() -> int:
    runner, tests_binary, design = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    run = subprocess.run([runner, "--clauses"], capture_output=True, text=True)
    problems = []
    if run.returncode != 0 or run.stderr:
        problems.append(f"--clauses exited {run.returncode}: {run.stderr.strip()}")
    lines = run.stdout.splitlines()
    for number, line in enumerate(lines, 1):
        if len(line) > WIDTH:
            problems.append(f"line {number} is {len(line)} columns wide (at most {WIDTH}): {line}")

    # The printed index, clause by clause.
    printed, current = {}, None
    for line in lines:
        match = HEADING.match(line)
        if match:
            current = printed.setdefault(match.group(1), {"name": match.group(2), "lines": []})
        elif current is not None and line.strip():
            current["lines"].append(line.strip())
    expected = [f"C{i}" for i in range(1, 11)]
    if list(printed) != expected:
        problems.append(f"the clauses printed are {list(printed)}, expected {expected}")

    rows = {line.split()[0] for line in
            subprocess.run([runner, "--list"], check=True, capture_output=True, text=True).stdout.splitlines()
            if line.strip()}
    tests = gtest_names(tests_binary)
    stated = design_clauses(design.read_text())
    if sorted(stated, key=lambda c: int(c[1:])) != expected:
        problems.append(f"{design} states the clauses {sorted(stated)}, expected {expected}")
    for clause, block in printed.items():
        text = " ".join(block["lines"])
        statement, _, rest = text.partition(" rows: ")
        row_text, _, test_text = rest.partition(" tests: ")
        name, words = stated.get(clause, ("?", "?"))
        if block["name"] != name:
            problems.append(f"{clause} is called \"{block['name']}\"; {design.name} calls it \"{name}\"")
        if statement != words:
            problems.append(f"{clause}'s statement differs from {design.name}'s:\n  printed: {statement}\n"
                            f"  design:  {words}")
        named_rows = row_text.split()
        if not named_rows:
            problems.append(f"{clause} has no row")
        for row in named_rows:
            if row not in rows:
                problems.append(f"{clause} names the row {row}, which --list does not have")
        named_tests = test_text.split()
        if not named_tests:
            problems.append(f"{clause} names no test")
        for test in named_tests:
            if test not in tests:
                problems.append(f"{clause} names the test {test}, which {Path(tests_binary).name} does not have")

    if problems:
        print("lastbyte-conformance --clauses is wrong:", file=sys.stderr)
        for problem in problems:
            print("- " + problem, file=sys.stderr)
        return 1
    print(f"--clauses lists C1-C10, each with its rows and tests ({len(lines)} lines within {WIDTH} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
