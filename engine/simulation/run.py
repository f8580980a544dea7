"""One whole simulated year, from an empty database to the written report."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.clock import BUSINESS_TZ
from engine.config import Settings
from engine.simulation.rendering import html_page
from engine.simulation.report import year_report
from engine.simulation.setup import prepared
from engine.simulation.year import Progress, Year


def simulate(settings: Settings, year: int, profile: str, seed: int, progress: Progress | None = None,
             until: datetime | None = None) -> dict[str, Any]:
    """Run ``year`` on ``settings``' (empty) database and return the report; ``until`` ends it early (a test's
    month or two)."""
    started = time.perf_counter()
    huhua, clock, stopwatch = prepared(settings, year, profile)
    try:
        tally = Year(huhua, clock, seed, stopwatch).run(until or datetime(year + 1, 1, 1, tzinfo=BUSINESS_TZ),
                                                        progress)
        return year_report(huhua, year, profile, seed, tally, stopwatch, time.perf_counter() - started)
    finally:
        huhua.close()


def write_report(report: dict[str, Any], directory: Path) -> dict[str, Path]:
    """The report as ``report.json`` and ``report.html`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = {"json": directory / "report.json", "html": directory / "report.html"}
    written["json"].write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    written["html"].write_text(html_page(report), encoding="utf-8")
    return written
