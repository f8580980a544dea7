"""Helper for scenario tests that need a month of checks: the scheduler starts October's check at every school,
and each school's 德育处 scores every teacher so that the school's mean is the score asked for."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask
from engine.schedules import load_schedules
from engine.store import tables
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner

CLASS_ITEMS = {"plan_summary": 15, "growth_portfolio": 15, "know_students": 10, "home_visits": 15, "early_flags": 15,
               "theme_meetings": 15, "biweekly_lesson": 15}
MH_ITEMS = {"mh_lessons": 20, "room_duty": 20, "appointments": 15, "case_records": 25, "group_guidance": 10,
            "parent_participation": 10}


def marks(items: dict[str, int], lost: int) -> dict[str, int]:
    """Every item at full marks but ``lost`` points taken from the first items."""
    given = {}
    for key, most in items.items():
        given[key] = most - min(most, lost)
        lost -= most - given[key]
    return given


def run_october_checks(demo: Huhua, clock: VirtualClock, scores: dict[str, int], skip: set[str]) -> None:
    """October's check at every school; every teacher of a school (but ``skip``'s) scores ``scores`` (85 unless
    given), so the school's monthly figure is that score."""
    clock.set(datetime(2026, 10, 8, 8, 31, tzinfo=BUSINESS_TZ))
    ScheduleRunner(demo, [s for s in load_schedules(demo.settings.schedules_file) if s.key == "monthly_check"]).tick()
    run_due_jobs(demo)
    t, i = tables.human_task, tables.process_instance
    with demo.services.database.engine.connect() as connection:
        sheets = connection.execute(select(t.c.id, t.c.org_scope, t.c.element_id, i.c.data)
                                    .join(i, i.c.id == t.c.instance_id)
                                    .where(t.c.state == "open", t.c.element_id.in_(("check_class_teachers",
                                                                                     "check_mh_work")))).all()
    for sheet in sheets:
        if sheet.org_scope in skip:
            continue
        lost = 100 - scores.get(sheet.org_scope, 85)
        data = json.loads(sheet.data)
        if sheet.element_id == "check_class_teachers":
            answer = {"class_teacher_scores": [{**r, **marks(CLASS_ITEMS, lost)} for r in data["class_teacher_scores"]],
                      "class_problems": "无", "class_requirements": "无"}
        else:
            answer = {"mh_teacher_scores": [{**r, **marks(MH_ITEMS, lost)} for r in data["mh_teacher_scores"]],
                      "mh_problems": "无", "mh_requirements": "无"}
        demo.execute(CompleteTask(sheet.id, f"{sheet.org_scope}-dy", answer))
    run_due_jobs(demo)
