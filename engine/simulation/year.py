"""The year itself: the virtual clock moved from one moment something happens to the next, January to December.

At each moment the scheduler fires what is due (the yearly cycle of ``config/schedules.toml``), the workers run
the jobs that fell due (timers, fan-outs, notifications, reminders), new tasks are handed to the simulated people,
and those whose moment has come act on theirs as the task page does: read the form, claim, complete it filled in —
at the engine's commands, or over HTTP at web processes (engine.simulation.desks). Nothing goes around the
engine; the simulation only chooses when and what people answer.
"""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, SharedVirtualClock, VirtualClock
from engine.errors import Conflict, HuhuaError, InvalidInput
from engine.forms import Form, parse_form
from engine.simulation.answers import Answerer
from engine.simulation.desks import Desk, EngineDesk
from engine.simulation.people import decide, seeded
from engine.simulation.stopwatch import Stopwatch
from engine.store import tables
from workers.job_worker import JobWorker
from workers.scheduler import ScheduleRunner

_t, _c, _r = tables.human_task, tables.task_candidate, tables.role_assignment

Progress = Callable[[dict[str, Any]], None]
#: Batches of due jobs run before the people act again, at most (as workers.job_worker.run_due_jobs).
ROUNDS = 1000


@dataclass(order=True)
class _Turn:
    """A person's turn to act on a task: ordered by moment, then by what the task is (not by its row id)."""

    at: datetime
    identity: str
    task_id: int = field(compare=False)
    actor: str = field(compare=False)
    returns_work: bool = field(compare=False)


@dataclass
class Tally:
    """What the people did over the year, beside what the database holds."""

    acted: Counter[str] = field(default_factory=Counter)  # by process
    returned: Counter[str] = field(default_factory=Counter)
    left_undone: Counter[str] = field(default_factory=Counter)
    refused_answers: dict[str, str] = field(default_factory=dict)  # "process/element" -> the first problem
    claims_lost: int = 0


