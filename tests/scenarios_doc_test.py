#!/usr/bin/env python3
"""docs/scenarios.md must describe the rows the runner implements, no more and
no fewer, and its generated index must be what the runner writes today.

  scenarios_doc_test.py LASTBYTE_CONFORMANCE DOCS_SCENARIOS_MD

Rows the runner splits (R33 as R33a and R33b) are described once under their
stem. Rows under the heading "Planned rows" must not exist in the runner yet.
"""
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROW_ID = re.compile(r"^\| ([A-Z][0-9]{2}[a-z]?) \|")


def stem(row_id: str) -> str:
    return row_id[:3]


def main() -> int:
    runner, doc = sys.argv[1], Path(sys.argv[2])
    problems = []
    text = doc.read_text()

    # 1. The generated index is what the runner writes now.
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "scenarios.md"
        shutil.copy(doc, copy)
        subprocess.run([runner, "--write-catalogue", str(copy)], check=True)
        regenerated = copy.read_text()
    if regenerated != text:
        diff = difflib.unified_diff(text.splitlines(True), regenerated.splitlines(True),
                                    f"{doc} (committed)", f"{doc} (generated now)")
        problems.append("the generated index differs from the runner's catalogue:\n" + "".join(diff) +
                        f"regenerate it: {runner} --write-catalogue {doc}")

    # 2. The hand-written tables name exactly the runner's rows.
    listed = subprocess.run([runner, "--list"], check=True, capture_output=True, text=True).stdout
    implemented = {line.split()[0] for line in listed.splitlines() if line.strip()}
    described, planned = set(), set()
    section = ""
    for line in text.split("<!-- catalogue:begin -->")[0].splitlines():
        if line.startswith("## "):
            section = line
        match = ROW_ID.match(line)
        if match:
            (planned if "Planned" in section else described).add(match.group(1))
    implemented_stems = {stem(i) for i in implemented}
    for row in sorted(implemented):
        if row not in described and stem(row) not in described:
            problems.append(f"{row} runs in the runner but docs/scenarios.md does not describe it")
    for row in sorted(described):
        if row not in implemented and row not in implemented_stems:
            problems.append(f"{row} is described in docs/scenarios.md but the runner has no such row")
    for row in sorted(planned):
        if row in implemented or row in implemented_stems:
            problems.append(f"{row} is implemented: move it out of \"Planned rows\" in docs/scenarios.md")
    if len(implemented) < 50:
        problems.append(f"lastbyte-conformance --list printed only {len(implemented)} rows")

    if problems:
        print("docs/scenarios.md and the runner's catalogue disagree:", file=sys.stderr)
        for problem in problems:
            print("- " + problem, file=sys.stderr)
        return 1
    print(f"docs/scenarios.md describes the runner's {len(implemented)} rows "
          f"({len(planned)} more planned), and its index is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
