#!/usr/bin/env python3
"""After a ctest run: the skipped tests with their reasons and the failed tests
with their first failure line, read from ctest's JUnit file
(<build>/ctest-junit.xml, the test presets' outputJUnitFile), in lines that
fit 100 columns. ctest's summary names skipped tests but not why; a
failure's reason is in its output, which ctest prints whole.

  ctest_summary.py BUILD_DIR
"""
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

WIDTH = 100


def clip(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def skip_reason(output: str) -> str:
    lines = output.splitlines()
    for i, line in enumerate(lines):  # gtest: "file:line: Skipped" then the message
        if line.endswith(": Skipped") and i + 1 < len(lines) and lines[i + 1].strip():
            return lines[i + 1].strip()
    for line in lines:
        if "no cell of this group ran" in line or "unsupported" in line or "skipped" in line.lower():
            return line.strip()
    return next((line.strip() for line in reversed(lines) if line.strip()), "(no reason printed)")


def failure_line(output: str) -> str:
    for line in output.splitlines():
        if re.search(r"Failure|FAIL|error|Error|failed", line) and "[  FAILED  ]" not in line:
            return line.strip()
    return next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "(no output)")


def main() -> int:
    build = Path(sys.argv[1])
    junit = build / "ctest-junit.xml"
    if not junit.exists():
        print(f"ctest_summary: no {junit} (ctest did not run)")
        return 1
    skipped, failed = defaultdict(list), []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        name, status = case.get("name", "?"), case.get("status", "")
        output = case.findtext("system-out") or ""
        if status == "notrun" and case.find("skipped") is not None:
            skipped[skip_reason(output)].append(name)
        elif status == "fail":
            failed.append((name, failure_line(output)))
    count = sum(len(names) for names in skipped.values())
    if count:
        print(f"Skipped: {count} tests, never counted as passed, by reason:")
        for reason, names in sorted(skipped.items(), key=lambda item: -len(item[1])):
            print(clip(f"  {len(names):4d} x {reason}"))
            shown = ", ".join(names[:2]) + (f", and {len(names) - 2} more" if len(names) > 2 else "")
            print(clip(f"         {shown}"))
    if failed:
        log = build / "Testing" / "Temporary" / "LastTest.log"
        print(f"Failed: {len(failed)} tests (their whole output: {log}):")
        for name, line in failed:
            print(clip(f"  {name}"))
            print(clip(f"      {line}"))
    if not count and not failed:
        print("Nothing skipped, nothing failed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