class Year:
    """One simulated year on ``huhua`` (an empty database with the library and a directory loaded)."""

    def __init__(self, huhua: Huhua, clock: VirtualClock | SharedVirtualClock, seed: int, stopwatch: Stopwatch,
                 run_jobs: Callable[[], object] | None = None, desk: Desk | None = None) -> None:
        self.huhua = huhua
        self.desk = desk or EngineDesk(huhua)
        self.run_jobs = run_jobs or self._run_due_jobs
        self.clock = clock
        self.seed = seed
        self.stopwatch = stopwatch
        self.runner = ScheduleRunner(huhua)
        self.turns: list[_Turn] = []
        self.seen = 0  # the highest task id handed out so far
        self.tally = Tally()
        self._next_fire: datetime | None = None
        self._started = time.monotonic()
        self._until: datetime | None = None
        self._forms: dict[str, Form] = {}
        self._roles: dict[str, str | None] = {}
        self._progress: Progress | None = None
        self._said_at = 0.0

    def run(self, until: datetime, progress: Progress | None = None) -> Tally:
        """Move the clock to ``until``, doing at each moment whatever falls due then."""
        month = None
        self._until = until
        self._next_fire = self.clock.now()
        self._started = time.monotonic()
        self._progress = progress
        while True:
            self._settle()
            now = self.clock.now()
            while self.turns and self.turns[0].at <= now:
                due = []
                while self.turns and self.turns[0].at <= now:
                    due.append(heapq.heappop(self.turns))
                for turn in due:
                    self._act(turn)
                    self.run_jobs()  # what the act set going happens before the next person acts, however many
                    #                  processes run the jobs: the same order in one process as in several
                    self._say_now_and_then()
                self._settle()
            local = now.astimezone(BUSINESS_TZ)
            if local.strftime("%Y-%m") != month:
                month = local.strftime("%Y-%m")
                self._say_now_and_then(at_once=True)
            else:
                self._say_now_and_then()
            upcoming = [c for c in (self.huhua.queries.next_job_due(), self._next_fire,
                                    self.turns[0].at if self.turns else None) if c is not None]
            following = min(upcoming, default=None)
            if following is None or following > until:
                self.clock.set(max(until, now))
                self._settle()
                return self.tally
            self.clock.set(max(following, now + timedelta(seconds=1)) if following <= now else following)

    def _say_now_and_then(self, at_once: bool = False) -> None:
        """Progress every few seconds, also in the middle of a long moment (the first of a month starts a check at
        every school: thousands of jobs before the clock moves on)."""
        if self._progress is not None and (at_once or time.monotonic() - self._said_at > 5):
            self._said_at = time.monotonic()
            self._progress(self.figures())

    def _run_due_jobs(self) -> None:
        """The jobs due now, run in this process, a batch at a time with progress between."""
        worker = JobWorker(self.huhua, "inline")
        for _ in range(ROUNDS):
            if not worker.run_once():
                return
            self._say_now_and_then()

    def figures(self) -> dict[str, Any]:
        """Where the year stands: the clock, instances and tasks so far, commands run."""
        with self.huhua.services.database.engine.connect() as connection:
            instances = connection.scalar(select(func.count()).select_from(tables.process_instance))
            tasks = connection.scalar(select(func.count()).select_from(_t))
            done = connection.scalar(select(func.count()).select_from(_t).where(_t.c.state == "completed"))
        seconds = time.monotonic() - self._started
        return {"now": self.clock.now().astimezone(BUSINESS_TZ).isoformat(timespec="minutes"), "instances": instances,
                "tasks": tasks, "completed": done, "waiting": len(self.turns), "commands": self.stopwatch.count,
                "seconds": round(seconds, 1), "rate": round(self.stopwatch.count / seconds, 1) if seconds else None}

    def _settle(self) -> None:
        """Fire what is due, run the jobs due, and give the new tasks to their people. The scheduler is asked only
        when an occurrence is due (it would find nothing in between, at the cost of reading every schedule)."""
        if self._next_fire is not None and self._next_fire <= self.clock.now():
            self.runner.tick()
            self._next_fire = self.runner.next_occurrence(self._until or self.clock.now())
        self.run_jobs()
        self._hand_out()

    def _hand_out(self) -> None:
        with self.huhua.services.database.engine.connect() as connection:
            rows = connection.execute(select(_t.c.id, _t.c.process_key, _t.c.element_id, _t.c.title, _t.c.org_scope,
                                             _t.c.item_key, _t.c.created_at, _t.c.assignee)
                                      .where(_t.c.id > self.seen, _t.c.state == "open").order_by(_t.c.id)).all()
        for row in rows:
            self.seen = max(self.seen, row.id)
            actor, role = self._actor(row.id, row.assignee)
            if actor is None:
                continue  # offered to nobody who exists: the dashboard shows it as undone
            self._plan(row.id, _identity(row), row.process_key, actor, role)

    def _plan(self, task_id: int, identity: str, process_key: str, actor: str, role: str | None) -> None:
        decision = decide(self.seed, identity, actor, role, self.clock.now(),
                          self.huhua.queries.calendar.working_calendar())
        if decision.at is None:
            self.tally.left_undone[process_key] += 1
            return
        heapq.heappush(self.turns, _Turn(decision.at, identity, task_id, actor, decision.returns_work))

    def _actor(self, task_id: int, assignee: str | None) -> tuple[str | None, str | None]:
        """Who acts on a task, and in which role: its assignee, else the first person it is offered to (by name,
        or the first holder of the role it is offered to, as the inbox lists them)."""
        if assignee is not None:
            return assignee, self._role_of(assignee)
        with self.huhua.services.database.engine.connect() as connection:
            offers = connection.execute(select(_c.c.kind, _c.c.value).where(_c.c.task_id == task_id)
                                        .order_by(_c.c.kind.desc(), _c.c.value)).all()
            for kind, value in offers:
                if kind == "user":
                    return value, self._role_of(value)
                if "@" in value:
                    role, unit = value.split("@", 1)
                    holder = connection.scalar(select(_r.c.person_id).where(_r.c.role == role, _r.c.unit_id == unit)
                                               .order_by(_r.c.person_id).limit(1))
                    if holder is not None:
                        return holder, role
        return None, None

    def _role_of(self, person: str) -> str | None:
        if person not in self._roles:
            with self.huhua.services.database.engine.connect() as connection:
                self._roles[person] = connection.scalar(select(_r.c.role).where(_r.c.person_id == person)
                                                        .order_by(_r.c.id).limit(1))
        return self._roles[person]

    def _act(self, turn: _Turn) -> None:
        with self.huhua.services.database.engine.connect() as connection:
            task = connection.execute(select(_t.c.state, _t.c.assignee, _t.c.process_key, _t.c.element_id,
                                             _t.c.instance_id, _t.c.form_key)
                                      .where(_t.c.id == turn.task_id)).first()
            if task is None or task.state != "open":
                return
            rounds = connection.scalar(select(func.count()).select_from(_t).where(
                _t.c.instance_id == task.instance_id, _t.c.element_id == task.element_id, _t.c.state == "completed"))
        if task.assignee is not None and task.assignee != turn.actor:  # handed to someone else meanwhile
            self._plan(turn.task_id, turn.identity, task.process_key, task.assignee, self._role_of(task.assignee))
            return
        if task.assignee is None:
            try:
                self.desk.claim(turn.task_id, turn.actor)
            except Conflict:
                self.tally.claims_lost += 1
                return
        data: dict[str, Any] = {}
        where = f"{task.process_key}/{task.element_id}"
        for attempt in range(2):
            if task.form_key is not None:
                data = self._answer(turn, rounds, attempt)
            try:
                self.desk.complete(turn.task_id, turn.actor, data)
            except InvalidInput as refused:
                if attempt == 1:
                    problems = "; ".join(str(p.message) for p in refused.problems[:3])
                    self.tally.refused_answers.setdefault(where, f"{refused.message}: {problems}")
                continue
            except HuhuaError as refused:
                self.tally.refused_answers.setdefault(where, str(refused.message))
                return
            self.tally.acted[task.process_key] += 1
            if turn.returns_work:
                self.tally.returned[task.process_key] += 1
            return

    def _answer(self, turn: _Turn, rounds: int, attempt: int) -> dict[str, Any]:
        schema, opened = self.desk.form(turn.task_id, turn.actor)
        if schema is None:
            return {}
        key = json.dumps(schema, sort_keys=True)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = parse_form(f"{schema.get('id', 'form')}.form.json", key.encode("utf-8"))
        rng = seeded(self.seed, "answer", turn.identity, attempt)
        today = self.clock.now().astimezone(BUSINESS_TZ).date()
        return Answerer(rng, today, returns_work=turn.returns_work, rounds=rounds).answer(form, opened)


def _identity(row: Any) -> str:
    """What a task is, independent of row ids: the seed of its people's draws."""
    return "|".join(str(part) for part in (row.process_key, row.org_scope, row.element_id, row.title, row.item_key,
                                           row.created_at.isoformat() if row.created_at else ""))

