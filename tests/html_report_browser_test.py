#!/usr/bin/env python3
"""The --html report in a real browser (Debian's chromium, headless).

Generates three reports, each with the JUnit of the same run:
  - the catalogue: --backend all --scenario R01 --quick (passes, and the
    Mbed TLS 2.28 TLS 1.3 cells unsupported);
  - black-box client mode: a client that ignores curl's exit status
    ("curl ...; exit 0": it accepts truncated bodies), on X01-X05, with an
    --expect file that records one failure (known) and one failure the
    client does not have (PASS!): all four outcomes;
  - black-box server mode: openssl s_server limited to TLS 1.2 (its TLS 1.3
    cells fail).
Loads each page and checks that: it ran without a script error and made no
request (everything is inline); every cell of the JUnit is in it with the
same outcome; the counts in its header and the sums of its grid equal the
JUnit's; a real click on a failing square shows that cell's reproducer,
exactly as the run printed it; the filters hide what they filter. Keeps a
screenshot of each page (after the click) in WORK.

Chromium is driven over --remote-debugging-pipe (the DevTools protocol on
file descriptors 3 and 4, messages ending in NUL): only the standard
library is needed, no WebDriver. Chromium runs in its own process group
with a fresh profile under WORK; both are gone when the test ends: closed,
then its process group killed; on SIGTERM or SIGINT (ctest's timeout) the
same; and were this script killed outright, chromium exits by itself when
its end of the pipe closes (checked by hand: kill -9 of the script, no
chromium left).
"""
import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

START = time.monotonic()


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


