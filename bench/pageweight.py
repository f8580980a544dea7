"""(g) The task page's weight in a real browser: the JavaScript it transfers and how long it takes to load.

The demo directory and the shipped library are loaded, a class teacher's plan task (班主任工作 · 填写工作计划) is
opened in headless Chromium over loopback, each load with the browser's cache emptied first (a first visit),
alternately with the log-in page.
The figures are the medians over the loads of: the bytes of JavaScript as transferred (Resource Timing
``transferSize``: compressed when the server compressed, headers included) beside the same scripts' decoded
size, and the load time (Navigation Timing ``loadEventEnd``) beside the log-in page's, loaded the same way in the
same run. Chromium treats loopback as a secure origin and offers brotli there as it does over HTTPS.
"""

from __future__ import annotations

import shutil
import statistics
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from engine import bench_results
from engine.bootstrap import bootstrap
from engine.commands import ENGINE, DeployShippedProcesses, LoadDirectory, SetPassword, StartInstance
from engine.config import PROJECT_ROOT, Settings
from engine.org.profiles import generate
from engine.web import create_app

LOADS = 9
SCHOOL, TEACHER, PASSWORD = "zhuhui-s001", "zhuhui-s001-bzr1", "bench page weight"
_MEASURE = """
    const scripts = performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script');
    const nav = performance.getEntriesByType('navigation')[0];
    return {transferred: scripts.reduce((n, e) => n + e.transferSize, 0),
            decoded: scripts.reduce((n, e) => n + e.decodedBodySize, 0),
            files: scripts.map(e => e.name.split('/').pop()), load_ms: nav.loadEventEnd};
"""


def report_pageweight(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    huhua = bootstrap(Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                               node_name="bench"))
    try:
        huhua.execute(LoadDirectory(generate("demo"), "bench", source="demo"))
        huhua.execute(DeployShippedProcesses(str(PROJECT_ROOT / "processes")))
        huhua.execute(SetPassword(TEACHER, PASSWORD, "bench"))
        instance = huhua.execute(StartInstance("ct_routine_school", "bench", org_scope=SCHOOL, origin=ENGINE,
                                               variables={"unit": {"id": SCHOOL, "name": "珠晖区第一小学"},
                                                          "people": [{"id": TEACHER, "name": "班主任1"}],
                                                          "semester": "2026年春季学期"}))
        task = huhua.queries.instance(instance["id"])["open_tasks"][0]["id"]
        say(f"(g) loading the task page and the log-in page {LOADS} times each in Chromium, cache emptied each time")
        with _served(huhua) as base, _chromium() as browser:
            _log_in(browser, base)
            session = browser.get_cookies()
            task_page, login_page = [], []
            for _ in range(LOADS):  # alternately, so that the rest of the machine weighs on both alike
                task_page.append(_cold_load(browser, f"{base}/inbox/tasks/{task}", ".fjs-form"))
                browser.delete_all_cookies()
                login_page.append(_cold_load(browser, f"{base}/login", "form"))
                for cookie in session:
                    browser.add_cookie(cookie)
    finally:
        huhua.close()
    transferred = statistics.median(load["transferred"] for load in task_page) / 1024
    decoded = statistics.median(load["decoded"] for load in task_page) / 1024
    task_ms = statistics.median(load["load_ms"] for load in task_page)
    login_ms = statistics.median(load["load_ms"] for load in login_page)
    print(f"(g) task page JavaScript: KiB transferred {transferred:8.1f}   decoded {decoded:8.1f}"
          f"   ratio {transferred / decoded:5.2f}   ({', '.join(task_page[0]['files'])})")
    print(f"(g) task page load: ms {task_ms:8.1f}   log-in page {login_ms:8.1f}   ratio {task_ms / login_ms:5.1f}x"
          f"   (median of {LOADS} loads, cache emptied)")
    bench_results.compare("g", "任务页 JavaScript 传输量", "KiB", transferred, decoded, "同一脚本解压后")
    bench_results.compare("g", "任务页加载时间（Chromium）", "ms", task_ms, login_ms, "登录页（同一次运行）")


@contextmanager
def _served(huhua: Any) -> Iterator[str]:
    app = create_app(huhua, {"SECRET_KEY": "bench", "TRUST_USER_HEADER": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def _chromium() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        raise SystemExit("(g) needs Debian's chromium and chromium-driver (scripts/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844", "--lang=zh-CN"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def _log_in(browser: webdriver.Chrome, base: str) -> None:
    browser.get(base + "/login")
    browser.find_element(By.NAME, "username").send_keys(TEACHER)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda b: "/login" not in b.current_url)


def _cold_load(browser: webdriver.Chrome, url: str, shown: str) -> dict[str, Any]:
    """One first visit: the cache emptied, the page loaded and drawn, its Resource and Navigation Timing read."""
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    browser.get(url)
    WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, shown)
                                     and b.execute_script("return document.readyState") == "complete")
    return dict(browser.execute_script(_MEASURE))
