"""One whole simulated year, from an empty database to the written report."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ApplyRetention
from engine.config import Settings
from engine.simulation.desks import WebDesk, WebPool
from engine.simulation.rendering import html_page
from engine.simulation.report import database_bytes, year_report
from engine.simulation.setup import prepared
from engine.simulation.workers import WorkerPool
from engine.simulation.year import Progress, Year


def simulate(settings: Settings, year: int, profile: str, seed: int, progress: Progress | None = None,
             until: datetime | None = None, workers: int = 0, web: int = 0) -> dict[str, Any]:
    """Run ``year`` on ``settings``' (empty) database and return the report; ``until`` ends it early (a test's
    month or two). With ``workers``, that many ``huhua worker`` processes run the jobs, and with ``web`` the people
    act over HTTP at that many gunicorn web processes (all on a clock they share through a file beside the data),
    as in production; without, the simulator runs jobs and people's commands itself."""
    started = time.perf_counter()
    clock_file = settings.data_dir / f"simulation-clock-{os.getpid()}" if workers or web else None
    if clock_file is not None:
        clock_file.parent.mkdir(parents=True, exist_ok=True)
    huhua, clock, stopwatch = prepared(settings, year, profile, clock_file)
    pool = site = None
    try:
        if workers:
            pool = WorkerPool(huhua, workers, settings.database_url, clock_file)
        if web:
            site = WebPool(web, {"HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
                                 "HUHUA_VIRTUAL_CLOCK_FILE": str(clock_file)}, settings.data_dir / "web.log")
        year_run = Year(huhua, clock, seed, stopwatch, pool.settle if pool is not None else None,
                        WebDesk(huhua, site.url) if site is not None else None)
        tally = year_run.run(until or datetime(year + 1, 1, 1, tzinfo=BUSINESS_TZ), progress)
        report = year_report(huhua, year, profile, seed, tally, stopwatch, time.perf_counter() - started)
        report["cost"]["retention"] = _retention(huhua, settings)
        report["cost"]["worker_processes"] = workers
        report["cost"]["web_processes"] = web
        return report
    finally:
        if site is not None:
            site.stop()
        if pool is not None:
            pool.stop()
        huhua.close()
        if clock_file is not None:
            clock_file.unlink(missing_ok=True)


def _retention(huhua: Huhua, settings: Settings) -> dict[str, Any]:
    """The policy applied at the year's end, as the nightly timer would have: what it deleted, and the database
    after it (its pages in use)."""
    deleted: dict[str, int] = {}
    while True:
        found = huhua.execute(ApplyRetention("system", settings.retain_job_days, settings.retain_draft_days,
                                             settings.retain_notification_days))
        for kind, count in found["deleted"].items():
            deleted[kind] = deleted.get(kind, 0) + count
        if not found["more"]:
            return {"deleted": deleted, "database_bytes_after": database_bytes(huhua)}


def write_report(report: dict[str, Any], directory: Path) -> dict[str, Path]:
    """The report as ``report.json`` and ``report.html`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {"json": directory / "report.json", "html": directory / "report.html"}
    written["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    written["html"].write_text(html_page(report), encoding="utf-8")
    return written
