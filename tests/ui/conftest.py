"""Browser tests of the pages: the demo's world (three real ledgers synced into a gateway store) served by uvicorn on
127.0.0.1, driven by headless Chromium from the Debian package through Playwright for Python.

Playwright launches ``/usr/bin/chromium`` (``scripts/install-test-deps.sh`` installs it); its own browser downloads
are never used. Every page a test opens is screenshotted into ``reports/screenshots/`` and every console error or
uncaught page error fails the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.api.conftest import free_port
from vcgate.gateway._demo import run_demo
from vcgate.gateway.api.pages._demo_serve import DemoSite, demo_site

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "reports" / "screenshots"
AXE = ROOT / "tests" / "node" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    """The running pages: base URL, accounts (role → password) and the demo's run folder and entries."""

    url: str
    passwords: dict[str, str]
    run_dir: Path
    demo: Any
    app: Any = field(repr=False)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("ui-demo")
    result = run_demo(workdir=workdir, keep=True)
    assert result.ok, [e for e in result.entries if not e.ok]
    port = free_port()
    built: DemoSite = demo_site(workdir / "run", port)
    server = uvicorn.Server(uvicorn.Config(built.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Site(built.url, {r: p for r, p in built.accounts.values()}, workdir / "run", result, built.app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "chromium is missing: run scripts/install-test-deps.sh (Debian package 'chromium')"
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """A browser page plus what it reported: console errors and uncaught errors (asserted empty at teardown)."""

    page: Any
    site: Site
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.site.url + path)
        assert response is not None
        return response

    def login(self, role: str) -> None:
        """Log in through the form with the keyboard only (the user name field has the focus, Tab to the password,
        Enter submits)."""
        self.go("/ui/login")
        assert self.page.evaluate("document.activeElement.id") == "username"
        self.page.keyboard.type(role)
        self.page.keyboard.press("Tab")
        self.page.keyboard.type(self.site.passwords[role])
        self.page.keyboard.press("Enter")
        self.page.wait_for_url("**/ui/**")
        assert f"{role} ({role})" in self.page.inner_text("header")

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.1 A/AA violations on the current page (the script is evaluated over the DevTools
        protocol, which the page's CSP does not govern)."""
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        result = self.page.evaluate(
            "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        )
        return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    t = Tab(page, site)
    page.on("console", lambda m: t.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: t.errors.append(f"page error: {e}"))
    try:
        yield t
    finally:
        context.close()
    assert t.errors == []
