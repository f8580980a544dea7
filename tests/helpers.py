"""Small helpers shared by tests: deploying fixture models, the demo org, the served app, API tokens, and reading
rows through the public queries."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from click.testing import Result
from flask.testing import FlaskClient
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CreateApiToken, DeployModels, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from workers.job_worker import run_due_jobs

FIXTURES = Path(__file__).parent / "fixtures"
_ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:process id="{process}" name="{name}" isExecutable="true">{declaration}
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{task_id}"/>
    <bpmn:userTask id="{task_id}" name="{task}">
      <bpmn:extensionElements><spiffworkflow:properties>{properties}
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="{task_id}" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""


def deploy_fixtures(huhua: Huhua, *names: str, actor: str = "admin") -> dict:
    files = tuple((name, (FIXTURES / name).read_bytes()) for name in names)
    return huhua.execute(DeployModels(files=files, actor=actor))


def only_task(huhua: Huhua, instance_id: int) -> dict:
    tasks = huhua.queries.tasks(instance_id=instance_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def history_kinds(huhua: Huhua, instance_id: int) -> list[str]:
    return [event["kind"] for event in huhua.queries.instance(instance_id)["history"]]


def cli_json(result: Result) -> object:
    """The --json output of a command that must have succeeded."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_task_model(process: str, name: str, task: str, assignment: str, value: str, declaration: str = "", *,
                   task_id: str = "read", task_properties: dict[str, str] | None = None,
                   process_properties: dict[str, str] | None = None) -> str:
    """A process of one user task ``task_id`` offered by ``assignment`` (candidateUsers, candidateRoles, assignee …)
    = ``value``, with more ``task_properties`` (formKey …); ``declaration`` is XML placed first inside the process
    (its extension elements), or ``process_properties`` make it."""
    def listed(properties: dict[str, str]) -> str:
        return "".join(f'\n        <spiffworkflow:property name="{key}" value="{value}"/>'
                       for key, value in properties.items())

    if process_properties:
        declaration = (f"\n    <bpmn:extensionElements><spiffworkflow:properties>{listed(process_properties)}"
                       "\n    </spiffworkflow:properties></bpmn:extensionElements>")
    return _ONE_TASK.format(process=process, name=name, task=task, task_id=task_id, declaration=declaration,
                            properties=listed({assignment: value, **(task_properties or {})}))


def load_demo(huhua: Huhua) -> Huhua:
    """The demo directory loaded and the shipped library deployed, as ``huhua org load demo`` and a fresh install do."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    return huhua


@contextmanager
def served_in_thread(huhua: Huhua) -> Iterator[str]:
    """The app as served (log-in, no trusted user header) on a free 127.0.0.1 port in a thread: its base URL, for
    the browser tests."""
    app = create_app(huhua, {"SECRET_KEY": "browser-test", "TRUST_USER_HEADER": False})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def served_client(huhua: Huhua, **config: object) -> Iterator[FlaskClient]:
    """A test client of the app as served: no trusted user header, so callers bring a token or log in."""
    app = create_app(huhua, {**config, "TRUST_USER_HEADER": False})
    with app.test_client() as client:
        yield client


def token_headers(huhua: Huhua, user: str, name: str = "测试") -> dict[str, str]:
    """The Authorization header of a new API token the administrator makes for ``user``."""
    made = huhua.execute(CreateApiToken(user, name, "admin"))
    return {"Authorization": f"Bearer {made['token']}"}


def token_cache(huhua: Huhua, name: str = "测试") -> Callable[[str], dict[str, str]]:
    """``token_headers`` made once per person and reused, as a script keeps its token."""
    tokens: dict[str, dict[str, str]] = {}

    def headers(user: str) -> dict[str, str]:
        if user not in tokens:
            tokens[user] = token_headers(huhua, user, name)
        return tokens[user]

    return headers


def start_at(huhua: Huhua, process: str, unit: str, origin: str = ENGINE, **variables: object) -> int:
    """The id of an instance the administrator's account starts at ``unit`` — by default as the engine does (the
    scheduler, a fan-out); with ``origin=PERSON`` by hand."""
    return int(huhua.execute(StartInstance(process, "admin", org_scope=unit, variables=variables,
                                           origin=origin))["id"])


def fired_timers(huhua: Huhua) -> int:
    """Run every due job, as a worker would; how many timers fired (the jobs that tell people of the tasks they
    create, engine.notifications, are not counted)."""
    before = len(huhua.queries.jobs(kind="timer", state="done", limit=500))
    run_due_jobs(huhua)
    return len(huhua.queries.jobs(kind="timer", state="done", limit=500)) - before


def page_wait(browser: WebDriver, seconds: float) -> WebDriverWait:
    """A wait for a page condition that finds its elements afresh at each try: an element the page re-rendered
    between finding and reading it means "not yet", not a failure. Chromium says so either as a
    StaleElementReferenceException or, when the node went while it was being read, as an inspector error that the
    node "does not belong to the document"."""
    return _PageWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))


def re_rendered(error: WebDriverException) -> bool:
    """Whether ``error`` says the element was re-rendered away between finding and using it."""
    return isinstance(error, StaleElementReferenceException) or "does not belong to the document" in (error.msg or "")


class _PageWait(WebDriverWait):
    def until(self, method: Callable[[Any], Any], message: str = "") -> Any:
        def tolerant(driver: Any) -> Any:
            try:
                return method(driver)
            except WebDriverException as error:
                if re_rendered(error):
                    return False
                raise
        return super().until(tolerant, message)
