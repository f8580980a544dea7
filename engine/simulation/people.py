"""How simulated staff behave: when each acts on a task, whether at all, and whether they send work back.

Every draw is seeded by the simulation's seed and what the task *is* (its process, unit, step, title, item and the
moment it was created), never by row ids or the order a worker happened to take jobs in: the same seed gives the
same year on SQLite and PostgreSQL, in one process or several.

A person has a standing for the whole year (most prompt, some late, a few who leave work undone for long stretches)
and each task adds its own delay, in working hours on the working-day calendar.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from engine.clock import BUSINESS_TZ
from engine.org.calendar import WorkingCalendar

#: The working day a simulated person acts in (Beijing time).
DAY_STARTS, DAY_ENDS = time(8, 30), time(17, 30)
#: Actions are taken on the half hour: the simulation moves from one half hour to the next, not task by task.
SLOT = timedelta(minutes=30)


@dataclass(frozen=True)
class Habit:
    """A role's habits: median working hours to act, how wide the spread, the share of tasks never done by a
    person who leaves work undone, and how often work is sent back where the form allows it."""

    median_hours: float
    spread: float
    never: float
    returns: float


HABITS: dict[str, Habit] = {
    "programme_officer": Habit(4, 0.8, 0.05, 0.10),
    "bureau_head": Habit(6, 0.8, 0.05, 0.05),
    "deputy_head": Habit(6, 0.8, 0.05, 0.08),
    "principal": Habit(8, 0.9, 0.10, 0.10),
    "moral_education_head": Habit(10, 0.9, 0.10, 0.05),
    "class_teacher": Habit(16, 1.0, 0.20, 0.05),
    "mh_teacher_full": Habit(10, 0.9, 0.10, 0.05),
    "mh_teacher_part": Habit(14, 1.0, 0.15, 0.05),
    "expert": Habit(20, 1.0, 0.15, 0.15),
}
DEFAULT_HABIT = Habit(12, 1.0, 0.15, 0.08)
#: Standings for the year: (share of people, delay factor, whether they leave work undone).
STANDINGS = (("prompt", 0.85, 1.0, False), ("late", 0.12, 4.0, False), ("absent", 0.03, 6.0, True))


def seeded(seed: int, *parts: object) -> random.Random:
    """A generator drawn from the seed and what it is for (a stable hash, not Python's salted one)."""
    digest = hashlib.sha256("|".join(map(str, (seed, *parts))).encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def standing(seed: int, person: str) -> tuple[str, float, bool]:
    """A person's standing for the year: its name, how much slower than their role's habit, and whether they leave
    work undone."""
    draw = seeded(seed, "standing", person).random()
    for name, share, factor, undone in STANDINGS:
        if draw < share:
            return name, factor, undone
        draw -= share
    return STANDINGS[0][0], STANDINGS[0][2], STANDINGS[0][3]


@dataclass(frozen=True)
class Decision:
    """What a person will do with a task: act at ``at`` (None: never), sending the work back or not."""

    at: datetime | None
    returns_work: bool


def decide(seed: int, task_identity: str, person: str, role: str | None, now: datetime,
           calendar: WorkingCalendar) -> Decision:
    """When ``person`` (holding ``role`` for this task) acts on the task known as ``task_identity``."""
    habit = HABITS.get(role or "", DEFAULT_HABIT)
    _name, factor, leaves_undone = standing(seed, person)
    rng = seeded(seed, "task", task_identity, person)
    if leaves_undone and rng.random() < habit.never * 4:
        return Decision(None, False)
    hours = habit.median_hours * factor * math.exp(rng.gauss(0, habit.spread))
    return Decision(after_working_hours(now, hours, calendar), rng.random() < habit.returns)


def after_working_hours(now: datetime, hours: float, calendar: WorkingCalendar) -> datetime:
    """The half hour ``hours`` working hours after ``now``, counting only working days' office hours."""
    local = now.astimezone(BUSINESS_TZ)
    left = timedelta(hours=min(hours, 24 * 60))
    day = local.date()
    moment = max(local, datetime.combine(day, DAY_STARTS, BUSINESS_TZ))
    while True:
        closing = datetime.combine(day, DAY_ENDS, BUSINESS_TZ)
        if calendar.is_working_day(day) and moment < closing:
            if moment + left <= closing:
                return _next_slot(moment + left)
            left -= closing - moment
        day += timedelta(days=1)
        moment = datetime.combine(day, DAY_STARTS, BUSINESS_TZ)


def _next_slot(moment: datetime) -> datetime:
    minutes = (moment.minute // 30 + (1 if moment.minute % 30 or moment.second or moment.microsecond else 0)) * 30
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minutes)
