"""Take the staff and administrator guides' screenshots (docs/images/*.png) from a running demo.

Starts Huhua on a throw-away SQLite database with the demo org directory and the process library (``huhua serve``
on a free 127.0.0.1 port), starts a semester's class-teacher routine for 珠晖区 as its programme officer, waits
until the schools' class teachers have their tasks, then logs in with headless Chromium as a few roles and saves
each page. The PNGs are reduced to a 256-colour palette so the repository stays small.

    PYTHONPATH=. .venv/bin/python scripts/docs_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Huhua@2026"  # the demo accounts' password (huhua accounts demo)
DESKTOP = (1280, 800)
PHONE = (390, 844)
TEACHER = "zhuhui-s001-bzr1"
SCHOOL_OFFICER = "zhuhui-s001-zr"


def huhua(env: dict[str, str], *arguments: str) -> str:
    """Run the real ``huhua`` command line and return what it printed; fail loudly with its stderr."""
    done = subprocess.run([sys.executable, "-m", "engine.cli", *arguments], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"huhua {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 90) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@contextmanager
def demo_site(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The demo served from a database of its own under ``workdir``: its base URL and the environment to reach it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUHUA_DATA_DIR": str(workdir),
           "HUHUA_DATABASE_URL": f"sqlite:///{workdir / 'huhua.db'}", "HUHUA_SECRET_KEY": "docs-screenshots"}
    huhua(env, "db", "upgrade")
    huhua(env, "org", "load", "demo")
    huhua(env, "accounts", "demo")
    port = free_port()
    log = (workdir / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(base) or server.poll() is not None, "the server")
        if server.poll() is not None:
            raise SystemExit((workdir / "serve.log").read_text())
        yield base, env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def start_work(env: dict[str, str]) -> int:
    """Give the demo's people something to do: a semester's class-teacher routine for 珠晖区, fanned out to its
    schools. Its instance id, for the administrator's instance view."""
    started = json.loads(huhua(env, "start", "ct_routine_semester", "--scope", "zhuhui", "--as", "zhuhui-zr", "--json",
                               "--vars", json.dumps({"semester": "2026年秋季学期", "term": "autumn"},
                                                    ensure_ascii=False)))

    def teacher_has_tasks() -> bool:
        return bool(json.loads(huhua(env, "tasks", "--user", TEACHER, "--json")))
    wait_for(teacher_has_tasks, "the class teacher's tasks")
    return int(started["id"])


def browser(size: tuple[int, int]) -> webdriver.Chrome:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        raise SystemExit("needs Debian's chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={size[0]},{size[1]}",
                 "--lang=zh-CN", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    if size == PHONE:  # a window cannot be narrower than Chromium's minimum; a phone's viewport is emulated
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": size[0], "height": size[1], "pixelRatio": 1}})
    return webdriver.Chrome(service=Service(driver), options=options)


def log_in(page: webdriver.Chrome, base: str, user: str) -> WebDriverWait:
    wait = WebDriverWait(page, 30)
    page.get(base + "/login")
    wait.until(ready.presence_of_element_located((By.NAME, "username"))).send_keys(user)
    page.find_element(By.NAME, "password").send_keys(PASSWORD)
    page.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(lambda b: "/login" not in b.current_url)
    return wait


def save(page: webdriver.Chrome, out: Path, name: str) -> None:
    """A screenshot as a 256-colour PNG: a few dozen KiB instead of a few hundred."""
    target = out / f"{name}.png"
    page.save_screenshot(str(target))
    with Image.open(target) as shot:
        shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
    print(f"{target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}  {target.stat().st_size // 1024} KiB")


def first_task_page(page: webdriver.Chrome, wait: WebDriverWait) -> None:
    """From the inbox to the first task's page, claiming it when it is offered to a group."""
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "button.claim, a[href*='/inbox/tasks/']"))
    claim = page.find_elements(By.CSS_SELECTOR, "button.claim")
    if claim:
        claim[0].click()
    else:
        page.find_element(By.CSS_SELECTOR, "a[href*='/inbox/tasks/']").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, ".fjs-form input, .fjs-form textarea")))
    time.sleep(0.5)  # let the form's fonts and layout settle before the picture


def shoot(base: str, out: Path, instance: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    page = browser(DESKTOP)
    try:
        wait = log_in(page, base, TEACHER)
        page.get(base + "/inbox")
        wait.until(ready.presence_of_element_located((By.ID, "total")))
        save(page, out, "inbox")
        first_task_page(page, wait)
        save(page, out, "task")
        page.delete_all_cookies()
        wait = log_in(page, base, SCHOOL_OFFICER)
        page.get(base + "/start")
        wait.until(ready.presence_of_element_located((By.TAG_NAME, "main")))
        save(page, out, "start")
        page.delete_all_cookies()
        wait = log_in(page, base, "admin")
        page.get(base + "/admin/")
        wait.until(ready.presence_of_element_located((By.TAG_NAME, "main")))
        save(page, out, "admin-processes")
        page.get(f"{base}/admin/instances/{instance}")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        save(page, out, "admin-instance")
    finally:
        page.quit()
    phone = browser(PHONE)
    try:
        wait = log_in(phone, base, TEACHER)
        phone.get(base + "/inbox")
        wait.until(ready.presence_of_element_located((By.ID, "total")))
        save(phone, out, "inbox-phone")
        first_task_page(phone, wait)
        save(phone, out, "task-phone")
    finally:
        phone.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="huhua-docs-") as scratch, demo_site(Path(scratch)) as (base, env):
        shoot(base, options.out.resolve(), start_work(env))


if __name__ == "__main__":
    main()
