"""spiff-arena's own test models (26 of them) driven to their end through Huhua's API (a developer's check, issue 16).

    PYTHONPATH=. .venv/bin/python -m tests.spiff_arena_drive PATH_TO_SPIFF_ARENA/spiffworkflow-backend/tests/data

spiff-arena's models are not ours to ship, so this is not part of the test suite (the suite has models of its
own written after the same shapes); it reads the folder a ``fetch`` of spiff-arena's repository gives. Each model
is deployed as ``huhua deploy`` deploys a folder, into a database of its own with the demo org, then driven as
its users would drive it over HTTP: ``POST /process-instances``, ``GET /tasks``, ``GET /tasks/<id>/form``,
``POST /tasks/<id>/complete`` with the data its form asks for, ``POST /messages`` and ``POST /signals``, the
worker running due jobs between calls and the engine clock moved on for timers. Service tasks reach a connector
proxy on 127.0.0.1 started here. Each drive ends with the instance completed and checks the data its scripts
imply; the table says what each model exercised and what failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CreateApiToken, LoadDirectory
from engine.config import Settings, load_settings
from engine.errors import HuhuaError
from engine.model_folders import CallIndex, ModelFolder, group_root, model_directories, read_model
from engine.org.profiles import generate
from engine.web import create_app
from tests.connector_proxy import connector_proxy
from tests.spiff_arena_corpus import MAX_BYTES, bare_folders
from workers.job_worker import run_due_jobs

START = dt.datetime(2026, 9, 1, 1, 0, tzinfo=dt.UTC)
PROXY_KEY = "spiff-arena-drive"
#: Steps a drive may take before it is called stuck (a loop back that never ends).
MAX_STEPS = 60


@dataclass(frozen=True)
class Act:
    """Something the outside world does once no task is open: a message, a signal, or time passing."""

    kind: str  # "message", "signal" or "wait"
    name: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    correlation_key: str | None = None
    wait: dt.timedelta = dt.timedelta(0)


@dataclass(frozen=True)
class Drive:
    """One model: what it is chosen for, what its people answer, and what its end data must hold."""

    folder: str
    features: str
    expect: dict[str, Any]
    #: Answers by the task's BPMN id, in the order the task comes up (a list for a task that comes back).
    answers: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    acts: tuple[Act, ...] = ()
    #: The process to start, when not the folder's primary one (a model with several start points).
    process: str | None = None
    #: Instead of starting: the act that starts it (a message start event).
    started_by: Act | None = None
    #: The states the drive may end in (a terminate end event ends it as completed, too).
    ends: str = "completed"
    #: Take the acts while tasks are open, before completing them (a boundary event interrupting a task).
    act_first: bool = False


def _proxy_commands() -> dict[str, Callable[[dict[str, Any]], tuple[int, Any]]]:
    """An older proxy's answer for ed/GetFiles: the result itself, as spiff-arena's callback would give it."""
    return {"ed/GetFiles": lambda params: (200, {"do_not_fail": True, "files": ["a.txt", "b.txt"],
                                                 "asked": params})}


TIME_NS = int(START.timestamp()) * 1_000_000_000  # time.time_ns() on the drive's engine clock

DRIVES: tuple[Drive, ...] = (
    Drive("simple_script", "script tasks; a manual task's instructions", {"a": 1, "b": 2, "c": 3}),
    Drive("hello_world", "embedded sub-process; a user task without a form",
          {"a": 1, "b": 2, "outer": {"inner": "sweet1"}}),
    Drive("nested-task-data-structure", "nested data; time.time_ns() on the engine clock",
          {"invoice_number": 123, "outer.inner": "sweet2" * 42 + "END_THIS_WILL_TRUNCATE_HERE",
           "outer.time": TIME_NS}),
    Drive("dynamic_enum_select_fields", "a JSON-Schema form whose choices come from task data",
          {"selectedColor": "green", "awesome_color_options.1.value": "green"},
          answers={"Activity_1gqykqt": {"selectedColor": "green"}}),
    Drive("simple_form", "a JSON-Schema form; who started the instance and who completed the form, in scripts",
          {"name": "王芳", "department": "HR", "process_initiator_user.username": "admin",
           "user_completing_task.username": "admin"},
          answers={"Activity_SimpleForm": {"name": "王芳", "department": "HR"}}),
    Drive("get_current_task_data", "get_current_task_data() in a script", {"c": 3, "a": {"c": 3}}),
    Drive("test-get-current-task-info-script", "get_current_task_info() in a script and a pre-script",
          {"script_task_info.task_spec": "get_task_info", "manual_task_info.task_spec": "manual_task"}),
    Drive("call_activity_same_directory", "a call activity into another file of the folder", {}),
    Drive("basic_call_activity_series", "call activities three deep; a manual task before them", {}),
    Drive("call-activity-to-human-task", "a manual task inside a called process", {}),
    Drive("subprocess_with_manual_task", "a manual task inside an embedded sub-process", {}),
    Drive("step_through_gateway", "an exclusive gateway on a pre-script's value", {"x": 1},
          answers={"step_2_a": {"went": "a"}, "step_2_b": {"went": "b"}}),
    Drive("sample", "a business rule task (DMN decision table)",
          {"my_var": "Hello World", "person": "Kevin", "wonderfulness": "Very wonderful"}),
    Drive("multiinstance_with_data", "a parallel multi-instance sub-process over 100 items",
          {"results.0.my_index": 0, "results.99.alphabet.4": "e", "results.5.status": 0}),
    Drive("multiinstance_manual_task", "a multi-instance manual task with a post-script",
          {"the_input": ["a", "b", "c"], "z": ["a", "b", "c"]}),
    Drive("multiinstance_human_task_with_timer", "parallel manual tasks under an interrupting 4-hour timer",
          {"items": ["a", "b", "c"]}, acts=(Act("wait", wait=dt.timedelta(hours=4, minutes=1)),),
          act_first=True),
    Drive("timer_intermediate_catch_event", "an intermediate timer of 30 seconds", {}),
    Drive("task_assigned_to_group", "a lane naming a group of people", {}),
    Drive("signal_event_extensions", "a signal thrown from outside at a boundary event", {},
          acts=(Act("signal", "eat_spam"),), act_first=True),
    Drive("message-start-event-with-form", "a message start event with a JSON-Schema form", {"a": 1},
          started_by=Act("message", "bounty_start", {"firstName": "李雷"})),
    Drive("multiple_message_start_events", "two message start events; correlation by retrieval expression",
          {"a": 1, "incoming_trvl_data_test.message_test_trvl_id": "T-7"},
          started_by=Act("message", "travel_start_test_v2", {"message_test_trvl_id": "T-7"})),
    Drive("message_send_two_conversations", "two conversations, each correlated by its own properties",
          {"payload_var_one.second_var_one": 4, "payload_var_two.second_var_two": 6},
          process="message_send_process"),
    Drive("service_task", "a connector-proxy operator (ed/GetFiles) served on 127.0.0.1",
          {"response.do_not_fail": True, "response.files.1": "b.txt"}),
    Drive("terminate_end_event", "a terminate end event", {}),
    Drive("data_object_test", "a data object written by a script, read by a manual task", {}),
    Drive("simple-message-send-receive", "a send task whose message starts another process of the folder", {}),
)


# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    drive: Drive
    state: str = "not run"
    steps: list[str] = field(default_factory=list)
    missing: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.state == self.drive.ends and not self.missing and not self.error


def fill(json_schema: dict[str, Any] | None, form: dict[str, Any] | None) -> dict[str, Any]:
    """Data a person would enter: each field a value of its type (an enumeration's first choice)."""
    if json_schema and json_schema.get("schema"):
        return _from_json_schema(json_schema["schema"]) or {}
    data: dict[str, Any] = {}
    for component in (form or {}).get("components", []):
        key, kind = component.get("key"), component.get("type")
        if not key or kind in ("text", "button", "spacer", "separator", "image", "html"):
            continue
        values = component.get("values") or []
        if kind == "checkbox":
            data[key] = True
        elif kind == "number":
            data[key] = 1
        elif kind in ("checklist", "taglist"):
            data[key] = [values[0]["value"]] if values else []
        elif values:
            data[key] = values[0]["value"]
        elif kind == "datetime":
            data[key] = "2026-09-02"
        else:
            data[key] = "测试"
    return data


def _from_json_schema(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    if schema.get("oneOf") and isinstance(schema["oneOf"], list) and "const" in schema["oneOf"][0]:
        return schema["oneOf"][0]["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in schema:
        return {name: _from_json_schema(sub) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_from_json_schema(schema.get("items", {})) for _ in range(schema.get("minItems", 1))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    return "测试"


class Driver:
    """One model's database, app and people, and the drive through the API."""

    def __init__(self, huhua: Huhua, client: FlaskClient) -> None:
        self.huhua = huhua
        self.client = client
        self._tokens: dict[str, dict[str, str]] = {}

    def headers(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            made = self.huhua.execute(CreateApiToken(user, "spiff-arena drive", "admin"))
            self._tokens[user] = {"Authorization": f"Bearer {made['token']}"}
        return self._tokens[user]

    def call(self, method: str, path: str, user: str = "admin", body: Any = None) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=self.headers(user))
        if response.status_code >= 400:
            raise DriveFailed(f"{method} {path} as {user}: {response.status_code} {response.get_data(as_text=True)}")
        return response.get_json()

    def open_tasks(self, instance_id: int) -> list[dict[str, Any]]:
        return self.call("GET", f"/tasks?instance_id={instance_id}&limit=100")

    def run(self, drive: Drive, process: str, outcome: Outcome) -> None:
        acts = list(drive.acts)
        answers = {k: list(v) if isinstance(v, list) else [v] for k, v in drive.answers.items()}
        instance_id = self._start(drive, process, outcome)
        for _ in range(MAX_STEPS):
            run_due_jobs(self.huhua)
            instance = self.call("GET", f"/process-instances/{instance_id}")
            if instance["state"] != "running":
                outcome.state = instance["state"]
                data = instance.get("data") or {}
                outcome.missing = {k: (v, found) for k, v in drive.expect.items()
                                   if (found := _at(data, k)) != v}
                if instance.get("incidents"):
                    outcome.error = "; ".join(str(i.get("message")) for i in instance["incidents"])
                return
            tasks = self.open_tasks(instance_id)
            if tasks and acts and drive.act_first:
                self._act(acts.pop(0), outcome)
            elif tasks:
                self._complete(tasks[0], answers, outcome)
            elif acts:
                self._act(acts.pop(0), outcome)
            elif instance.get("incidents"):
                raise DriveFailed("; ".join(str(i.get("message")) for i in instance["incidents"]))
            elif not self._next_timer(outcome):
                raise DriveFailed(f"stuck: running with no open task, act or timer ({instance.get('waiting')})")
        raise DriveFailed(f"no end after {MAX_STEPS} steps")

    def _start(self, drive: Drive, process: str, outcome: Outcome) -> int:
        if drive.started_by is not None:
            started = self._act(drive.started_by, outcome)
            ids = [i["id"] for i in started.get("started_instances", [])]
            if not ids:
                raise DriveFailed(f"{drive.started_by.kind} {drive.started_by.name} started nothing: {started}")
            return int(ids[0])
        made = self.call("POST", "/process-instances", body={"process_key": process, "variables": drive.variables})
        outcome.steps.append("start")
        return int(made["id"])

    def _complete(self, task: dict[str, Any], answers: dict[str, list[Any]], outcome: Outcome) -> None:
        person = task.get("assignee") or next(iter(task.get("candidate_users") or []), None) or "admin"
        form = self.call("GET", f"/tasks/{task['id']}/form", user=person)
        queued = answers.get(task["element_id"])
        data = queued.pop(0) if queued else fill(form.get("json_schema"), form.get("schema"))
        self.call("POST", f"/tasks/{task['id']}/complete", user=person, body={"data": data})
        outcome.steps.append(f"{task['element_id']}({person})")

    def _act(self, act: Act, outcome: Outcome) -> dict[str, Any]:
        outcome.steps.append(f"{act.kind} {act.name or act.wait}")
        if act.kind == "wait":
            self.huhua.clock.advance(act.wait)  # type: ignore[attr-defined]
            return {}
        if act.kind == "message":
            return self.call("POST", "/messages", body={"name": act.name, "variables": act.payload,
                                                         "correlation_key": act.correlation_key})
        return self.call("POST", "/signals", body={"name": act.name, "variables": act.payload})

    def _next_timer(self, outcome: Outcome) -> bool:
        """Moves the clock to the next job due (a timer), as time passing would; False when none waits."""
        waiting = [j for j in self.huhua.queries.jobs(state="pending", limit=100) if j.get("due_at")]
        if not waiting:
            return False
        due = min(dt.datetime.fromisoformat(j["due_at"]) for j in waiting)
        now = self.huhua.clock.now()
        if due > now:
            self.huhua.clock.advance(due - now + dt.timedelta(seconds=1))  # type: ignore[attr-defined]
        outcome.steps.append(f"clock → {due:%m-%d %H:%M}")
        return True


def _at(data: Any, path: str) -> Any:
    """The value at a dotted path of the data (a key with a dot in it first, then keys and list indexes)."""
    if isinstance(data, dict) and path in data:
        return data[path]
    head, _, rest = path.partition(".")
    if isinstance(data, dict) and head in data:
        return _at(data[head], rest) if rest else data[head]
    if isinstance(data, list) and head.isdigit() and int(head) < len(data):
        return _at(data[int(head)], rest) if rest else data[int(head)]
    return "—"


class DriveFailed(Exception):
    pass


def _settings(scratch: Path, database: Path, connectors: Path) -> Settings:
    settings = load_settings({"HUHUA_DATA_DIR": str(scratch), "HUHUA_DATABASE_URL": f"sqlite:///{database}"})
    return replace(settings, connectors_file=connectors, outbound_allow=("127.0.0.1",))


@contextmanager
def _engine(template: Path, scratch: Path, connectors: Path, name: str) -> Iterator[Huhua]:
    database = scratch / f"{name}.db"
    shutil.copyfile(template, database)
    huhua = bootstrap(_settings(scratch, database, connectors), clock=VirtualClock(START), upgrade=False)
    try:
        yield huhua
    finally:
        huhua.close()


def drive_all(directory: Path, only: set[str] | None = None) -> list[Outcome]:
    root = group_root(directory)
    folders = {f.path: f for f in _folders(directory, root)}
    index = CallIndex(lambda: list(folders.values()), MAX_BYTES)
    outcomes = []
    os.environ["HUHUA_CONNECTOR_PROXY_API_KEY"] = PROXY_KEY
    with tempfile.TemporaryDirectory() as scratch_name, connector_proxy(_proxy_commands(), PROXY_KEY) as proxy:
        scratch = Path(scratch_name)
        connectors = scratch / "connectors.toml"
        connectors.write_text(f'[proxy]\nurl = "{proxy.url}"\noperators = ["ed/*", "http/*"]\n', encoding="utf-8")
        template = scratch / "template.db"
        with _engine_from_scratch(scratch, template, connectors) as huhua:
            huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
        for number, drive in enumerate(DRIVES):
            if only and drive.folder not in only:
                continue
            outcome = Outcome(drive)
            began = time.perf_counter()
            folder = folders.get(drive.folder)
            try:
                if folder is None:
                    raise DriveFailed("no such model folder")
                with _engine(template, scratch, connectors, f"drive{number}") as huhua:
                    huhua.execute(folder.command("admin", index.context_for(folder)))
                    app = create_app(huhua, {"TRUST_USER_HEADER": False, "SECRET_KEY": "drive"})
                    with app.test_client() as client:
                        Driver(huhua, client).run(drive, drive.process or folder.primary_process_id, outcome)
            except (DriveFailed, HuhuaError) as err:
                outcome.error = str(err)
            outcome.seconds = time.perf_counter() - began
            outcomes.append(outcome)
            print(f"{'ok  ' if outcome.passed else 'FAIL'} {drive.folder}: {outcome.error or outcome.missing or ''}",
                  file=sys.stderr, flush=True)
    return outcomes


@contextmanager
def _engine_from_scratch(scratch: Path, database: Path, connectors: Path) -> Iterator[Huhua]:
    huhua = bootstrap(_settings(scratch, database, connectors), clock=VirtualClock(START))
    try:
        yield huhua
    finally:
        huhua.close()


def _folders(directory: Path, root: Path) -> list[ModelFolder]:
    found = [read_model(path, root) for path in model_directories(directory)]
    return found + bare_folders(directory, root)


def report(outcomes: list[Outcome]) -> str:
    lines = ["| model | exercises | ends | steps | data checked | |", "|---|---|---|---:|---:|---|"]
    for o in outcomes:
        verdict = "passes" if o.passed else f"**fails**: {o.error or o.missing}"
        lines.append(f"| {o.drive.folder} | {o.drive.features} | {o.state} | {len(o.steps)} | "
                     f"{len(o.drive.expect)} | {verdict} |")
    passed = sum(o.passed for o in outcomes)
    lines.append(f"\n{passed} of {len(outcomes)} driven to their end with the data their scripts imply.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("path", type=Path)
    arguments.add_argument("--only", nargs="*", help="these model folders only")
    arguments.add_argument("--steps", action="store_true", help="print each drive's steps")
    given = arguments.parse_args(argv)
    if not given.path.is_dir():
        print(f"{given.path} is not a directory", file=sys.stderr)
        return 2
    outcomes = drive_all(given.path, set(given.only) if given.only else None)
    print(report(outcomes))
    if given.steps:
        for o in outcomes:
            print(f"{o.drive.folder}: {' → '.join(o.steps)}")
    return 0 if all(o.passed for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
