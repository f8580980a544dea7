"""The simulated staff of the load test: people of the demo directory working over the API at once, each in a thread
of their own with an API token, as a program acting for them would (no browser session: the token is what
``huhua simulate --web`` uses too, and it needs no CSRF dance).

Each person loops until the run's end: open the inbox (GET /api/v1/tasks); take one task from it through its form
(GET …/form, POST …/claim when it is offered rather than theirs, POST …/complete with answers drawn by
:class:`engine.simulation.answers.Answerer` — the task form calls are :class:`engine.simulation.desks.WebDesk`'s);
now and then start an instance their role may start (POST /api/v1/process-instances, with a business key of its
own so the ledger can find it); officers read a dashboard. Between steps they think for a while. A 503 makes them
wait what Retry-After says, as a well-behaved client does.

Every answer is recorded (kind, status, when, how long, whether a 503 said Retry-After), and so is every call that
got no answer at all (a killed web process). What a person saw succeed is kept for the ledger
(:mod:`bench.load_checks`).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import requests
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.errors import Conflict, HuhuaError, InvalidInput
from engine.forms import Form, parse_form
from engine.simulation.answers import Answerer
from engine.simulation.desks import WebDesk
from engine.store import tables

#: The processes the staff start by hand: each opens work for people of the pool (a school's counsellor, its
#: programme officer) without fanning out to the whole city.
STARTED_BY_STAFF = ("counselling_appointment", "monthly_check_chase", "supervision_round")
#: The dashboards an officer reads, one drawn at a time.
DASHBOARDS = ("/dashboard/rollouts", "/dashboard/overdue", "/dashboard/monthly-checks", "/dashboard/counselling")
#: The longest a person waits on a 503's Retry-After before trying again.
LONGEST_WAIT = 15.0
_KINDS = ((re.compile(r"^GET /api/v1/tasks$"), "inbox"), (re.compile(r"^GET /api/v1/tasks/\d+/form$"), "form"),
          (re.compile(r"^POST /api/v1/tasks/\d+/claim$"), "claim"),
          (re.compile(r"^POST /api/v1/tasks/\d+/complete$"), "complete"),
          (re.compile(r"^POST /api/v1/process-instances$"), "start"),
          (re.compile(r"^GET /api/v1/dashboard/"), "dashboard"))


def request_kind(method: str, url: str) -> str:
    """The kind of call a request was, for the figures: inbox, form, claim, complete, start, dashboard."""
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0]
    said = f"{method} /{path}"
    return next((kind for pattern, kind in _KINDS if pattern.search(said)), said)


@dataclass(frozen=True)
class Sample:
    """One call: its kind, the status (0: no answer), when it was sent and answered (monotonic seconds)."""

    kind: str
    status: int
    sent: float
    answered: float
    retry_after: str | None = None

    @property
    def seconds(self) -> float:
        return self.answered - self.sent


@dataclass
class Ledger:
    """What the people saw: completions and starts that succeeded, and those a 503 said were not applied."""

    completed: list[tuple[int, str]] = field(default_factory=list)  # (task id, person) answered 200
    started: list[tuple[str, str, int]] = field(default_factory=list)  # (business key, process, id) answered 201
    completions_refused_503: list[tuple[int, str]] = field(default_factory=list)
    starts_refused_503: list[tuple[str, str]] = field(default_factory=list)  # (business key, process)


@dataclass
class Startable:
    """A process a person may start, for which units, and its start form (None: it takes no variables)."""

    process_key: str
    units: list[str]
    form: Form | None


@dataclass
class Staff:
    """One simulated person of the pool."""

    person: str
    role: str  # how they were chosen: city_officer, county_officer, school_officer, counsellor
    unit: str  # where they hold it
    starts: list[Startable] = field(default_factory=list)

    @property
    def reads_dashboards(self) -> bool:
        return self.role in ("city_officer", "county_officer")


class Recorder:
    """Every call's sample, from all threads (list.append is atomic), and the last answer per thread."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self._last = threading.local()

    def hook(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """requests' response hook: ``elapsed`` is the time from sending to the answer's headers."""
        answered = time.monotonic()
        sample = Sample(request_kind(response.request.method or "", response.request.url or ""),
                        response.status_code, answered - response.elapsed.total_seconds(), answered,
                        response.headers.get("Retry-After"))
        self.samples.append(sample)
        self._last.sample = sample

    def no_answer(self, error: requests.RequestException, sent: float) -> None:
        request = error.request
        kind = request_kind(request.method or "", request.url or "") if request is not None else "unknown"
        self.samples.append(Sample(kind, 0, sent, time.monotonic()))
        self._last.sample = None

    def last(self) -> Sample | None:
        return getattr(self._last, "sample", None)


def choose_staff(huhua: Huhua, count: int) -> list[Staff]:
    """``count`` people of the loaded directory, mixed as the work needs them: city officers, every county's
    officer, and the programme officer and counsellor of schools, the first school of each county first."""
    ra, unit = tables.role_assignment, tables.org_unit
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(ra.c.person_id, ra.c.role, unit.c.id, unit.c.kind, unit.c.parent_id)
                                  .join(unit, unit.c.id == ra.c.unit_id)
                                  .where(ra.c.role.in_(("programme_officer", "duty_counsellor")))
                                  .order_by(unit.c.path, ra.c.person_id)).all()
    city = [Staff(r.person_id, "city_officer", r.id) for r in rows
            if r.kind == "city" and r.role == "programme_officer"]
    counties = [r for r in rows if r.kind == "county" and r.role == "programme_officer"]
    schools: dict[str, dict[str, list[Staff]]] = {}  # county -> school -> its officer and counsellor
    for r in rows:
        if r.kind == "school":
            role = "school_officer" if r.role == "programme_officer" else "counsellor"
            schools.setdefault(r.parent_id, {}).setdefault(r.id, []).append(Staff(r.person_id, role, r.id))
    chosen: list[Staff] = []
    for round_ in range(max((len(s) for s in schools.values()), default=0)):
        if round_ < len(city):
            chosen.append(city[round_])
        for county in counties:
            if round_ == 0:
                chosen.append(Staff(county.person_id, "county_officer", county.id))
            county_schools = list(schools.get(county.id, {}).values())
            if round_ < len(county_schools):
                chosen.extend(county_schools[round_])
    chosen += city[len(chosen):]
    if len(chosen) < count:
        raise ValueError(f"the directory has {len(chosen)} people for the load test; {count} were asked for")
    return chosen[:count]


