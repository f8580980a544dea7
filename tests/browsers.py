"""Headless Chromium for the browser tests, kept per test process and lent test by test.

Starting Chromium and its driver costs seconds on a busy machine, and the browser tests started one (or two) each.
A browser handed back (``quit()``) is wiped — its cookies, its cache, its tabs (a new tab: a fresh session storage)
— and lent again to a test asking for the same screen and language, so the next test meets it as a fresh one. A
browser whose device or pages a test changed through the DevTools protocol (phone emulation, scripts added to every
page) is really quit: what it was told cannot be taken back for certain.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

#: DevTools commands that change the browser beyond one page: its lender quits it instead of lending it again.
_LASTING = ("Emulation.", "Network.setUserAgentOverride", "Page.addScriptToEvaluateOnNewDocument")
#: Idle browsers kept per process: enough for the usual screens, few enough to spare the machine's memory.
_KEPT = 3
_idle: list[LentChrome] = []


class LentChrome(webdriver.Chrome):
    """A Chrome whose ``quit()`` hands it back to the process's pool, wiped, unless a test changed it for good."""

    def __init__(self, key: tuple[int, int, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.changed_for_good = False

    def execute_cdp_cmd(self, cmd: str, cmd_args: dict) -> dict:
        if cmd.startswith(_LASTING):
            self.changed_for_good = True
        return super().execute_cdp_cmd(cmd, cmd_args)

    def quit(self) -> None:
        if self.changed_for_good or not self._wiped():
            self.really_quit()
            return
        _idle.append(self)
        while len(_idle) > _KEPT:
            _idle.pop(0).really_quit()

    def really_quit(self) -> None:
        with contextlib.suppress(WebDriverException):
            super().quit()

    def _wiped(self) -> bool:
        """Cookies, cache and session storage gone, one blank tab left; False if the browser would not."""
        try:
            self.execute_cdp_cmd("Network.clearBrowserCookies", {})
            self.execute_cdp_cmd("Network.clearBrowserCache", {})
            old = self.window_handles
            self.switch_to.new_window("tab")
            for handle in old:
                self.switch_to.window(handle)
                self.close()
            self.switch_to.window(self.window_handles[0])
            return len(self.window_handles) == 1 and self.current_url == "about:blank"
        except WebDriverException:
            return False


def browser(width: int, height: int, lang: str = "zh-CN") -> webdriver.Chrome:
    """Headless Chromium at ``width``×``height`` whose own language (date fields, Accept-Language) is ``lang``: an
    idle one of this process if there is one, else a new one. Hand it back with ``quit()``."""
    key = (width, height, lang)
    for lent in [chrome for chrome in _idle if chrome.key == key]:
        _idle.remove(lent)
        try:
            lent.get("about:blank")  # it still answers
            return lent
        except WebDriverException:
            lent.really_quit()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("browser tests need Debian's chromium and chromium-driver (scripts/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}",
                 f"--lang={lang}"):
        options.add_argument(flag)
    return LentChrome(key, service=Service(driver), options=options)


@atexit.register
def _quit_idle() -> None:
    while _idle:
        _idle.pop().really_quit()
