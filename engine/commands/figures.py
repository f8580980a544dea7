"""The narrow figures of an instance that reports read: kept beside the instance in the same transaction.

A report over a year of monthly checks at every school would otherwise parse some 30,000 instance data blobs;
instead each persist of an instance of a reported process copies three values into ``instance_figure``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update

from engine.commands.unit_of_work import UnitOfWork
from engine.store import tables


@dataclass(frozen=True)
class ReportedFigures:
    """Which data variables hold the period (a date or month, ``YYYY-MM…``), the score and the band."""

    period: str
    score: str
    band: str


#: The processes whose figures the dashboard reads, by process key.
REPORTED = {"monthly_school_check": ReportedFigures(period="scheduled_for", score="total", band="band"),
            # a counselling case's month, follow-ups and risk level: the bureaus' counts by risk level
            "counselling_case": ReportedFigures(period="session_date", score="follow_ups", band="risk_level")}
_MONTH = re.compile(r"\d{4}-\d{2}")
_f = tables.instance_figure


def figures_of(process_key: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The figures to keep for an instance's data, or None when its process is not reported on."""
    reported = REPORTED.get(process_key)
    if reported is None:
        return None
    period, score, band = data.get(reported.period), data.get(reported.score), data.get(reported.band)
    return {"period": period[:7] if isinstance(period, str) and _MONTH.match(period) else None,
            "score": finite_score(score),
            "band": band if isinstance(band, str) and len(band) <= 20 else None}


def finite_score(value: Any) -> float | None:
    """A score as a float, or None for anything else: text, booleans, NaN, infinities, integers beyond a float."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except OverflowError:
        return None
    return score if math.isfinite(score) else None


def keep_figures(uow: UnitOfWork, instance_id: int, process_key: str, data: dict[str, Any], *,
                 new: bool = False) -> None:
    """Write the instance's figures (the instance's version check has already made this writer the only one);
    a new instance's are inserted in one statement."""
    figures = figures_of(process_key, data)
    if figures is None:
        return
    if new or uow.execute(update(_f).where(_f.c.instance_id == instance_id).values(**figures)).rowcount == 0:
        uow.execute(insert(_f).values(instance_id=instance_id, process_key=process_key, **figures))