def plan_starts(huhua: Huhua, staff: list[Staff]) -> None:
    """What each person will start: :data:`STARTED_BY_STAFF` that their role may start, for units whose people are
    in the pool (so the work they open is worked)."""
    in_pool = {s.unit for s in staff if s.role in ("school_officer", "counsellor")}
    for person in staff:
        for startable in huhua.queries.startable(person.person):
            if startable["key"] not in STARTED_BY_STAFF:
                continue
            units = [u["id"] for u in startable["units"] if u["id"] in in_pool]
            if not units:
                continue
            form = None
            if startable["form_key"]:
                schema = huhua.queries.definition_form(startable["definition_id"], startable["form_key"])["schema"]
                form = parse_form(f"{startable['form_key']}.form.json", json.dumps(schema).encode("utf-8"))
            person.starts.append(Startable(startable["key"], units, form))


class Desk:
    """One person's client: the task form calls through :class:`WebDesk`, the rest on its HTTP session."""

    def __init__(self, huhua: Huhua, base_url: str, staff: Staff, token: str, recorder: Recorder) -> None:
        self.staff = staff
        self.web = WebDesk(huhua, base_url, {staff.person: token})
        self.web.http.hooks["response"].append(recorder.hook)
        self.api = self.web.api

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.web.http.get(self.api + path, params=params, timeout=120,
                                 headers=self.web.authorization(self.staff.person))

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.web.http.post(self.api + path, json=body, timeout=120,
                                  headers=self.web.authorization(self.staff.person))


