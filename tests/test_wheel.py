"""The wheel runs anywhere: built from this checkout, installed into a fresh virtualenv (its dependencies from the
package registry, as a user's ``pip install`` gets them), and run from an empty folder with no checkout in sight.
``huhua serve --demo`` migrates a new SQLite database in the user's data directory, deploys the process library
the wheel carries and loads the demo org; a process started with the installed ``huhua`` gives a class teacher a
task, whose form renders in a real browser from the web assets the wheel carries (served gzipped when asked)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from tests.conftest import PROJECT
from tests.helpers import page_wait
from tests.pg_server import free_port
from tests.test_browser import _browser

TEACHER = "zhuhui-s001-bzr1"
DEMO_PASSWORD = "Huhua@2026"
TASK = "报送学期和学年工作计划"


@dataclass
class Installed:
    """The wheel installed in a virtualenv of its own, and the environment of someone who has no checkout."""

    bin: Path
    env: dict[str, str]
    data_home: Path

    def huhua(self, *args: str, cwd: Path) -> str:
        done = subprocess.run([str(self.bin / "huhua"), *args], cwd=cwd, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"huhua {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this checkout, built once per run (``pip wheel`` runs the same PEP 517 build as
    ``python -m build --wheel``, with nothing more to install)."""
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(PROJECT)], "pip wheel",
         _outsider(out))
    [built] = out.glob("huhua-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    venv, home = root / "venv", root / "home"
    home.mkdir()
    env = _outsider(home)
    _run([sys.executable, "-m", "venv", str(venv)], "python -m venv", env)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], "pip install the wheel", env)
    return Installed(venv / "bin", env, home / "data")


def _outsider(home: Path) -> dict[str, str]:
    """This environment as someone without the checkout has it: no PYTHONPATH to it (pip would take the checkout
    for an installed huhua), no HUHUA_* settings, and a home of their own (but pip's cache, which only saves time)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("HUHUA_") and name not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "XDG_CONFIG_HOME": str(home / "config"),
            "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR") or platformdirs.user_cache_dir("pip")}  # as fast as ever


@pytest.fixture
def server(installed: Installed, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``huhua serve --demo`` from an empty folder; yields its address once it answers, and the folder."""
    folder = tmp_path / "empty"
    folder.mkdir()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([str(installed.bin / "huhua"), "serve", "--demo", "--port", str(port)], cwd=folder,
                                   env=installed.env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _answers(base + "/api/v1/health"):
            assert process.poll() is None and time.monotonic() < deadline, \
                f"huhua serve did not start:\n{log.read_text()}"
            time.sleep(0.2)
        yield base, folder
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_installed_wheel_serves_the_app_from_an_empty_folder(installed: Installed,
                                                                   server: tuple[str, Path]) -> None:
    base, folder = server
    started = json.loads(installed.huhua("start", "ct_routine_semester", "--scope", "zhuhui", "--as", "zhuhui-zr",
                                         "--vars", '{"semester": "2026年秋季学期"}', "--json", cwd=folder))
    assert started["state"] == "running"
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        browser.get(base + "/login")
        wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(TEACHER)
        browser.find_element(By.NAME, "password").send_keys(DEMO_PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: "/login" not in b.current_url or b.find_elements(By.CSS_SELECTOR, ".error"))
        task = wait.until(_link_to_task_when_listed)
        task.click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "#form .fjs-form input, #form .fjs-form "
                                                                       "textarea")))  # task.js drew the form
        script = browser.find_element(By.CSS_SELECTOR, "script[src*='/assets/task-']").get_attribute("src")
    finally:
        browser.quit()
    plain, encoding = _fetch(script, "identity")
    zipped, zipped_encoding = _fetch(script, "gzip")
    assert (encoding, zipped_encoding) == (None, "gzip")
    assert gzip.decompress(zipped) == plain and len(zipped) < len(plain) / 2
    assert (installed.data_home / "huhua" / "huhua.db").is_file()  # the user's data directory, not the folder
    assert list(folder.iterdir()) == []


def _link_to_task_when_listed(browser: object) -> object:
    """The inbox's link to the task once the started process has made it (the inbox is loaded afresh each time)."""
    links = [a for a in browser.find_elements(By.CSS_SELECTOR, ".task a.name") if a.text.startswith(TASK)]
    if not links:
        browser.refresh()
    return links[0] if links else False


def _fetch(url: str, encoding: str) -> tuple[bytes, str | None]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read(), response.headers.get("Content-Encoding")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _run(command: list[str], what: str, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=env["HOME"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-5000:]}{done.stderr[-5000:]}"
