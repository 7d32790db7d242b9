#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""The status page (/ui/) in a real browser: Debian's chromium driven by chromedriver over the
W3C WebDriver protocol, from the standard library only (nothing downloads a browser).

  ui_test.py <systask-demo> [--screenshots DIR]

Starts the demo on a free port (its --json "listening" event names it) and chromedriver, then:
the wrong token is refused and said so; the right one shows three providers; a schedule is
paused and resumed from the page and the API agrees each time; "Run now" starts a run that the
page shows running and then finished; the level filter and the search narrow the messages; the
markup user's warning shows `<script>` as text; the page stays up with the server gone and says
it is unreachable. All along, zero Content-Security-Policy violations (collected from
`securitypolicyviolation` events installed before the page's own script runs; a deliberate
inline script at the end proves the collector hears one). Screenshots go to DIR (docs/ui.md's
come from this test). Exit status 0 when every check passed.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN = "ui-test-token-0123456789"
WRONG_TOKEN = "not-the-token"
CHROMIUM = os.environ.get("SYSTASK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SYSTASK_CHROMEDRIVER", "/usr/bin/chromedriver")
# The flags known to work on this kind of machine: without the background-networking ones,
# Chromium keeps trying Google's hosts, which a closed network refuses.
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-US"]
# Runs before any script of every page: collects CSP violations where the test can read them.
CSP_COLLECTOR = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push({directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample});
});
"""

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1
    print(f"ok {checks}: {what}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method, url, body=None, token=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as res:
        text = res.read()
        return res.status, (json.loads(text) if text else None)


def wait_for(what, predicate, timeout=20.0, interval=0.1):
    """Polls `predicate` until it returns something truthy, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (WebDriverError, urllib.error.URLError) as e:  # a node replaced by a redraw, say
            last_error = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


class WebDriverError(Exception):
    pass