class Shift:
    """A person's shift: their working loop until ``deadline`` (monotonic); ``stop`` ends it early."""

    def __init__(self, desk: Desk, recorder: Recorder, ledger: Ledger, rng: random.Random, deadline: float,
                 think_seconds: float, start_share: float, stop: threading.Event, today: Callable[[], date]) -> None:
        self.desk, self.recorder, self.ledger, self.rng = desk, recorder, ledger, rng
        self.deadline, self.think_seconds, self.start_share = deadline, think_seconds, start_share
        self.stop, self.today = stop, today
        self.person = desk.staff.person
        self.rounds: dict[tuple[int, str], int] = {}
        self.started = 0

    def run(self) -> None:
        while time.monotonic() < self.deadline and not self.stop.is_set():
            self._step(self._inbox)
            if self.desk.staff.starts and self.rng.random() < self.start_share:
                self._step(self._start)
            if self.desk.staff.reads_dashboards and self.rng.random() < 0.3:
                self._step(lambda: self.desk.get(self.rng.choice(DASHBOARDS)))
            self._pause(self.rng.expovariate(1 / self.think_seconds) if self.think_seconds > 0 else 0)

    def _step(self, action: Callable[[], object]) -> None:
        """Do one thing; an outage or a lost answer makes the person wait (Retry-After) and go on."""
        sent = time.monotonic()
        try:
            action()
        except requests.RequestException as error:
            self.recorder.no_answer(error, sent)
            self._pause(1.0)
        except (RuntimeError, HuhuaError, ValueError):
            last = self.recorder.last()
            if last is not None and last.status == 503:
                self._pause(min(float(last.retry_after or 1), LONGEST_WAIT))

    def _pause(self, seconds: float) -> None:
        self.stop.wait(max(0.0, min(seconds, self.deadline - time.monotonic())))

    def _inbox(self) -> None:
        answer = self.desk.get("/tasks", limit=20)
        if answer.status_code != 200:
            raise RuntimeError(f"inbox answered {answer.status_code}")
        tasks = answer.json()
        if tasks:
            self._work(self.rng.choice(tasks[:5]))

    def _work(self, task: dict[str, Any]) -> None:
        web, task_id = self.desk.web, int(task["id"])
        if task.get("assignee") is None:
            try:
                web.claim(task_id, self.person)
            except Conflict:
                return  # someone else took it first
        key = (int(task.get("instance_id") or 0), str(task.get("element_id")))
        for _attempt in range(2):
            schema, opened = web.form(task_id, self.person)
            data: dict[str, Any] = {}
            if schema is not None:
                form = parse_form(f"{schema.get('id', 'form')}.form.json", json.dumps(schema).encode("utf-8"))
                answerer = Answerer(self.rng, self.today(), returns_work=self.rng.random() < 0.05,
                                    rounds=self.rounds.get(key, 0))
                data = answerer.answer(form, opened)
            try:
                web.complete(task_id, self.person, data)
            except InvalidInput:
                continue  # drawn again, as a person corrects a form the server refused
            except RuntimeError:
                last = self.recorder.last()
                if last is not None and last.status == 503:
                    self.ledger.completions_refused_503.append((task_id, self.person))
                raise
            self.ledger.completed.append((task_id, self.person))
            self.rounds[key] = self.rounds.get(key, 0) + 1
            return

    def _start(self) -> None:
        startable = self.rng.choice(self.desk.staff.starts)
        variables: dict[str, Any] = {}
        if startable.form is not None:
            variables = Answerer(self.rng, self.today(), returns_work=False, rounds=0).answer(startable.form, {})
        self.started += 1
        business_key = f"load-{self.person}-{self.started}"
        answer = self.desk.post("/process-instances", {
            "process_key": startable.process_key, "org_scope": self.rng.choice(startable.units),
            "business_key": business_key, "variables": variables})
        if answer.status_code in (200, 201):
            self.ledger.started.append((business_key, startable.process_key, int(answer.json()["id"])))
        elif answer.status_code == 503:
            self.ledger.starts_refused_503.append((business_key, startable.process_key))
            raise RuntimeError("start answered 503")
