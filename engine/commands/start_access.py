"""A start by a person, checked: the process's declaration (:mod:`engine.access.starting`), the unit it
runs for, and the start variables against the process's start form.

Starts by the engine itself (the scheduler, a fan-out, a thrown message) do not come here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.access.starting import Holding, Reason, Scope, may_start, rule_problems, start_rule, trusted_keys
from engine.bpmn.parser import CompiledProcess, ProcessSummary
from engine.clock import BUSINESS_TZ
from engine.commands.administrators import is_administrator
from engine.commands.figures import REPORTED
from engine.commands.requests import StartInstance
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Forbidden, InvalidInput, InvalidModel, NotFound, Problem
from engine.forms import Form, parse_form
from engine.phrases import Phrase
from engine.store import tables

_u, _r, _f, _a = tables.org_unit, tables.role_assignment, tables.form_definition, tables.definition_artifact
_WHERE = (Reason.OUT_OF_REACH, Reason.WRONG_UNIT_KIND, Reason.NO_SCOPE)


def authorise_start(uow: UnitOfWork, command: StartInstance, compiled: CompiledProcess,
                    definition_id: int) -> dict[str, Any]:
    """The start variables a person may start ``compiled`` with, after checking they may start it there.

    Refuses (nothing is started) with NotFound for an unknown ``org_scope``, Forbidden when the process is
    not theirs to start there or not started by hand at all, and InvalidInput naming each variable that is
    not a field of the start form, is wrong for its field, or is one the engine sets.
    """
    try:
        rule = start_rule(compiled.properties, compiled.start_triggers, compiled.has_none_start)
    except ValueError as err:
        raise InvalidModel(f"process '{compiled.key}' declares who may start it wrongly: {err}",
                           [Problem(str(err), element_id=compiled.key)]) from None
    scope = _scope(uow, command.org_scope)
    decision = may_start(rule, administrator=is_administrator(uow, command.actor),
                         holdings=_holdings(uow, command.actor), scope=scope)
    if not decision.allowed:
        field = "org_scope" if decision.reason in _WHERE else "process_key"
        raise Forbidden(f"{command.actor} may not start '{compiled.key}': {decision.message}",
                        [Problem(decision.message, field=field)])
    return _start_variables(uow, compiled, definition_id, command.variables)


def check_scheduled_variables(uow: UnitOfWork, compiled: CompiledProcess, definition_id: int,
                              variables: dict[str, Any]) -> None:
    """Refuse (InvalidInput naming each) start variables a schedule gives that the process's start form would not
    take from a person: the scheduler starts through the engine's path, so its variables are checked when an
    administrator sets them."""
    _start_variables(uow, compiled, definition_id, variables)


def refuse_bad_start_rules(summaries: list[ProcessSummary]) -> None:
    """Refuse a deployment whose processes declare who may start them in a way the rule cannot read."""
    problems = [Problem(f"who may start it: {problem}", file=s.filename, element_id=s.key)
                for s in summaries for problem in rule_problems(s.properties)]
    if problems:
        raise InvalidModel("the model was refused; nothing was deployed", problems)


def _scope(uow: UnitOfWork, org_scope: str | None) -> Scope | None:
    if org_scope is None:
        return None
    row = uow.read(select(_u.c.id, _u.c.kind, _u.c.path).where(_u.c.id == org_scope)).first()
    if row is None:
        raise NotFound(f"org_scope: no unit '{org_scope}' in the org directory",
                       [Problem("no such unit (give a unit id, such as zhuhui-s001)", field="org_scope")])
    return Scope(row.id, row.kind, row.path)


def _holdings(uow: UnitOfWork, person: str) -> list[Holding]:
    rows = uow.read(select(_r.c.role, _u.c.path).join(_u, _u.c.id == _r.c.unit_id).where(_r.c.person_id == person))
    return [Holding(row.role, row.path) for row in rows]


def _start_variables(uow: UnitOfWork, compiled: CompiledProcess, definition_id: int,
                     variables: dict[str, Any]) -> dict[str, Any]:
    reported = REPORTED.get(compiled.key)
    trusted = trusted_keys((reported.period, reported.score, reported.band) if reported else ())
    problems = [Problem(f"'{key}' is set by the engine, never by whoever starts the process", field=key)
                for key in variables if key in trusted]
    if problems:
        raise InvalidInput(f"{len(problems)} start variable(s) may not be given; nothing was started", problems)
    form = _start_form(uow, definition_id, compiled.start_form)
    if form is None:
        if variables:
            raise InvalidInput(f"process '{compiled.key}' has no start form, so it takes no start variables",
                               [Problem(f"'{key}' is not a start variable of {compiled.key}", field=key)
                                for key in variables])
        return {}
    variables = form.without_read_only(variables)  # a start form shows nothing of a process not yet begun
    problems = form.check(variables, today=uow.now.astimezone(BUSINESS_TZ).date())
    if problems:
        raise InvalidInput(Phrase("the start form %(form)s has %(count)s problem(s); nothing was started",
                                  form=form.name, count=len(problems)), problems)
    return variables  # fields left out stay out: the model's own default applies (unlike a task's form)


def _start_form(uow: UnitOfWork, definition_id: int, form_key: str | None) -> Form | None:
    """The start form the process version was deployed with (the newest, when it was deployed before it);
    None when the process names none, or names one that is not deployed."""
    if form_key is None:
        return None
    pinned = uow.read(select(_a.c.form_version).where(
        _a.c.definition_id == definition_id, _a.c.kind == "form", _a.c.artifact_key == form_key)).scalar()
    query = select(_f.c.content, _f.c.sha256).where(_f.c.form_key == form_key)
    query = query.where(_f.c.version == pinned) if pinned is not None else query.order_by(_f.c.version.desc())
    row = uow.read(query.limit(1)).first()
    if row is None:  # named but never deployed: nothing declares a start variable
        return None
    cache = uow.services.forms
    form = cache.get(row.sha256)
    if form is None:
        form = cache[row.sha256] = parse_form(f"{form_key}.form.json", row.content.encode("utf-8"))
    return form
