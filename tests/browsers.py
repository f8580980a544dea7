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
import functools
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.helpers import re_rendered

#: DevTools commands that change the browser beyond one page: its lender quits it instead of lending it again.
_LASTING = ("Emulation.", "Network.setUserAgentOverride", "Page.addScriptToEvaluateOnNewDocument")
#: Idle browsers kept per process: enough for the usual screens, few enough to spare the machine's memory.
_KEPT = 3
_idle: list[LentChrome] = []


def _found_again(act: Callable[..., Any]) -> Callable[..., Any]:
    """``act`` on an element that, when the page re-rendered it meanwhile, is found again by how it was found (for
    up to five seconds) and acted on afresh, as a person reads or clicks what is on the screen now."""
    @functools.wraps(act)
    def again(self: ReFoundElement, *args: Any, **kwargs: Any) -> Any:
        for attempt in range(50):
            try:
                return act(self, *args, **kwargs)
            except WebDriverException as error:
                if self.locate is None or not re_rendered(error) or attempt == 49:
                    raise
                time.sleep(0.1)
                with contextlib.suppress(NoSuchElementException):
                    self._id = self.locate().id
        raise AssertionError("unreachable")
    return again


class ReFoundElement(WebElement):
    """An element found with ``find_element`` that tolerates being re-rendered between finding and use: reading
    its text or attributes, clicking or typing finds it again by the same locator (elements of ``find_elements``
    are kept as found)."""

    locate: Callable[[], WebElement] | None = None

    text = property(_found_again(WebElement.text.fget))
    tag_name = property(_found_again(WebElement.tag_name.fget))
    click = _found_again(WebElement.click)
    clear = _found_again(WebElement.clear)
    send_keys = _found_again(WebElement.send_keys)
    submit = _found_again(WebElement.submit)
    get_attribute = _found_again(WebElement.get_attribute)
    get_dom_attribute = _found_again(WebElement.get_dom_attribute)
    get_property = _found_again(WebElement.get_property)
    is_displayed = _found_again(WebElement.is_displayed)
    is_enabled = _found_again(WebElement.is_enabled)
    is_selected = _found_again(WebElement.is_selected)
    value_of_css_property = _found_again(WebElement.value_of_css_property)

    @_found_again
    def find_element(self, by: str = By.ID, value: str | None = None) -> WebElement:
        found = WebElement.find_element(self, by, value)
        if isinstance(found, ReFoundElement):
            found.locate = lambda: self.find_element(by, value)
        return found


class LentChrome(webdriver.Chrome):
    """A Chrome whose ``quit()`` hands it back to the process's pool, wiped, unless a test changed it for good; its
    elements tolerate re-rendering (``ReFoundElement``)."""

    _web_element_cls = ReFoundElement

    def __init__(self, key: tuple[int, int, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key
        self.changed_for_good = False

    def find_element(self, by: str = By.ID, value: str | None = None) -> WebElement:
        found = webdriver.Chrome.find_element(self, by, value)
        if isinstance(found, ReFoundElement):
            found.locate = lambda: webdriver.Chrome.find_element(self, by, value)
        return found

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
