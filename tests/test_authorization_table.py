"""The authorization table (issue 11): every operation of the app × each demo role × own scope / another county's
scope × existing / missing id → the answer it must get.

The operations come from ``app.url_map`` (and, for the API, must be in the OpenAPI document); a route without a rule
in the access policy, or without a row in this file's table, fails. The expected answers are written down here,
from the programme's rules, per kind of rule and role — they are not computed by asking the policy:

- *instance*, *task*, *attachment*, *document* readers: a monthly check at a 珠晖区 school is read by the administrator,
  the city's and 珠晖区's officers and heads, and the school's officer and principal (its task is the school
  officer's); the same at a 雁峰区 school only by the administrator and the city. Everyone else gets 404, exactly
  as for an id that does not exist.
- *task actor*: readers get past the gate (the command then answers 200, 400, 403 or 409); others 404.
- *administrator*: the administrator only; anyone else 403 whatever the id.
- *dashboard*: the administrator and the officers and heads of the city and the counties; others 403. A county or
  rollout of another county answers 404 for a county's officer, as a missing one does.
- *signed in*: any signed-in person (a process's 发起 page only for whoever may start it, 404 for others);
  *public*: anyone, the same answer for all. A person's notifications are theirs alone: someone else's answers
  404 to everyone, the administrator too. A person's own API tokens are theirs alone: someone else's token id
  answers 404 (the administrator revokes any), and a token cannot make tokens (403: a leaked token must not breed
  more).
- *counselling room reader*: a school's counselling room register is read by the administrator, the city's and
  its county's officers and heads, and the school's officer, principal and mental-health teacher (zhuhui-s001-xl1);
  a 雁峰区 school's only by the administrator and the city; no class teacher, no expert. Others 404.
- *ledger reader*: a school's teacher appraisal ledger is read by its leaders and the officers and heads above it,
  the same people as its monthly check; others get 404, as for a school that does not exist.
- *mental-health lead*: the log of reads of a school's counselling cases is its mental-health lead's
  (zhuhui-s001-xl1, the school's 专职心理健康教育教师); anyone else 403.
- *metrics scraper*: /metrics is read with the deployment's metrics token only; every person, signed in or with
  their own API token, and nobody signed in get 401 (the token itself is tried in tests/test_metrics.py).
- Nobody signed in: 401 from the API, a redirect to the log-in page from pages.

One app and one SQLite database for the whole table (module-scoped); requests that change things are sent with
inputs that stop after the gate (a missing field, a wrong type), so the table's data stays as set up.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert

from engine.access.policy import route_rule
from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import (
    AddAttachment,
    AddWebhook,
    CreateApiToken,
    DeployShippedProcesses,
    LoadDirectory,
    NotifyPeople,
    SaveFilter,
    SetPassword,
    SetWorkday,
    StartInstance,
)
from engine.commands.requests import ENGINE
from engine.config import Settings
from engine.org.profiles import generate
from engine.store import tables
from engine.web import create_app
from tests.conftest import PROJECT, START
from tests.helpers import deploy_fixtures
from workers.job_worker import run_due_jobs

# --- who, and what each may reach (written from the programme's rules) -----------------------------------------

ROLES: tuple[str | None, ...] = (
    "admin", "hy-jz", "hy-zr", "zhuhui-zr", "zhuhui-jz", "zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1",
    "zhuhui-s001-xl1", "zj01", None)  # None: nobody signed in
CITY = {"admin", "hy-jz", "hy-zr"}
COUNTY = {"zhuhui-zr", "zhuhui-jz"}
SCHOOL_LEADERS = {"zhuhui-s001-zr", "zhuhui-s001-xz"}
#: Who reads the monthly check (and its task, files, documents) of 珠晖区's school ("own") and 雁峰区's ("other").
READERS = {"own": CITY | COUNTY | SCHOOL_LEADERS, "other": CITY, "missing": set(), "existing": set()}
DASHBOARD_HOLDERS = CITY | COUNTY
MENTAL_HEALTH_LEADS = {"zhuhui-s001-xl1"}
#: Who reads the counselling room register of 珠晖区's school ("own") and 雁峰区's ("other").
ROOM_READERS = {"own": CITY | COUNTY | SCHOOL_LEADERS | {"zhuhui-s001-xl1"}, "other": CITY, "missing": set()}
#: Whose dashboard shows 珠晖区 ("own") and 雁峰区 ("other").
DASHBOARD_SEES = {"own": DASHBOARD_HOLDERS, "other": CITY, "missing": set(), "-": DASHBOARD_HOLDERS}
PASSWORD = "table-secret"
MISSING_ID = 9_000_000

#: Every operation ("METHOD rule" as Flask lists it) and its kind of rule.
KINDS: dict[str, str] = {
    "GET /static/<path:filename>": "public",
    "GET /login": "public",
    "POST /login": "public",
    "POST /logout": "signed_in",
    "GET /": "public",
    "GET /assets/<path:filename>": "public",
    "GET /api/v1/health": "public",
    "GET /metrics": "metrics_scraper",
    "GET /healthz": "public",
    "GET /readyz": "public",
    "GET /api/v1/openapi.json": "public",
    "GET /inbox": "signed_in",
    "GET /inbox/tasks/<int:task_id>": "task_reader",
    "GET /api/v1/tasks": "signed_in",
    "GET /api/v1/saved-filters": "signed_in",
    "POST /api/v1/saved-filters": "signed_in",
    "DELETE /api/v1/saved-filters/<int:filter_id>": "signed_in",
    "GET /api/v1/tasks/<int:task_id>": "task_reader",
    "GET /api/v1/tasks/<int:task_id>/form": "task_reader",
    "GET /api/v1/tasks/<int:task_id>/history": "task_reader",
    "GET /api/v1/tasks/<int:task_id>/comments": "task_reader",
    "GET /api/v1/tasks/<int:task_id>/attachments": "task_reader",
    "GET /api/v1/attachments/<int:attachment_id>": "attachment_reader",
    "POST /api/v1/tasks/<int:task_id>/comments": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/attachments": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/complete": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/claim": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/unclaim": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/delegate": "task_actor",
    "GET /api/v1/tasks/<int:task_id>/delegates": "task_actor",
    "POST /api/v1/tasks/<int:task_id>/reassign": "task_actor",
    "GET /api/v1/process-instances/<int:instance_id>": "instance_reader",
    "GET /api/v1/process-instances/<int:instance_id>/history": "instance_reader",
    "GET /api/v1/process-instances/<int:instance_id>/coverage": "instance_reader",
    "GET /api/v1/process-instances/<int:instance_id>/documents": "instance_reader",
    "GET /api/v1/documents/<int:document_id>": "document_reader",
    "POST /api/v1/process-instances": "signed_in",
    "POST /api/v1/messages": "signed_in",
    "POST /api/v1/signals": "signed_in",
    "GET /start": "signed_in",
    "GET /start/<process_key>": "signed_in",  # but shown only to whoever may start it (STARTERS)
    "POST /start/<process_key>": "signed_in",
    "GET /start/started": "signed_in",
    "POST /api/v1/webhooks/messages/<name>": "signed_in",
    "GET /api/v1/process-definitions": "signed_in",
    "GET /api/v1/process-definitions/<int:definition_id>/xml": "administrator",
    "GET /api/v1/process-definitions/<int:definition_id>/artifacts": "administrator",
    "GET /api/v1/process-definitions/<int:definition_id>/decisions/<decision_id>": "administrator",
    "GET /api/v1/process-definitions/<int:definition_id>/forms/<form_key>": "administrator",
    "POST /api/v1/process-definitions/<int:definition_id>/deploy": "administrator",
    "POST /api/v1/process-definitions/<int:definition_id>/decisions/<decision_id>/deploy": "administrator",
    "POST /api/v1/process-definitions/<int:definition_id>/forms/<form_key>/deploy": "administrator",
    "POST /api/v1/deployments": "administrator",
    "POST /api/v1/process-models": "administrator",
    "POST /api/v1/validate": "administrator",
    "GET /api/v1/process-instances": "administrator",
    "POST /api/v1/process-instances/<int:instance_id>/retry": "administrator",
    "POST /api/v1/process-instances/<int:instance_id>/suspend": "administrator",
    "POST /api/v1/process-instances/<int:instance_id>/resume": "administrator",
    "POST /api/v1/process-instances/<int:instance_id>/terminate": "administrator",
    "POST /api/v1/process-instances/<int:instance_id>/migrate": "administrator",
    "GET /api/v1/process-instances/<int:instance_id>/jobs": "administrator",
    "GET /api/v1/jobs": "administrator",
    "GET /api/v1/webhooks": "administrator",
    "GET /api/v1/notification-deliveries": "administrator",
    "POST /api/v1/notification-deliveries/<int:delivery_id>/replay": "administrator",
    "POST /api/v1/notifications": "administrator",
    "POST /api/v1/webhooks": "administrator",
    "DELETE /api/v1/webhooks/<int:subscription_id>": "administrator",
    "POST /api/v1/webhooks/<int:subscription_id>/rotate-secret": "administrator",
    "GET /api/v1/process-instances/summary": "administrator",
    "GET /api/v1/jobs/summary": "administrator",
    "GET /api/v1/incidents": "administrator",
    "GET /api/v1/schedules": "administrator",
    "GET /api/v1/schedules/<key>/fires": "administrator",
    "PUT /api/v1/schedules/<key>": "administrator",
    "GET /api/v1/schedule-occurrences/<year>": "administrator",
    "GET /api/v1/term-calendar": "administrator",
    "PUT /api/v1/term-calendar": "administrator",
    "GET /api/v1/calendar/<year>": "administrator",
    "PUT /api/v1/calendar/overrides/<day>": "administrator",
    "DELETE /api/v1/calendar/overrides/<day>": "administrator",
    "GET /api/v1/org/units": "administrator",
    "GET /api/v1/org/units/<unit_id>": "administrator",
    "GET /api/v1/org/people": "administrator",
    "PATCH /api/v1/org/people/<person_id>": "administrator",
    "POST /api/v1/org/imports": "administrator",
    "GET /api/v1/org/export.xlsx": "administrator",
    "GET /admin/": "administrator",
    "GET /admin/benchmarks": "administrator",
    "GET /admin/processes/<int:definition_id>/edit": "administrator",
    "GET /admin/processes/<int:definition_id>/decisions/<decision_id>": "administrator",
    "GET /admin/processes/<int:definition_id>/forms/<form_key>": "administrator",
    "GET /admin/instances/<int:instance_id>": "administrator",
    "GET /admin/instances": "administrator",
    "GET /admin/jobs": "administrator",
    "GET /admin/notifications": "administrator",
    "POST /admin/notifications/<int:delivery_id>/replay": "administrator",
    "POST /admin/notifications/notice": "administrator",
    "GET /admin/schedules": "administrator",
    "GET /admin/calendar": "administrator",
    "GET /admin/org": "administrator",
    "GET /admin/dashboard": "dashboard",
    "GET /admin/dashboard.xlsx": "dashboard",
    "GET /api/v1/dashboard/rollouts": "dashboard",
    "GET /api/v1/dashboard/rollouts/<int:instance_id>": "dashboard",
    "GET /api/v1/dashboard/rollouts/<int:instance_id>/export": "dashboard",
    "GET /api/v1/dashboard/monthly-checks": "dashboard",
    "GET /api/v1/dashboard/monthly-checks/export": "dashboard",
    "GET /api/v1/dashboard/overdue": "dashboard",
    "GET /api/v1/dashboard/overdue/export": "dashboard",
    "GET /api/v1/dashboard/counselling": "dashboard",
    "GET /api/v1/dashboard/counselling/export": "dashboard",
    "GET /oversight/monthly": "dashboard",
    "GET /oversight/monthly/<county>": "dashboard",
    "GET /api/v1/oversight/monthly": "dashboard",
    "GET /api/v1/oversight/monthly/<county>": "dashboard",
    "GET /appraisal": "signed_in",
    "GET /api/v1/appraisal/<school>": "ledger_reader",
    "GET /api/v1/appraisal/<school>/export": "ledger_reader",
    "GET /account/password": "signed_in",
    "POST /account/password": "signed_in",
    "GET /account/tokens": "signed_in",
    "POST /account/tokens": "signed_in",
    "POST /account/tokens/<int:token_id>/revoke": "signed_in",
    "GET /api/v1/tokens": "signed_in",
    "POST /api/v1/tokens": "signed_in",
    "DELETE /api/v1/tokens/<int:token_id>": "signed_in",
    "GET /admin/tokens": "administrator",
    "POST /admin/tokens/<int:token_id>/revoke": "administrator",
    "GET /admin/audit": "administrator",
    "GET /api/v1/audit": "administrator",
    "GET /api/v1/audit/case-reads": "mental_health_lead",
    "GET /counselling/reads": "mental_health_lead",
    "GET /api/v1/units/<unit_id>/documents": "register_reader",  # a unit's 发文登记簿: as an instance of the unit
    "GET /documents/<unit_id>": "register_reader",
    "GET /api/v1/counselling-rooms/<unit_id>": "counselling_room_reader",
    "GET /api/v1/counselling-rooms": "dashboard",
    "GET /notifications": "signed_in",
    "POST /notifications/<int:notification_id>/open": "signed_in",  # but only one's own (NOTIFICATIONS)
    "POST /notifications/read-all": "signed_in",
    "GET /api/v1/notifications": "signed_in",
    "GET /api/v1/notifications/unread-count": "signed_in",
    "POST /api/v1/notifications/<int:notification_id>/read": "signed_in",  # but only one's own
    "POST /api/v1/notifications/read-all": "signed_in",
    "GET /account/notifications": "signed_in",
    "POST /account/notifications": "signed_in",
    "GET /admin/notifications/defaults": "administrator",
    "POST /admin/notifications/defaults": "administrator",
}
#: Pages that are a shell for their script: they load for any id, the script's API calls then answer for it.
PAGE_SHELLS = {"GET /admin/processes/<int:definition_id>/edit",
               "GET /admin/processes/<int:definition_id>/forms/<form_key>"}
#: Dashboard calls whose ?county= chooses a county: none, 珠晖区 (own), 雁峰区 (other), one that does not exist.
COUNTY_FILTERED = {"GET /api/v1/dashboard/monthly-checks", "GET /api/v1/dashboard/monthly-checks/export",
                   "GET /api/v1/dashboard/overdue", "GET /api/v1/dashboard/overdue/export",
                   "GET /api/v1/dashboard/counselling", "GET /api/v1/dashboard/counselling/export",
                   "GET /api/v1/counselling-rooms"}
#: Bodies that stop a change after the gate (a missing or mistyped field), so the data stays as set up.
BODIES: dict[str, dict[str, Any]] = {
    "POST /login": {"data": {"username": "zhuhui-s001-bzr1", "password": "wrong password"}},
    "POST /api/v1/process-instances": {"json": {"process_key": 7}},
    "POST /start/<process_key>": {"json": {"org_scope": 7}},
    "POST /api/v1/saved-filters": {"json": {"filters": {}}},
    "POST /api/v1/tasks/<int:task_id>/comments": {"json": {"body": 7}},
    "POST /api/v1/tasks/<int:task_id>/complete": {"json": {"data": "not an object"}},
    "POST /api/v1/tasks/<int:task_id>/delegate": {"json": {"to": 7}},
    "POST /api/v1/tasks/<int:task_id>/reassign": {"json": {"to": 7}},
    "POST /api/v1/process-instances/<int:instance_id>/suspend": {"json": {"reason": 7}},
    "POST /api/v1/process-instances/<int:instance_id>/terminate": {"json": {"reason": 7}},
    "POST /api/v1/process-instances/<int:instance_id>/retry": {"json": {"variables": "not an object"}},
    "POST /api/v1/messages": {"json": {"name": 7}},
    "POST /api/v1/signals": {"json": {"name": 7}},
    "POST /api/v1/webhooks/messages/<name>": {"json": {"correlation_key": 7}},
    "POST /api/v1/webhooks": {"json": {"url": 7}},
    "POST /api/v1/webhooks/<int:subscription_id>/rotate-secret": {"json": {"secret": 7}},
    "PATCH /api/v1/org/people/<person_id>": {"json": {"email": 7}},
    "POST /api/v1/notifications": {"json": {"recipients": 7}},
    "POST /admin/notifications/notice": {"data": {"recipients": "", "subject": ""}},
    "PUT /api/v1/calendar/overrides/<day>": {"json": {"working": "yes"}},
    "PUT /api/v1/schedules/<key>": {"json": {"enabled": "yes"}},
    "PUT /api/v1/term-calendar": {"json": {"holiday_months": "thirteen"}},
    "POST /account/password": {"data": {"current_password": "x", "new_password": "short", "confirm_password": "x"}},
    "POST /account/tokens": {"data": {"name": ""}},
    "POST /account/notifications": {"data": {"quiet_mode": "own", "quiet_from": "25:00", "quiet_until": "07:00"}},
    "POST /admin/notifications/defaults": {"data": {"role": "no_such_role"}},
}
#: Signed-in calls whose answer is the same for everyone: another person's saved filter is as missing as none.
EXACT = {"DELETE /api/v1/saved-filters/<int:filter_id>": {404},
         "POST /api/v1/tokens": {403},  # the table calls the API with tokens, and a token makes no tokens
         # another person's notification (zhuhui-s001-bzr2's) is as missing as none, to everyone
         "POST /notifications/<int:notification_id>/open": {404},
         "POST /api/v1/notifications/<int:notification_id>/read": {404},
         }
#: A process's 发起 page is shown to whoever may start it somewhere and is as missing (404) to everyone else:
#: monthly_check_chase is started by a county's or the city's programme officer at a school below them.
STARTERS = {"GET /start/<process_key>": {"admin", "hy-zr", "zhuhui-zr"}}
#: Someone else's API token (zhuhui-s001-bzr2's, a live one for each row): as missing as none, except to the
#: administrator, who revokes any (and is asked last, so that everyone else is asked about a token still active).
FOREIGN_TOKEN = {"DELETE /api/v1/tokens/<int:token_id>", "POST /account/tokens/<int:token_id>/revoke",
                 "POST /admin/tokens/<int:token_id>/revoke"}
ADMIN_LAST = (*(role for role in ROLES if role != "admin"), "admin")
#: What a caller who passed the gate may get from a change: done, or refused for its input or the state of things.
CHANGE_ANSWERS = {200, 201, 302, 400, 409, 422}


@dataclass
class Table:
    """The app, its signed-in clients and the ids the cases use."""

    app: Flask
    tokens: dict[str, dict[str, str]]
    pages: dict[str | None, FlaskClient]
    params: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Table]:
    folder: Path = tmp_path_factory.mktemp("authorization")
    settings = Settings(database_url=f"sqlite:///{folder / 'huhua.db'}", data_dir=folder,
                        processes_dir=PROJECT / "processes", max_model_bytes=5 * 1024 * 1024, node_name="table",
                        login_account_limit=0, login_address_limit=0,  # the log-in row is tried by every role
                        outbound_allow=("127.0.0.1",),  # the table's webhook subscription points at this machine
                        metrics_token="the-table-scraper")  # /metrics on, for a scraper none of the roles is
    huhua = bootstrap(settings, clock=VirtualClock(START))
    try:
        yield _set_up(huhua)
    finally:
        huhua.close()


def _set_up(huhua: Huhua) -> Table:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    deploy_fixtures(huhua, "rollout_county.bpmn", "rollout_school.bpmn")
    # the scheduler starts the monthly checks (the engine's own path)
    own = huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="zhuhui-s001", origin=ENGINE))["id"]
    other = huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="yanfeng-s001",
                                        origin=ENGINE))["id"]
    # the city rollout's fan-out starts one county rollout per county (the engine's own path)
    rollouts = {county: huhua.execute(StartInstance("rollout_county", "admin", org_scope=county,
                                                    variables={"course": "班主任素养"}, origin=ENGINE))["id"]
                for county in ("zhuhui", "yanfeng")}
    run_due_jobs(huhua)
    tasks = {name: huhua.queries.instance(instance)["open_tasks"][0]["id"]
             for name, instance in (("own", own), ("other", other))}
    attachments = {name: huhua.execute(AddAttachment(task, "admin", "记录.pdf", b"%PDF-1.4\n%%EOF\n"))["id"]
                   for name, task in tasks.items()}
    with huhua.services.database.engine.begin() as connection:  # a circular each instance made
        documents = {name: connection.execute(insert(tables.document).values(
            instance_id=instance, name="通报.pdf", kind="circular", content_type="application/pdf", size=4,
            content=b"%PDF", created_at=datetime(2026, 3, 2, tzinfo=UTC)).returning(tables.document.c.id)).scalar_one()
            for name, instance in (("own", own), ("other", other))}
    with huhua.services.database.engine.begin() as connection:  # an e-mail that failed, for the administrator to replay
        delivery = connection.execute(insert(tables.notification_delivery).values(
            channel="email", target="someone@example.cn", batch_key="email:table", message_id="m" * 32,
            state="failed", attempts=5, due_at=datetime(2026, 3, 2, tzinfo=UTC),
            created_at=datetime(2026, 3, 2, tzinfo=UTC)).returning(tables.notification_delivery.c.id)).scalar_one()
    subscription = huhua.execute(AddWebhook("http://127.0.0.1:9/hooks", "admin", "task_created"))["id"]
    foreign_filter = huhua.execute(SaveFilter("zhuhui-s001-bzr2", "逾期", {"due": "overdue"}))["id"]
    foreign_notification = huhua.execute(NotifyPeople("admin", "message", "别人的通知", "正文",
                                                      ("zhuhui-s001-bzr2",)))["notifications"]["zhuhui-s001-bzr2"]
    foreign_tokens = {key: huhua.execute(CreateApiToken("zhuhui-s001-bzr2", "别人的令牌", "admin"))["id"]
                      for key in sorted(FOREIGN_TOKEN)}
    definition = next(d["id"] for d in huhua.queries.definitions(key="monthly_school_check"))
    huhua.execute(SetWorkday("2026-03-07", True, "admin", "调休"))  # an override for the administrator to remove
    params: dict[str, dict[str, Any]] = {
        "instance_id": {"own": own, "other": other, "missing": MISSING_ID},
        "rollout_id": {"own": rollouts["zhuhui"], "other": rollouts["yanfeng"], "missing": MISSING_ID},
        "task_id": {**tasks, "missing": MISSING_ID},
        "attachment_id": {**attachments, "missing": MISSING_ID},
        "document_id": {**documents, "missing": MISSING_ID},
        "unit_id": {"own": "zhuhui-s001", "other": "yanfeng-s001", "missing": "nowhere"},
        "person_id": {"existing": "zhuhui-s001-bzr1", "missing": "nobody-here"},
        "school": {"own": "zhuhui-s001", "other": "yanfeng-s001", "missing": "nowhere"},
        "county": {"own": "zhuhui", "other": "yanfeng", "missing": "nowhere"},
        "definition_id": {"existing": definition, "missing": MISSING_ID},
        "decision_id": {"existing": "monthly_check_items", "missing": "no_such_decision"},
        "form_key": {"existing": "monthly_check_class_teachers", "missing": "no_such_form"},
        "subscription_id": {"existing": subscription, "missing": MISSING_ID},
        "delivery_id": {"existing": delivery, "missing": MISSING_ID},
        "filter_id": {"existing": foreign_filter, "missing": MISSING_ID},  # another person's filter: as missing
        "notification_id": {"existing": foreign_notification, "missing": MISSING_ID},  # another's: as missing
        **{f"token_id {key}": {"existing": token, "missing": MISSING_ID}  # another person's token: as missing
           for key, token in foreign_tokens.items()},
        "key": {"existing": "monthly_check", "missing": "no_such_schedule"},  # config/schedules.toml
        "year": {"-": "2026"}, "day": {"-": "2026-03-07"}, "name": {"-": "plan_submitted"},
        "package": {"-": "form-js"}, "filename": {"-": "no-such-file.js"},
        "process_key": {"existing": "monthly_check_chase", "missing": "no_such_process"},
    }
    app = create_app(huhua, {"SECRET_KEY": "table", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    tokens, pages = {}, {}
    for role in ROLES:
        if role is None:
            pages[None] = app.test_client()
            continue
        tokens[role] = {"Authorization": f"Bearer {huhua.execute(CreateApiToken(role, '权限表', 'admin'))['token']}"}
        if role != "admin":
            huhua.execute(SetPassword(role, PASSWORD, "admin"))
        else:
            huhua.execute(SetPassword("admin", PASSWORD, "admin", is_admin=True))
        client = app.test_client()
        assert client.post("/login", data={"username": role, "password": PASSWORD}).status_code == 302, role
        pages[role] = client
    return Table(app, tokens, pages, params)


# --- the operations and their cases ----------------------------------------------------------------------------

def _operations(app: Flask) -> list[tuple[str, str, str]]:
    """(operation key, method, Flask rule) for every route the app serves."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((f"{method} {rule.rule}", method, rule.rule))
    return sorted(set(found))


