"""Runs one betsy test case through Huhua's public layer and reads back its trace.

For each case: a fresh database, the adapted model deployed with ``DeployModels``, the process started
with ``StartInstance`` and the case's variables, the virtual clock moved by the case's delay with due
timers fired by the timer runner's own function, and then the trace read from what the engine
recorded (activity history, instance states and data) through its queries.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, DeployModels, StartInstance
from engine.config import Settings
from engine.errors import HuhuaError, InvalidModel
from tests.conformance.adapter import BPMN, SAFE_PARSER, adapt, placeholder_of
from workers.timer_runner import fire_due_timers

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "betsy"
PARALLEL_PROCESS = "ParallelProcess"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class CaseResult:
    test: str
    group: str
    number: int
    expected: list[str]
    actual: list[str]
    ran: bool
    note: str = ""

    @property
    def passed(self) -> bool:
        expected, actual = Counter(self.expected), Counter(self.actual)
        if expected == Counter(["ERROR"]):
            return bool({"ERROR_deployment", "ERROR_runtime"} & set(actual)) and self.ran is not None
        # An empty expected trace is met by an engine that does nothing: count it only if the case ran.
        return expected == actual and (self.ran or bool(self.expected))


@dataclass
class Trace:
    lines: list[str] = field(default_factory=list)
    ran: bool = False
    note: str = ""


def load_tests() -> list[dict[str, Any]]:
    return json.loads((SUITE / "expected.json").read_text())["tests"]


def run_case(test: dict[str, Any], case: dict[str, Any], template: Path, workdir: Path) -> CaseResult:
    database = workdir / "case.db"
    shutil.copy(template, database)
    settings = Settings(database_url=f"sqlite:///{database}", data_dir=workdir, processes_dir=workdir,
                        node_name="betsy")
    clock = VirtualClock(START)
    huhua = bootstrap(settings, clock=clock, upgrade=False)
    try:
        trace = _run(huhua, clock, test, case)
    finally:
        huhua.close()
        database.unlink(missing_ok=True)
    return CaseResult(test["name"], test["group"], case["number"], case["expected"], trace.lines, trace.ran,
                      trace.note)


def _run(huhua: Huhua, clock: VirtualClock, test: dict[str, Any], case: dict[str, Any]) -> Trace:
    original = (SUITE / test["file"]).read_bytes()
    trace = Trace()
    try:
        deployed = huhua.execute(DeployModels(files=((Path(test["file"]).name, adapt(original)),), actor="betsy"))
    except InvalidModel as err:
        return Trace(["ERROR_deployment"], ran=False, note=str(err).splitlines()[-1].strip())
    keys = [p["key"] for p in deployed["processes"]]
    main = test["name"] if test["name"] in keys else next((k for k in keys if k != PARALLEL_PROCESS), None)
    if main is None:
        return Trace(["ERROR_deployment"], note="no executable process to start")
    variables: dict[str, Any] = {"integerVariable": case.get("integerVariable", 0),
                                 "testCaseNumber": case["number"]}
    if case.get("input") is not None:
        variables["test"] = case["input"]
    try:
        if case.get("parallel_process"):
            huhua.execute(StartInstance(PARALLEL_PROCESS, "betsy", variables=dict(variables), origin=ENGINE))
        huhua.execute(StartInstance(main, "betsy", variables=variables, origin=ENGINE))
    except HuhuaError as err:
        trace.lines.append("ERROR_runtime")
        trace.note = err.message
    _let_time_pass(huhua, clock, case.get("delay_ms", 0))
    _read_trace(huhua, original, trace)
    return trace


def _let_time_pass(huhua: Huhua, clock: VirtualClock, delay_ms: int) -> None:
    """Move the clock to each due timer in turn (never past the case's delay), firing as it goes."""
    deadline = clock.now() + timedelta(milliseconds=delay_ms)
    fire_due_timers(huhua)
    while True:
        pending = [j for j in huhua.queries.jobs(state="pending") if j["due_at"]]
        due = min((datetime.fromisoformat(j["due_at"]) for j in pending), default=None)
        if due is None or due > deadline:
            break
        if due > clock.now():
            clock.set(due)
        fire_due_timers(huhua)


def _read_trace(huhua: Huhua, original: bytes, trace: Trace) -> None:
    root = etree.fromstring(original, SAFE_PARSER)
    placeholders = {t.get("id"): placeholder_of(t)
                    for t in root.iter(f"{{{BPMN}}}scriptTask", f"{{{BPMN}}}globalScriptTask")}
    marker = data_correct = incident = False
    for summary in huhua.queries.instances(limit=500):
        view = huhua.queries.instance(summary["id"], history_limit=100000)
        incident = incident or view["state"] == "incident"
        data_correct = data_correct or view["data"].get("betsy_data_read") == "String"
        for event in view["history"]:
            if event["kind"] == "error_unhandled":
                trace.lines.append("ERROR_thrownErrorEvent")
            if event["kind"] != "activities_completed":
                continue
            trace.ran = True
            for element in event["detail"]["elements"]:
                placeholder = placeholders.get(element, "")
                if placeholder.startswith("SCRIPT_task"):
                    trace.lines.append(placeholder)
                elif placeholder == "CREATE_MARKER_FILE":
                    marker = True
                elif placeholder == "INCREMENT_INTEGER_VARIABLE_AND_LOG":
                    trace.lines.append("INCREMENT_correct")
        if view["incidents"] and not trace.note:
            trace.note = view["incidents"][0]["message"][:200]
    if marker:
        trace.lines.append("MARKER_exists")
    if _overlapping(huhua, placeholders):
        trace.lines.append("EXECUTION_parallel")
    if data_correct:
        trace.lines.append("DATA_correct")
    if incident and "ERROR_runtime" not in trace.lines:
        trace.lines.append("ERROR_runtime")


def _overlapping(huhua: Huhua, placeholders: dict[str, str]) -> bool:
    """Whether a CREATE_TIMESTAMP_LOG_1 task and a _2 task were busy at the same time: each from when its
    duration's job was made (the task reached) to when it fell due (the task done)."""
    spans: dict[str, list[tuple[datetime, datetime]]] = {"CREATE_TIMESTAMP_LOG_1": [], "CREATE_TIMESTAMP_LOG_2": []}
    for job in huhua.queries.jobs(kind="continuation", state="done", limit=500):
        placeholder = placeholders.get(job["element_id"], "")
        if placeholder in spans:
            spans[placeholder].append((datetime.fromisoformat(job["created_at"]),
                                       datetime.fromisoformat(job["due_at"])))
    return any(start_1 < end_2 and start_2 < end_1 for start_1, end_1 in spans["CREATE_TIMESTAMP_LOG_1"]
               for start_2, end_2 in spans["CREATE_TIMESTAMP_LOG_2"])


def summarise(results: list[CaseResult]) -> tuple[str, dict[str, int]]:
    """A per-group table of tests and cases passed, and the totals."""
    by_test: dict[str, list[CaseResult]] = {}
    for result in results:
        by_test.setdefault(result.test, []).append(result)
    groups: dict[str, list[int]] = {}
    for cases in by_test.values():
        row = groups.setdefault(cases[0].group, [0, 0, 0, 0])
        row[0] += all(c.passed for c in cases)
        row[1] += 1
        row[2] += sum(c.passed for c in cases)
        row[3] += len(cases)
    lines = [f"{'group':<12} {'tests':>9} {'cases':>9}"]
    for group, (tp, tn, cp, cn) in sorted(groups.items()):
        lines.append(f"{group:<12} {tp:>4}/{tn:<4} {cp:>4}/{cn:<4}")
    totals = {"tests": sum(r[0] for r in groups.values()), "cases": sum(r[2] for r in groups.values())}
    lines.append(f"{'total':<12} {totals['tests']:>4}/{len(by_test):<4} {totals['cases']:>4}/{len(results):<4}")
    failing = [f"  {t}: " + "; ".join(f"#{c.number} expected {sorted(c.expected)} got {sorted(c.actual)}"
                                    + (f" ({c.note})" if c.note else "") for c in cases if not c.passed)
               for t, cases in sorted(by_test.items()) if not all(c.passed for c in cases)]
    return "\n".join([*lines, "failing:", *failing]), totals
