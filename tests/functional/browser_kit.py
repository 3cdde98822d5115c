"""Drive the console in a real browser: Debian's headless Chromium through Playwright (no browser download).

For the console's browser tests (``test_console_*browser*.py``, ``test_console_field_conflict.py``):

    @pytest.fixture(scope="module")
    def stack():
        with browser_stack(HELPDESK_RULES_DIR=...) as running:  # skips without chromium (fails under CI)
            yield running

    def test_x(stack, browser, lang):          # ``browser``: one Chromium per module (conftest.py)
        s = Story(browser, stack, lang)        # a context in the language's locale, Tokyo time, one tab
        s.login(token); s.shot("signed-in")    # test-artifacts/console/<lang>-01-signed-in.png
        s.context.close()
        assert s.unexpected_errors() == []

``BrowserPage`` is the bare tab (screenshots numbered in order, page errors collected); ``Story``
adds the console's token sign-in and search, and checks every screenshot for untranslated keys.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.functional.stack_kit import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
WAIT_MS = 30_000
LOAD_FAILURE = "Failed to load resource"  # Chromium's console line for any 4xx, e.g. an expected 412
RAW_KEY = re.compile(r"\b(ev|st|pr|ch|cat|idk|role|audit|chk|view|field|after|esc|policy|target|searchKind|agent|"
                     r"endReason|age|lang)_[a-z]")


def require_chromium() -> None:
    """Skip the test without Debian's chromium; under CI (``CI`` set) fail instead: `make test` installs it."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium chromium-driver; `make test` does it)")


@contextmanager
def chromium() -> Iterator[Any]:
    """One headless Chromium (Debian's package) launched by Playwright; closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (skipped without it, see ``require_chromium``)."""
    require_chromium()
    with chromium() as launched:
        yield launched


@contextmanager
def browser_stack(**env: str) -> Iterator[Stack]:
    """``running_stack(**env)`` for a browser test: skipped (failed under CI) first when chromium is missing."""
    require_chromium()
    with running_stack(**env) as running:
        yield running


class BrowserPage:
    """One person's browser context and tab in one language: screenshots numbered in order, page errors collected.

    Screenshots go to ``artifacts/<prefix><lang>-NN-<name>.png``; console messages containing
    ``ignore_console`` are not collected.
    """

    def __init__(self, browser: Any, lang: str, artifacts: Path, prefix: str = "",
                 ignore_console: str | None = None):
        self.lang, self.artifacts, self.prefix, self.step = lang, artifacts, prefix, 0
        self.ignore_console = ignore_console
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           locale="ja-JP" if lang == "ja" else "en-US", timezone_id="Asia/Tokyo")
        self.page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not (self.ignore_console and self.ignore_console in message.text):
            self.errors.append(message.text)

    def shot(self, name: str, page: Any = None) -> Any:
        """Screenshot the whole page (``page``, else this tab) as the next step; returns the page shot."""
        self.step += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        target = page or self.page
        path = self.artifacts / f"{self.prefix}{self.lang}-{self.step:02d}-{name}.png"
        target.screenshot(path=str(path), full_page=True)
        return target

    def unexpected_errors(self) -> list[str]:
        """The page errors and console errors collected, without failed resource loads (refused requests)."""
        return [e for e in self.errors if not e.startswith(LOAD_FAILURE)]


class Story(BrowserPage):
    """A console user's tab against a running stack; every screenshot is checked for untranslated keys."""

    def __init__(self, browser: Any, stack: Stack, lang: str, prefix: str = ""):
        super().__init__(browser, lang, ARTIFACTS / "console", prefix)
        self.stack = stack

    def shot(self, name: str, page: Any = None) -> Any:
        """Screenshot as the next step; the page shows no message key and no raw null/undefined/NaN value."""
        target = super().shot(name, page)
        text = target.inner_text("body")
        assert not RAW_KEY.search(text), f"{name}: untranslated key {RAW_KEY.search(text).group(0)!r}"
        assert not re.search(r"\b(null|undefined|NaN|\[object Object\])\b", text), f"{name}: a raw value shows"
        return target

    def login(self, token: str) -> None:
        """Sign in to the console with an agent token (signing out whoever was signed in in this tab)."""
        page = self.page
        page.goto(f"{self.stack.url}/console")
        page.evaluate("() => sessionStorage.clear()")  # signed out: the next person signs in
        page.reload()
        page.wait_for_selector("#login-form")
        page.fill("#token", token)
        page.click("#login-button")
        page.wait_for_selector("#nav-all")

    def search(self, query: str) -> None:
        """Search the tickets from the top bar and wait for the result."""
        self.page.fill("#search", query)
        self.page.press("#search", "Enter")
        self.page.wait_for_selector("#search-kind")

    def wait_saved(self) -> None:
        """Wait until the ticket controls report a save."""
        self.page.wait_for_selector("#ctl-result:not(:empty)")
