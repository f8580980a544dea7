"""The documentation: the tutorial's commands run as a reader runs them, and the site builds without a warning.

The tutorial's ```bash blocks are run in order, each in the shell state (exports, working folder) the ones before
left, by the real ``huhua`` command line in a fresh home folder with a fresh SQLite database — from the checkout,
as the tutorial says. An HTML comment before a block changes how it is run: ``<!-- docs-test: exits 2 -->`` (a
refusal the page shows: exit code 2, and the next block goes on) and ``<!-- docs-test: server -->`` (``huhua
serve``, started in the background on a free port; the browser step the tutorial describes then runs in headless
Chromium, and the server is stopped before the next block).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from tests.helpers import page_wait

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"(?:<!-- docs-test: (?P<mode>[a-z0-9 ]+) -->\n)?```bash\n(?P<code>.*?)```", re.S)
TEACHER, PASSWORD = "zhuhui-s001-bzr1", "Huhua@2026"


@dataclass(frozen=True)
class Block:
    code: str
    mode: str  # "run", "exits 2" or "server"


def tutorial_blocks() -> list[Block]:
    return [Block(m["code"], m["mode"] or "run") for m in BLOCK.finditer(TUTORIAL.read_text(encoding="utf-8"))]


class ReaderShell:
    """The reader's terminal: each block runs in bash with the exports and folder the blocks before it left."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.state = home / ".tutorial-state"
        self.folder = ROOT  # the tutorial starts in the checkout
        # The checkout's own code, whichever checkout the .venv was installed from.
        self.env = {"PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}

    def script(self, code: str) -> str:
        restore = f"source {self.state}\n" if self.state.exists() else ""
        return f"set -eo pipefail\n{restore}cd {self.folder}\n{code}"

    def run(self, code: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", "-c", self.script(code) + f"\nexport -p > {self.state}\npwd > {self.state}.pwd"],
                              env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode == 0:
            self.folder = Path((self.state.with_suffix(".pwd")).read_text().strip())
        return done

    def huhua_json(self, *arguments: str) -> object:
        done = self.run("huhua " + " ".join(f"'{a}'" for a in arguments) + " --json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    for _ in range(240):
        assert server.poll() is None, server.stdout.read() if server.stdout else "the server stopped"
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail("huhua serve did not become ready")


def _complete_in_the_browser(base: str) -> None:
    """Steps 6.1–6.3 of the tutorial, as a class teacher does them."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.fail("the tutorial's browser step needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
                 "--lang=zh-CN"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    wait = page_wait(browser, 30)
    try:
        browser.get(base + "/login")
        wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(TEACHER)
        browser.find_element(By.NAME, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        claim = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "button.claim")))
        assert "填写主题班会记录 · 珠晖区第一中学" in browser.page_source
        assert claim.text == "认领"
        claim.click()
        wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input")))
        for label, value in (("班会主题", "珍爱生命"), ("出席学生人数", "38"), ("班会记录", "观看短片后讨论。")):
            found = browser.find_element(By.XPATH, f"//label[starts-with(normalize-space(.), '{label}')]")
            browser.find_element(By.ID, found.get_attribute("for")).send_keys(value)
        browser.find_element(By.ID, "submit").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "已提交"))
    finally:
        browser.quit()


@pytest.mark.slow
def test_the_tutorial_runs_as_written(tmp_path: Path) -> None:
    blocks = tutorial_blocks()
    assert [b.mode for b in blocks].count("server") == 1 and len(blocks) >= 8
    shell = ReaderShell(tmp_path)
    for number, block in enumerate(blocks, 1):
        where = f"block {number} of docs/tutorial.md:\n{block.code}"
        if block.mode == "server":
            port = _free_port()
            assert "--port 8080" in block.code  # the port the page's links name; the test takes a free one
            server = subprocess.Popen(["bash", "-c", shell.script("exec " + block.code.strip().replace(
                "--port 8080", f"--port {port}"))], env=shell.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            try:
                _wait_ready(f"http://127.0.0.1:{port}", server)
                _complete_in_the_browser(f"http://127.0.0.1:{port}")
            finally:
                server.terminate()
                server.wait(timeout=60)
            continue
        done = shell.run(block.code)
        expected = 2 if block.mode == "exits 2" else 0
        assert done.returncode == expected, f"{where}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        if block.mode == "exits 2":
            assert "error" in done.stderr, where
    # What the tutorial says happened.
    assert (tmp_path / "huhua-tutorial" / "data" / "huhua.db").is_file()
    first = shell.huhua_json("instance", "1")
    assert first["state"] == "completed" and first["data"]["attendance"] == 42
    assert [e["kind"] for e in first["history"]][:2] == ["instance_started", "task_created"]
    second = shell.huhua_json("instance", "2")
    assert second["state"] == "completed" and second["data"]["theme"] == "珍爱生命"
    assert [(e["kind"], e["actor"]) for e in second["history"] if e["kind"].startswith("task_c")
            and e["kind"] != "task_created"] == [("task_claimed", TEACHER), ("task_completed", TEACHER)]
    done = shell.huhua_json("tasks", "--user", TEACHER, "--view", "done")
    assert sorted(t["instance_id"] for t in done) == [1, 2]
    refused = shell.run("huhua start class_meeting --scope zhuhui-s001 --as zhuhui-s001-bzr1")
    assert "only a holder of programme_officer" in refused.stderr


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict``: a broken link, a missing page or a generated page that fails stops CI."""
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    site = tmp_path / "site"
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "/process-instances/{instance_id}/migrate" in api
    monthly = (site / "processes" / "monthly_school_check" / "index.html").read_text(encoding="utf-8")
    assert "monthly_check" in monthly  # the schedule that starts it, from config/schedules.toml
    tutorial = (site / "tutorial" / "index.html").read_text(encoding="utf-8")
    assert "class_meeting_record" in tutorial  # the files are shown from docs/tutorial/, not copied into the page
