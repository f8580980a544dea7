"""发起事项: the pages where a person starts the work they may start by hand (issue 13, review M6).

The list shows what :meth:`~engine.queries.Queries.startable` answers for the person; each process's page shows
its description, the unit(s) it may be started for and its start form (form-js). Submitting sends the unit and
the form's data here, and the start goes through the same :class:`~engine.commands.StartInstance` command the
API and the CLI use, so the start rule and the start form are checked on the server, whatever the page offered.
The person is then taken to their first task of the new instance (claimed for them, so its form opens), or, when
its first step is someone else's, to a confirmation saying who has it now.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ClaimTask, StartInstance
from engine.errors import Conflict, Forbidden, HuhuaError, InvalidInput, NotFound
from engine.form_dates import with_resolved_ranges
from engine.web import calls
from engine.web.error_language import say

starting = Blueprint("starting", __name__)
#: Where the confirmation of the last start waits for its page (the session, so a reload shows it again).
STARTED = "started"
#: The most next steps the confirmation names (the session cookie carries them, by id).
MAX_STEPS = 10


@starting.get("/start")
def start_list() -> Any:
    """Every process the person may start, grouped by the tier it runs at."""
    found = _huhua().queries.startable(_me())
    titles = {"city": gettext("全市事项"), "county": gettext("县市区事项"), "school": gettext("学校事项")}
    groups = [{"tier": tier, "title": title, "processes": [p for p in found if p["group"] == tier]}
              for tier, title in titles.items()]  # the widest tier first, as engine.queries.starting orders them
    for process in found:
        process["summary"] = _first_sentence(process["description"])
    return render_template("start_list.html", groups=[g for g in groups if g["processes"]])


@starting.get("/start/<process_key>")
def start_form(process_key: str) -> Any:
    """One process: what it does, for which unit, and its start form; 404 when the person may not start it."""
    process = _startable(process_key)
    if process is None:
        abort(404)
    schema = None
    if process["form_key"]:
        try:
            schema = _huhua().queries.definition_form(process["definition_id"], process["form_key"])["schema"]
        except NotFound:  # named by the model but never deployed: the command takes no variables either
            schema = None
    today = _huhua().clock.now().astimezone(BUSINESS_TZ).date()  # date ranges as ISO dates, as on the task page
    return render_template("start_form.html", process=process, schema=with_resolved_ranges(schema, today))


@starting.post("/start/<process_key>")
def start_submit(process_key: str) -> Any:
    """Start the process for the chosen unit with the start form's data (JSON ``{org_scope, variables}``).

    Answers ``{location}`` — the person's first task, else the confirmation — or the refusal, in Chinese: 403
    when the person may not start it for that unit, 404 for a process they may not start (as the page answers),
    or a process or unit that does not exist, 400 with each problem at its field (``problems[].field``) when
    the body or the form's data is refused. Nothing is started on a refusal.
    """
    try:  # the API's checks: too deep, not JSON, NUL or lone surrogates are refused before anything is read
        body = calls.json_body()
    except InvalidInput as err:
        problems = [{"field": _form_field(p.field), "message": say(p.message)} for p in err.problems if p.field]
        return _refusal(400, gettext("请求格式有误（%(reason)s），未发起。", reason=say(err.message)), problems)
    if not request.get_data(cache=True):
        return _refusal(400, gettext("请求格式有误，未发起。"))
    org_scope, variables = body.get("org_scope"), body.get("variables", {})
    if org_scope is not None and not isinstance(org_scope, str):
        return _refusal(400, gettext("请选择单位。"), [{"field": "org_scope", "message": gettext("请选择单位")}])
    if not isinstance(variables, dict):
        return _refusal(400, gettext("表单数据有误，未发起。"))
    huhua, me = _huhua(), _me()
    name = _process_name(huhua, process_key)
    try:
        started = huhua.execute(StartInstance(process_key, me, variables=variables, org_scope=org_scope or None))
    except Forbidden as err:
        if not any(p.field == "org_scope" for p in err.problems):  # not theirs to start: unseen, as on GET
            return _refusal(404, gettext("找不到该事项，未发起。"))
        return _refusal(403, gettext("您不能为该单位发起“%(name)s”，未发起。", name=name))
    except NotFound as err:
        if any(p.field == "org_scope" for p in err.problems):
            return _refusal(404, gettext("找不到该单位，未发起。"),
                            [{"field": "org_scope", "message": gettext("找不到该单位")}])
        return _refusal(404, gettext("找不到该事项，未发起。"))
    except InvalidInput as err:
        problems = [{"field": p.field, "message": p.message} for p in err.problems if p.field]
        return _refusal(400, gettext("表单中有 %(num)s 处需要修改，未发起。", num=len(err.problems) or 1), problems)
    except HuhuaError as err:
        current_app.logger.warning("start of %s by %s refused: %s", process_key, me, err.message)
        return _refusal(err.status, gettext("暂时无法发起“%(name)s”，请联系管理员。", name=name))
    following = huhua.queries.started_next(me, int(started["id"]))
    if following["mine"] is not None:
        _take(huhua, following["mine"], me)
        return jsonify({"location": url_for("inbox.task", task_id=following["mine"])})
    session[STARTED] = {"process": process_key, "unit": following["unit"],
                        "steps": following["steps"][:MAX_STEPS], "ended": started.get("state") == "completed"}
    return jsonify({"location": url_for("starting.started")})


@starting.get("/start/started")
def started() -> Any:
    """The confirmation of the person's last start: what was started and who has its first step now.

    The session (a signed, readable cookie) keeps ids only; the names of units and people are looked up here."""
    kept = session.get(STARTED)
    if not isinstance(kept, dict) or "process" not in kept:  # none yet, or kept by an older version of this page
        return render_template("start_done.html", confirmation=None)
    huhua = _huhua()
    named = huhua.queries.offered_names(kept["unit"], kept["steps"])
    name = _process_name(huhua, kept["process"])
    steps = [{"task": step["task"], "who": gettext("；").join(_who(each) for each in step["who"])}
             for step in named["steps"]]
    return render_template("start_done.html", confirmation={"name": name, "unit": named["unit"], "steps": steps,
                                                            "ended": kept["ended"]})


@starting.app_context_processor
def _start_entry_points() -> dict[str, Any]:
    """Pages offer the 发起 entry points to whoever may start something: the header's link and the inbox's button
    (asked once per request), and the names of what they may start in an empty inbox."""
    def may_start_something() -> bool:
        if not current_user.is_authenticated:
            return False
        if "may_start" not in g:
            g.may_start = _huhua().queries.may_start_something(_me())
        return bool(g.may_start)

    def startable_processes() -> list[dict[str, str]]:
        if not may_start_something():
            return []
        return [{"key": p["key"], "name": p["name"]} for p in _huhua().queries.startable(_me())]

    return {"may_start_something": may_start_something, "startable_processes": startable_processes}


def _take(huhua: Huhua, task_id: int, me: str) -> None:
    """The starter's first task is theirs to do now: claimed for them when it is offered to a pool they are in,
    so the page opens on its form. A colleague who claimed it meanwhile keeps it (the task page then says so)."""
    with suppress(Conflict, Forbidden):
        huhua.execute(ClaimTask(task_id, me))


def _who(offered: dict[str, Any]) -> str:
    """Whom a task is offered to, as a person reads it: 专项负责人 · 珠晖区第二小学（李明）, three names of many."""
    names = offered["people"]
    people = gettext("、").join(names[:3])
    if len(names) > 3:
        people = gettext("%(people)s 等 %(num)s 人", people=people, num=len(names))
    if "role" not in offered:
        return people
    where = f"{offered['role']} · {offered['unit']}"
    return gettext("%(where)s（%(people)s）", where=where, people=people) if people else where


def _process_name(huhua: Huhua, process_key: str) -> str:
    return next((name for key, name in huhua.queries.process_names() if key == process_key), process_key)


def _form_field(field: str) -> str:
    """A field of the body as the page names it: the start form's fields without ``variables.``."""
    return field.removeprefix("variables.")


def _startable(process_key: str) -> dict[str, Any] | None:
    return next(iter(_huhua().queries.startable(_me(), process_key)), None)


def _refusal(status: int, message: str, problems: list[dict[str, Any]] | None = None) -> Any:
    return jsonify({"error": "not_started", "message": message, "problems": problems or []}), status


def _first_sentence(text: str) -> str:
    head, mark, _ = text.partition("。")
    return head + mark


def _me() -> str:
    return str(current_user.id)


def _huhua() -> Huhua:
    return current_app.extensions["huhua"]