class Session:
    """A W3C WebDriver session on chromedriver."""

    def __init__(self, driver_url, user_data_dir):
        self.base = driver_url
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": CHROME_ARGS + [f"--user-data-dir={user_data_dir}"]},
        }}}
        value = self._call("POST", "/session", caps, timeout=60)
        self.id = value["sessionId"]

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as res:
                return json.loads(res.read())["value"]
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            try:
                v = json.loads(detail)["value"]
                detail = f"{v.get('error')}: {v.get('message', '')[:300]}"
            except (ValueError, KeyError, TypeError):
                pass
            raise WebDriverError(f"{method} {path}: {detail}") from None

    def cmd(self, method, path, body=None):
        return self._call(method, f"/session/{self.id}{path}", body)

    def cdp(self, command, params):
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": command, "params": params})

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})

    def click(self, css):
        # The page rebuilds its cards every 2 s: an element found just before a redraw is stale
        # by the time of the click. Find it again then (a redraw takes milliseconds).
        for attempt in range(5):
            try:
                self.cmd("POST", f"/element/{self._id(self.find(css))}/click")
                return
            except WebDriverError as e:
                if "stale element" not in str(e) or attempt == 4:
                    raise

    def type(self, css, text):
        el = self._id(self.find(css))
        self.cmd("POST", f"/element/{el}/clear")
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            self._call("DELETE", f"/session/{self.id}", timeout=10)
        except (WebDriverError, OSError):
            pass

    @staticmethod
    def _id(element):
        return next(iter(element.values()))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    demo_bin = sys.argv[1]
    shots = None
    if "--screenshots" in sys.argv:
        shots = sys.argv[sys.argv.index("--screenshots") + 1]
        os.makedirs(shots, exist_ok=True)
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not os.access(tool, os.X_OK):
            print(f"{tool} not found: run scripts/install-deps (Debian packages chromium, chromium-driver)")
            return 1

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="systask-ui-")
    procs = []
    session = None
    try:
        # The demo: a small directory whose syncs take a couple of seconds (pages of 100 objects,
        # 150 ms each), so that a run is seen running; the markup user makes every sync log a
        # warning naming it. Long interval: only the start-up syncs and the test's own run.
        demo = subprocess.Popen(
            # --store memory: no database file shared with other tests that start a demo in the same
            # directory at the same time (a second demo on one file is refused), and a fresh history.
            [demo_bin, "--json", "--store", "memory", "--listen", "127.0.0.1:0", "--token", TOKEN, "--users", "1500", "--groups", "40",
             "--latency", "150", "--interval", "3600", "--seed", "14", "--hard-failure-rate", "0", "--markup-user"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "demo.stderr"), "w"), text=True)
        procs.append(demo)
        first = json.loads(demo.stdout.readline())
        check(first["event"] == "listening" and first["ui"].endswith("/ui/"), "the demo's first --json event names the page")
        base, ui = first["url"], first["ui"]

        driver_port = free_port()
        driver = subprocess.Popen([CHROMEDRIVER, f"--port={driver_port}"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        procs.append(driver)
        driver_url = f"http://127.0.0.1:{driver_port}"
        wait_for("chromedriver", lambda: http_json("GET", driver_url + "/status")[1]["value"]["ready"], timeout=20)
        session = Session(driver_url, os.path.join(tmp, "profile"))
        session.cdp("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_COLLECTOR})

        api = base + "/api/v3/"
        providers = http_json("GET", api + "systask/providers/", token=TOKEN)[1]
        providers = providers if isinstance(providers, list) else providers["results"]
        schedules = http_json("GET", api + "tasks/schedules/?page_size=100", token=TOKEN)[1]["results"]

        # Sign-in: a wrong token is refused, and the page says so.
        session.go(ui)
        wait_for("the sign-in form", lambda: session.js("return !document.getElementById('login').hidden"))
        session.type("#token", WRONG_TOKEN)
        session.click("#sign-in")
        refused = wait_for("the refusal", lambda: session.js(
            "const e = document.getElementById('login-error'); return !document.getElementById('login').hidden && e.textContent"))
        check("refused" in refused, f"a wrong token is refused and said so: {refused!r}")
        if shots:
            session.screenshot(os.path.join(shots, "ui-sign-in.png"))
        session.type("#token", TOKEN)
        session.click("#sign-in")
        cards = wait_for("three provider cards", lambda: len(session.js("return [...document.querySelectorAll('article.card')]")) == 3 and
                         session.js("return [...document.querySelectorAll('article.card')].map(c => c.dataset.provider)"))
        check(sorted(cards) == sorted(f"{p['kind']}/{p['id']}" for p in providers), f"three providers shown: {cards}")
        check(session.js("return sessionStorage.getItem('systask.token')") == TOKEN, "the token is kept in sessionStorage")
        session.go(ui)  # a reload: the token is asked for once per tab, not per load
        wait_for("the cards after a reload", lambda: len(session.js("return [...document.querySelectorAll('article.card')]")) == 3)
        check(session.js("return document.getElementById('login').hidden") is True, "a reload does not ask for the token again")

        # The start-up syncs finish; the page follows without a reload.
        wait_for("the start-up syncs to finish", lambda: session.js(
            "return [...document.querySelectorAll('article.card')].every(c => ['successful','warning','error'].includes(c.dataset.status))"),
            timeout=30)
        check(True, "the start-up syncs shown finished on every card")

        # Pause and resume a schedule from the page; the API agrees each time.
        sched = next(s for s in schedules if s["identifier"] and "google_workspace" in s["identifier"])
        sid = sched["id"]
        button = f"table.sched tr[data-schedule='{sid}'] button.pause"
        check(not sched["paused"], "the schedule starts unpaused")
        session.click(button)
        wait_for("the page to show it paused", lambda: session.js(
            f"return document.querySelector(\"{button}\").dataset.paused === 'true'"))
        check(http_json("GET", api + f"tasks/schedules/{sid}/", token=TOKEN)[1]["paused"] is True, "paused: the API agrees")
        session.click(button)
        wait_for("the page to show it resumed", lambda: session.js(
            f"return document.querySelector(\"{button}\").dataset.paused === 'false'"))
        check(http_json("GET", api + f"tasks/schedules/{sid}/", token=TOKEN)[1]["paused"] is False, "resumed: the API agrees")

        # Run now: the card goes running, then finished with a new run.
        card = "article.card[data-provider='scim/3']"
        before = session.js(f"const t = document.querySelector(\"{card} details.task\"); return t && t.dataset.uuid")
        session.click(f"{card} button.run-now")
        wait_for("the run to show running", lambda: session.js(
            f"return document.querySelector(\"{card}\").dataset.status === 'running'"), timeout=10)
        check(session.js(f"return document.querySelector(\"{card} details.task\").dataset.status") == "running",
              "run now: the card shows the run running, with its task first")
        # Open the running run: its messages come in live, and it stays open across refreshes.
        session.click(f"{card} details.task[data-status='running'] summary")
        live = wait_for("the running run's messages to grow", lambda: session.js(
            f"const t = document.querySelector(\"{card} details.task[data-status='running'][open]\");"
            "return t && t.querySelectorAll('tr.msg').length >= 5 && t.querySelectorAll('tr.msg').length"), timeout=10)
        check(live >= 5, f"the running run, left open, shows its messages as they come ({live} so far)")
        if shots:
            session.screenshot(os.path.join(shots, "ui-running.png"))
        wait_for("the run to finish", lambda: session.js(
            f"return ['successful','warning','error'].includes(document.querySelector(\"{card}\").dataset.status)"), timeout=30)
        after = session.js(f"return document.querySelector(\"{card} details.task\").dataset.uuid")
        check(after != before, f"run now: the run finished and is the card's last run ({before} -> {after})")

        # Messages: open the run, filter by level, search.
        # The run opened while running is still open now that it has finished (kept by uuid).
        check(session.js(f"return document.querySelector(\"{card} details.task\").open") is True,
              "the run opened while running stays open once finished")
        levels = lambda: session.js(f"return [...document.querySelectorAll(\"{card} details.task[open] tr.msg\")].map(r => r.dataset.level)")
        all_levels = wait_for("the run's messages", levels)
        check("info" in all_levels and "warning" in all_levels, f"the open run lists info and warning messages ({len(all_levels)})")
        session.js("const s = document.getElementById('level'); s.value = 'warning'; s.dispatchEvent(new Event('change'));")
        warned = levels()
        check(warned and all(l in ("warning", "error", "critical") for l in warned) and len(warned) < len(all_levels),
              f"level filter 'warning and above': {len(warned)} of {len(all_levels)} messages")
        refreshes = int(session.js("return document.getElementById('connection').dataset.refreshes"))
        wait_for("the next refresh", lambda: int(session.js(
            "return document.getElementById('connection').dataset.refreshes")) > refreshes, timeout=10)
        check(levels() == warned, "a refresh keeps the run open and the filter applied")
        session.type("#search", "script")
        rows = wait_for("the markup user's warning", lambda: session.js(
            f"return [...document.querySelectorAll(\"{card} details.task[open] tr.msg td.event\")].map(td => [td.textContent, td.children.length])"))
        check(len(rows) == 1 and '<script>alert("systask")</script>' in rows[0][0] and rows[0][1] == 0,
              f"a message holding <script> shows as text: {rows}")
        check(session.js("return document.scripts.length") == 1, "the only script element is the page's own")
        if shots:
            session.screenshot(os.path.join(shots, "ui-filtered.png"))
        session.type("#search", "")
        session.js("const s = document.getElementById('level'); s.value = 'info'; s.dispatchEvent(new Event('change'));")

        # Dark mode follows prefers-color-scheme.
        if shots:
            session.cdp("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
            session.js("window.scrollTo(0, 0)")
            session.screenshot(os.path.join(shots, "ui-dark.png"))
            session.cdp("Emulation.setEmulatedMedia", {"features": []})

        check(session.js("return window.__csp") == [], "zero CSP violations while the page ran")

        # The server goes away: the page keeps its data and says so.
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=20)
        text = wait_for("the page to say the server is unreachable", lambda: session.js(
            "const c = document.getElementById('connection'); return c.dataset.state === 'bad' && c.textContent"), timeout=15)
        check("unreachable" in text, f"server gone: {text!r}")
        check(len(session.js("return [...document.querySelectorAll('article.card')]")) == 3, "server gone: the cards stay")
        if shots:
            session.screenshot(os.path.join(shots, "ui-unreachable.png"))

        # The collector hears a violation when there is one: an inline script is refused.
        session.js("const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s);")
        violations = wait_for("the deliberate violation", lambda: session.js("return window.__csp"), timeout=5)
        check(len(violations) == 1 and session.js("return window.__ran === undefined"),
              f"an inline script is refused and counted: {violations}")
    finally:
        if session:
            session.quit()
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if os.path.exists(os.path.join(tmp, "demo.stderr")) and os.environ.get("SYSTASK_UI_TEST_VERBOSE"):
            print(open(os.path.join(tmp, "demo.stderr")).read())
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"ui_test: {checks} checks passed in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