class Browser:
    """Headless chromium and one page of it, over the DevTools pipe."""

    def __init__(self, chromium, work):
        self.profile = os.path.join(work, "chromium-profile")
        shutil.rmtree(self.profile, ignore_errors=True)
        to_chrome_read, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_write = os.pipe()

        def pipes_on_3_and_4():
            # Duplicated first: a pipe end may already sit on 3 or 4, and
            # dup2 onto itself would leave it close-on-exec.
            read_end, write_end = os.dup(to_chrome_read), os.dup(from_chrome_write)
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        self.log = open(os.path.join(work, "chromium.log"), "w")
        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--mute-audio",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"],
            preexec_fn=pipes_on_3_and_4, close_fds=False, start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def call(self, method, params=None, timeout=30, session=True):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" not in self.buffer:
                left = deadline - time.monotonic()
                check(left > 0, f"chromium did not answer {method} within {timeout} s")
                ready, _, _ = select.select([self.from_chrome], [], [], left)
                if ready:
                    chunk = os.read(self.from_chrome, 1 << 16)
                    check(chunk, f"chromium closed its pipe during {method} (its log: {self.log.name})")
                    self.buffer += chunk
            raw, _, self.buffer = self.buffer.partition(b"\0")
            reply = json.loads(raw)
            if reply.get("id") != self.next_id:
                self.events.append(reply)
                continue
            check("error" not in reply, f"{method}: {reply.get('error')}")
            return reply["result"]

    def open_page(self, width=1400, height=1000):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        check("exceptionDetails" not in result,
              f"the page's script failed on {expression[:80]!r}: {result.get('exceptionDetails')}")
        return result["result"].get("value")

    def load(self, url, timeout=20):
        self.events.clear()
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + timeout
        while self.evaluate("document.body !== null && document.body.dataset.ready === '1'") is not True:
            check(time.monotonic() < deadline, f"{url} did not finish drawing within {timeout} s: its script "
                                               f"failed or never ran (errors: {self.problems() or 'none seen'})")
            time.sleep(0.1)

    def problems(self):
        """Script errors, console errors and CSP reports seen since the page loaded."""
        seen = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                seen.append("exception: " + json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                seen.append("console: " + params["entry"].get("text", "")[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
                seen.append("console.error: " + json.dumps(params.get("args"))[:300])
        return seen

    def requests(self):
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def click(self, selector):
        """A real click (mouse events at the element's centre, as a person's)."""
        box = self.evaluate(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center", inline: "center"}});
            const r = e.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            return {{x, y, hit: document.elementFromPoint(x, y) === e || e.contains(document.elementFromPoint(x, y))}};
        }})()""")
        check(box is not None, f"no element {selector} on the page")
        check(box["hit"], f"{selector} is covered by another element: a person could not click it")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left",
                                                   "clickCount": 1})
        # The pointer leaves: no hover outline in the screenshots.
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": 0, "y": 0})

    def screenshot(self, path):
        import base64
        # The whole page, header to details, as a person would scroll it.
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        data = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000), "scale": 1}})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        """Chromium and everything it started are gone when this returns."""
        try:
            if self.process.poll() is None:
                self.session = None
                try:
                    self.call("Browser.close", session=False, timeout=5)
                except (TestFailure, OSError):
                    pass
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # Its helpers (zygote, GPU and renderer processes) share its group.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            self.left_running = True
            deadline = time.monotonic() + 10
            while self.left_running and time.monotonic() < deadline:
                try:
                    os.killpg(self.process.pid, 0)  # anything left of the group (reaped by init soon)
                    time.sleep(0.1)
                except ProcessLookupError:
                    self.left_running = False
            for fd in (self.to_chrome, self.from_chrome):
                os.close(fd)
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


def junit_outcomes(path):
    """{cell name: (outcome, its reproducer (failures) or reason (unsupported), or None)} as the JUnit says."""
    cells = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        failure, skipped, out = case.find("failure"), case.find("skipped"), case.find("system-out")
        reproducer = None
        if failure is not None:
            outcome = "fail"
            for line in (failure.text or "").splitlines():
                if line.strip().startswith("reproduce: "):
                    reproducer = line.strip()[len("reproduce: "):]
        elif skipped is not None:
            message = skipped.get("message", "")
            outcome = "known" if message.startswith("known divergence") else "unsupported"
            if outcome == "unsupported":
                reproducer = message.split(": ", 1)[-1]  # the reason, after "unsupported by this library: "
        elif out is not None and (out.text or "").startswith("expected failure (recorded)"):
            outcome = "known"
        else:
            outcome = "pass"
        cells[case.get("name")] = (outcome, reproducer)
    suite = ET.parse(path).getroot().find("testsuite")
    totals = {key: int(suite.get(key)) for key in ("tests", "failures", "skipped")}
    return cells, totals


def run_report(binary, work, name, arguments, expected_exit):
    html, junit = os.path.join(work, name + ".html"), os.path.join(work, name + ".xml")
    command = [binary, *arguments, "--junit", junit, "--html", html]
    try:
        result = subprocess.run(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"{name}: lastbyte-conformance did not finish within 90 s: {' '.join(command)}")
    check(result.returncode == expected_exit,
          f"{name}: lastbyte-conformance exited {result.returncode}, not {expected_exit}: {' '.join(command)}\n"
          + result.stdout.decode(errors="replace")[-3000:])
    return html, junit


def check_page(browser, name, html, junit, work, failing_cell_has_reproducer=True):
    expected, totals = junit_outcomes(junit)
    url = "file://" + os.path.abspath(html)
    browser.load(url)
    check(not browser.problems(), f"{name}: the page reported errors: {browser.problems()}")
    others = [u for u in browser.requests() if u != url]
    check(not others, f"{name}: the page made requests beyond its own file: {others}")

    # Every cell of the JUnit, with the same outcome, and no other.
    shown = dict(browser.evaluate(
        "JSON.parse(document.getElementById('report-data').textContent).cells.map(c => [c[4], c[2]])"))
    missing = sorted(set(expected) - set(shown))
    extra = sorted(set(shown) - set(expected))
    check(not missing and not extra, f"{name}: cells in the JUnit but not the page: {missing[:5]}; "
                                     f"on the page but not in the JUnit: {extra[:5]}")
    differ = [(n, expected[n][0], shown[n]) for n in expected if expected[n][0] != shown[n]]
    check(not differ, f"{name}: cells whose outcome differs (cell, JUnit, page): {differ[:5]}")

    # The counts a person reads: the header's, and the grid's squares summed.
    counts = {o: sum(1 for outcome, _ in expected.values() if outcome == o)
              for o in ("pass", "fail", "unsupported", "known")}
    check(counts["fail"] == totals["failures"] and sum(counts.values()) == totals["tests"],
          f"{name}: the JUnit's own totals {totals} disagree with its testcases {counts}")
    header = browser.evaluate("""(() => {
        const n = id => Number(document.getElementById(id).textContent);
        return {cells: n("count-cells"), pass: n("count-pass"), fail: n("count-fail"),
                unsupported: n("count-unsupported"), known: n("count-known")};
    })()""")
    check(header == {"cells": totals["tests"], **counts},
          f"{name}: the page's header shows {header}; the JUnit has {totals['tests']} cells, {counts}")
    grid = browser.evaluate("""(() => {
        const sum = {pass: 0, fail: 0, unsupported: 0, known: 0};
        for (const td of document.querySelectorAll("td.cell"))
          for (const o of Object.keys(sum)) sum[o] += Number(td.dataset[o]);
        return sum;
    })()""")
    check(grid == counts, f"{name}: the grid's squares add up to {grid}; the JUnit has {counts}")
    check(browser.evaluate("document.getElementById('legend-items').children.length") >= 6,
          f"{name}: the legend is missing")
    # Text from the run stays text: nothing in it became an element.
    check(browser.evaluate("document.getElementById('injected') === null"),
          f"{name}: markup from the run's text became part of the page")
    if name == "blackbox-client":
        subject = browser.evaluate("document.getElementById('subject').textContent")
        check(subject == "Program under test: " + CLIENT, f"{name}: the page shows the command as {subject!r}")

    # A real click on a failing square shows the cell and its reproducer
    # (a cell that has one: a PASS! cell of black-box mode has none); on an
    # unsupported square, the reason, when nothing failed.
    failing = sorted(n for n, (outcome, _) in expected.items() if outcome == "fail")
    failing = [n for n in failing if expected[n][1]] or failing
    unsupported = sorted(n for n, (outcome, _) in expected.items() if outcome == "unsupported")
    clicked = None
    if failing or unsupported:
        clicked = (failing or unsupported)[0]
        reproducer = expected[clicked][1]
        position = browser.evaluate(f"""(() => {{
            const c = JSON.parse(document.getElementById('report-data').textContent).cells
                          .find(c => c[4] === {json.dumps(clicked)});
            return [c[0], c[1]];
        }})()""")
        selector = f'td.cell[data-row="{position[0]}"][data-column="{position[1]}"]'
        status = "fail" if failing else "unsupported"
        check(browser.evaluate(f"document.querySelector({json.dumps(selector)}).dataset.status") == status,
              f"{name}: the square of {clicked} is not shown as {status}")
        browser.click(selector)
        details = browser.evaluate("document.getElementById('details').innerText")
        check(clicked in details, f"{name}: clicking the square of {clicked} did not show it: {details[:500]!r}")
        if not failing:
            check(reproducer and reproducer in details,
                  f"{name}: clicking unsupported {clicked} does not say why ({reproducer!r}): {details[:500]!r}")
        elif failing_cell_has_reproducer:
            check(reproducer, f"{name}: the JUnit failure of {clicked} has no reproduce: line")
            shown_reproducers = browser.evaluate(
                "[...document.querySelectorAll('#details .reproducer')].map(e => e.textContent)")
            check(reproducer in shown_reproducers,
                  f"{name}: clicking {clicked} shows the reproducers {shown_reproducers}, "
                  f"not the run's {reproducer!r}")
    browser.screenshot(os.path.join(work, name + ".png"))

    # From the keyboard: a passed square focused, Enter shows its cells.
    passed = browser.evaluate("""(() => {
        const td = document.querySelector("td.cell[data-status=pass]");
        td.focus();
        const c = JSON.parse(document.getElementById("report-data").textContent).cells
                      .find(c => c[0] === Number(td.dataset.row) && c[1] === Number(td.dataset.column));
        return document.activeElement === td ? c[4] : null;
    })()""")
    check(passed, f"{name}: a square of the grid cannot take the keyboard's focus")
    for kind in ("keyDown", "keyUp"):
        browser.call("Input.dispatchKeyEvent", {"type": kind, "key": "Enter", "code": "Enter",
                                                "windowsVirtualKeyCode": 13})
    details = browser.evaluate("document.getElementById('details').innerText")
    check(passed in details, f"{name}: Enter on the square of {passed} did not show it: {details[:300]!r}")

    # The filters: each value of each dimension hides exactly its columns or rows.
    for dimension, what in (("backend", "columns"), ("version", "columns"), ("role", "columns"),
                            ("family", "rows")):
        values = browser.evaluate(f"[...document.querySelectorAll('#filter-{dimension} input')].map(i => i.value)")
        check(values, f"{name}: no {dimension} filter")
        before = browser.evaluate("document.querySelectorAll('td.cell').length")
        browser.click(f'#filter-{dimension} input[value="{values[0]}"]')
        after = browser.evaluate("document.querySelectorAll('td.cell').length")
        check(after < before or len(values) == 1 and after == 0,
              f"{name}: unticking {dimension} {values[0]} left {after} of {before} squares")
        browser.click(f'#filter-{dimension} input[value="{values[0]}"]')
        check(browser.evaluate("document.querySelectorAll('td.cell').length") == before,
              f"{name}: ticking {dimension} {values[0]} again did not bring its squares back")
    check(not browser.problems(), f"{name}: the page reported errors: {browser.problems()}")
    return counts, clicked


# Ignores curl's exit status; the comment is markup that must stay text on
# the page (it is in the subject, every message and every reproducer).
MARKUP = "</script><b id=injected>not markup</b><!--"
CLIENT = "curl -sS --cacert {cafile} {url}; exit 0 # " + MARKUP


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conformance", required=True)
    parser.add_argument("--chromium", required=True)
    parser.add_argument("--work", required=True, help="a directory of the build tree (emptied first)")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    binary = os.path.abspath(args.conformance)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    expect = os.path.join(work, "expect.txt")
    with open(expect, "w") as f:
        f.write("X04 tls13 close fail  # recorded: shown as known\n"
                "X02 tls12 close fail  # the client passes it: shown as PASS!, a failure of the run\n")
    reports = [
        ("catalogue", ["--backend", "all", "--scenario", "R01", "--quick", "--transport", "memory"], 0, True),
        ("blackbox-client", ["--backend", "all", "--cell", "X0[1-5]_*", "--expect", expect,
                             "--client-cmd", CLIENT], 1, True),
        ("blackbox-server", ["--vanishing", "10", "--server-cmd",
                             "openssl s_server -quiet -WWW -accept 127.0.0.1:{port} -cert {certfile} "
                             "-key {keyfile} -tls1_2"], 1, False),
    ]
    generated = [(name, *run_report(binary, work, name, arguments, exit_code), reproducer)
                 for name, arguments, exit_code, reproducer in reports]
    print(f"html_report_browser: {len(generated)} reports generated in {time.monotonic() - START:.1f} s", flush=True)

    browser = Browser(args.chromium, work)
    try:
        browser.open_page()
        for name, html, junit, reproducer in generated:
            counts, clicked = check_page(browser, name, html, junit, work, reproducer)
            print(f"html_report_browser: {name}: {counts}, clicked {clicked or 'no failing cell'}; "
                  f"screenshot {os.path.join(work, name + '.png')}", flush=True)
    finally:
        browser.close()
    check(not browser.left_running, "chromium's process group is still there 10 s after it was killed")
    print(f"html_report_browser: OK in {time.monotonic() - START:.1f} s")


def stop(signal_number, frame):
    raise TestFailure(f"stopped by signal {signal_number} (ctest's timeout?)")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)  # the finally clauses close chromium
    signal.signal(signal.SIGINT, stop)
    try:
        main()
    except TestFailure as failure:
        print(f"html_report_browser: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
