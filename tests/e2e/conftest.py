"""Browser tests: the real app served on 127.0.0.1 from a thread, driven by headless Chromium.

Every tab opened through `tabs` is watched for the things a user (or an auditor) would notice:
a request to any other host, a response without `Cache-Control: no-store` on a page or API, a
page without the Content-Security-Policy, a CSP violation, or an error in the console. Any of
them fails the test at teardown.

The app runs on the test FrozenClock (2026-11-01); the browser runs on real time. The pages
never compare the two: a token's lifetime comes from its own `exp - iat`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, cast

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}
STRICT = re.compile(r"^(/h5|/counter|/api/|/partner/)")
HANDLED_HTTP = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """The test output is about the pages, not every request."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk"
        if os.environ.get("PENGCHENG_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live(app: Any) -> Iterator[str]:
    """The test app served over HTTP on 127.0.0.1 (a free port) for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


# Installed before any of the page's scripts run: every CSP violation is reported to the test.
WATCH_CSP = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.pcReportCsp(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@dataclass
class Tab:
    """One browser tab and what it saw."""

    page: Any
    base: str
    name: str
    tab: str = "tab"
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    header_problems: list[str] = field(default_factory=list)
    csp: list[str] = field(default_factory=list)
    expected_console: list[re.Pattern] = field(default_factory=list)

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def expect_console(self, pattern: str) -> None:
        """A console message this test provokes on purpose (e.g. a failed request)."""
        self.expected_console.append(re.compile(pattern))

    def shot(self, label: str, full_page: bool = True) -> Path:
        """A screenshot kept as a CI artifact, in the folder the test names; fails if blank."""
        from tests.e2e.support import shot

        return shot(self.page, f"{self.tab}-{label}", full_page)


def blank(png: bytes) -> bool:
    """True when an image is (nearly) one colour: nothing rendered."""
    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    low, high = cast(tuple[int, int], image.getextrema())  # one band ("L"): (min, max)
    colours = len(image.getcolors(maxcolors=1 << 16) or [])
    return high - low < 30 or colours < 8


@pytest.fixture
def tabs(browser: Any, live: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """`tabs(viewport, name)` opens a watched tab on the live app (its own sessionStorage)."""
    opened: list[tuple[Any, Tab]] = []

    def open_tab(viewport: dict[str, int] = PHONE, name: str = "tab") -> Tab:
        context = browser.new_context(viewport=viewport, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", service_workers="block",
                                      accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(10_000)
        tab = Tab(page, live, f"{request.node.name}-{name}", name)
        context.expose_function("pcReportCsp", lambda text: tab.csp.append(text))
        context.add_init_script(WATCH_CSP)

        def on_request(req: Any) -> None:
            tab.requests.append(req.url)

        def on_response(resp: Any) -> None:
            path = resp.url[len(live):] if resp.url.startswith(live) else resp.url
            headers = resp.all_headers()
            if path.startswith("/static/") and resp.status >= 400 or resp.status >= 500:
                tab.header_problems.append(f"{path}: HTTP {resp.status}")
            if STRICT.match(path) and headers.get("cache-control") != "no-store":
                tab.header_problems.append(
                    f"{path}: Cache-Control {headers.get('cache-control')!r}")
            if resp.request.resource_type == "document" and path.startswith(("/h5", "/counter")):
                if "script-src 'self'" not in headers.get("content-security-policy", ""):
                    tab.header_problems.append(f"{path}: no Content-Security-Policy")

        def on_console(msg: Any) -> None:
            # Chromium logs every 4xx answer a page handles itself (a refused consent, an ended
            # session); responses are checked above, so only other messages count here.
            if msg.type in ("error", "warning") and not HANDLED_HTTP.search(msg.text):
                tab.console.append(f"{msg.type}: {msg.text}")

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda exc: tab.console.append(f"pageerror: {exc}"))
        opened.append((context, tab))
        return tab

    yield open_tab

    problems = []
    for context, tab in opened:
        foreign = [u for u in tab.requests
                   if not u.startswith((live + "/", "data:", "blob:" + live))]
        unexpected = [m for m in tab.console
                      if not any(p.search(m) for p in tab.expected_console)]
        if foreign:
            problems.append(f"{tab.name}: requests to other hosts: {foreign}")
        if tab.header_problems:
            problems.append(f"{tab.name}: {tab.header_problems}")
        if tab.csp:
            problems.append(f"{tab.name}: CSP violations: {tab.csp}")
        if unexpected:
            problems.append(f"{tab.name}: console: {unexpected}")
        context.close()
    assert not problems, "\n".join(problems)