def _cases(key: str, rule: str, params: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """(case, path) for an operation: own / other county and missing, or existing / missing, or one case."""
    names = re.findall(r"<(?:[\w]+:)?(\w+)>", rule)
    values = [params[_param(key, rule, name)] for name in names]
    cases = {case for value in values for case in value} or {"-"}
    for case in ("own", "other", "missing", "existing"):  # a scoped id decides; an unscoped one takes 'existing'
        if case in cases and not all(case in value or "existing" in value or "-" in value for value in values):
            cases.discard(case)
    if {"own", "other"} & cases:
        cases.discard("existing")
    found = []
    for case in sorted(cases):
        path = rule
        for name, value in zip(names, values, strict=True):
            chosen = value.get(case, value.get("existing", value.get("-")))
            path = re.sub(rf"<(?:[\w]+:)?{name}>", str(chosen), path)
        found.append((case, path))
    if key in COUNTY_FILTERED:
        found = [("-", rule), ("own", f"{rule}?county=zhuhui"), ("other", f"{rule}?county=yanfeng"),
                 ("missing", f"{rule}?county=nowhere")]
    return found


def _param(key: str, rule: str, name: str) -> str:
    """The ids a path parameter takes: a dashboard's instance is a rollout; each token row revokes its own token."""
    if name == "instance_id" and "/dashboard/" in rule:
        return "rollout_id"
    return f"token_id {key}" if name == "token_id" else name


def _expected(key: str, kind: str, role: str | None, case: str, method: str) -> set[int]:
    """The answers the table allows for ``role`` calling operation ``key`` in ``case``."""
    page = not key.split(" ", 1)[1].startswith("/api/")
    allowed = {200} if method == "GET" else CHANGE_ANSWERS
    if kind == "public":
        return set()  # checked apart: the same answer for everyone
    if kind == "metrics_scraper":
        return {401}  # a person is no scraper, whatever their session or token
    if role is None:
        return {302} if page else {401}
    if key in FOREIGN_TOKEN:
        if "/admin/" in key and role != "admin":
            return {403}
        if role != "admin" or case == "missing":
            return {404}
        return {302} if page else {200}
    if key in STARTERS:
        return allowed if case == "existing" and role in STARTERS[key] else {404}
    if kind == "signed_in":
        return EXACT.get(key, allowed)
    if kind == "mental_health_lead":
        return allowed if role in MENTAL_HEALTH_LEADS else {403}
    if kind == "administrator":
        if role != "admin":
            return {403}
        if case == "missing" and key not in PAGE_SHELLS:
            return {404} | (CHANGE_ANSWERS if method != "GET" else set())
        return allowed
    if kind == "counselling_room_reader":
        return allowed if role in ROOM_READERS[case] else {404}
    if kind == "dashboard":
        if role not in DASHBOARD_HOLDERS:
            return {403}
        return allowed if role in DASHBOARD_SEES[case] else {404}
    readers = READERS[case]
    if role not in readers:
        return {404}
    return allowed | {403} if kind == "task_actor" else allowed


def test_every_route_has_a_rule_a_row_here_and_an_openapi_operation(table: Table) -> None:
    with table.app.test_client() as client:
        document = client.get("/api/v1/openapi.json").json
    described = {((item.get("servers") or document["servers"])[0]["url"].rstrip("/") + path, method.upper())
                 for path, item in document["paths"].items() for method in item if method != "servers"}
    for key, method, rule in _operations(table.app):
        endpoint = next(r.endpoint for r in table.app.url_map.iter_rules() if r.rule == rule and method in r.methods)
        assert route_rule(endpoint) is not None, f"{key} ({endpoint}) has no rule in engine/access/policy.py"
        assert key in KINDS, f"{key} has no row in the authorization table"
        assert str(route_rule(endpoint)) == KINDS[key], (key, route_rule(endpoint), KINDS[key])
        if rule.startswith("/api/v1") or rule in ("/healthz", "/readyz"):
            path = re.sub(r"<(?:[\w]+:)?(\w+)>", r"{\1}", rule)
            assert (path, method) in described, f"{key} is missing from the OpenAPI document"


def test_the_table(table: Table) -> None:
    wrong: list[str] = []
    size = 0
    for key, method, rule in _operations(table.app):
        kind = KINDS[key]
        if key == "POST /logout":
            continue  # the last row: it ends the sessions the other rows use
        for case, path in _cases(key, rule, table.params):
            answers: dict[str | None, int] = {}
            for role in ADMIN_LAST if key in FOREIGN_TOKEN else ROLES:
                size += 1
                answers[role] = _call(table, role, method, path, key).status_code
                expected = _expected(key, kind, role, case, method)
                if kind != "public" and answers[role] not in expected:
                    wrong.append(f"{role or 'nobody'} {method} {path} [{case}]: {answers[role]}, "
                                 f"expected {sorted(expected)}")
            if kind == "public" and len(set(answers.values())) != 1:  # a gate would answer nobody differently
                wrong.append(f"{method} {path}: public, but answered {answers}")
    size += _log_out_rows(table, wrong)
    print(f"authorization table: {len(_operations(table.app))} operations, {len(ROLES)} roles, {size} cases")
    assert wrong == [], "\n".join(wrong)


def _call(table: Table, role: str | None, method: str, path: str, key: str) -> Any:
    body = dict(BODIES.get(key, {}))
    if key.startswith(("POST /api/v1/deployments", "POST /api/v1/process-models", "POST /api/v1/validate",
                       "POST /api/v1/org/imports",
                       "POST /api/v1/tasks/<int:task_id>/attachments")):
        body = {"data": {"nothing": (io.BytesIO(b""), "x.txt")}, "content_type": "multipart/form-data"}
    if path.startswith("/api/"):
        client = table.pages[None]
        return client.open(path, method=method, headers=table.tokens.get(role or "", {}), **body)
    return table.pages[role].open(path, method=method, **body)


def _log_out_rows(table: Table, wrong: list[str]) -> int:
    for role in ROLES:
        answer = table.pages[role].post("/logout")
        if answer.status_code != 302 or (role is not None and "/login" not in answer.headers["Location"]):
            wrong.append(f"{role or 'nobody'} POST /logout: {answer.status_code}")
        if role is not None and table.pages[role].get("/inbox").status_code != 302:
            wrong.append(f"{role} is still signed in after logging out")
    return len(ROLES)
