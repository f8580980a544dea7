"""Starting instances, delivering messages to them, and firing their timers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update

from engine.access.messages import MessageSender, deliverable, message_sender
from engine.access.starting import trusted_keys
from engine.commands.acting import acting_person_of
from engine.commands.administrators import is_administrator
from engine.commands.event_routing import persist_and_route, start_through
from engine.commands.fan_out_state import fan_out_result
from engine.commands.figures import REPORTED
from engine.commands.instance_state import (
    InstanceRecord,
    compiled_definition,
    load_instance,
    require_json_object,
    require_label,
    run_step,
)
from engine.commands.outside_starts import OutsideEvent, own_unit, refuse_outside_variables, startable
from engine.commands.payload_correlation import PayloadCorrelation, payload_correlation
from engine.commands.requests import (
    ENGINE,
    PERSON,
    CorrelateMessage,
    FireTimer,
    RaiseServiceError,
    RunHeldTask,
    StartInstance,
)
from engine.commands.start_access import authorise_start
from engine.commands.unit_of_work import UnitOfWork
from engine.errors import Conflict, InvalidInput, InvalidModel, NotFound, Problem, StaleVersion
from engine.phrases import Phrase
from engine.runtime.correlation import variable_names
from engine.runtime.execution import Incident
from engine.runtime.migration import element_names
from engine.runtime.script_environment import acting_person, remember_initiator
from engine.store import tables

_d, _i, _j, _m, _u = (tables.process_definition, tables.process_instance, tables.job, tables.message_subscription,
                      tables.org_unit)
_LATEST_DEFINITION = (select(_d.c.id).where(_d.c.key == bindparam("key"))
                      .order_by(_d.c.version.desc()).limit(1))
_LOAD_JOB = select(_j).where(_j.c.id == bindparam("id"))
_CLAIM_JOB = (update(_j).where(_j.c.id == bindparam("job_id"), _j.c.state == "pending")
              .values(state="done", attempts=_j.c.attempts + 1))


#: The most instances one message may be delivered to in one command (one transaction).
MAX_DELIVERIES = 1000


def latest_definition_id(uow: UnitOfWork, key: str) -> int | None:
    """The id of the newest version of process ``key`` (read from the (key, version) unique index)."""
    return uow.read(_LATEST_DEFINITION, {"key": key}).scalar()


def start_instance(command: StartInstance, uow: UnitOfWork) -> dict[str, Any]:
    """Start an instance: a person's start is checked against the process's start rule and start form first."""
    if command.origin not in (PERSON, ENGINE):
        raise InvalidInput(f"origin must be {PERSON} or {ENGINE}", [Problem("unknown origin", field="origin")])
    return begin_instance(uow, command)


def begin_instance(uow: UnitOfWork, command: StartInstance, *, timer_start: str | None = None,
                   parent_instance_id: int | None = None) -> dict[str, Any]:
    """Start an instance within the caller's transaction (a start, or a scheduled start with its fire log).

    A person's start (``origin`` PERSON) is checked first against the process's start rule, its unit and its
    start form (:func:`~engine.commands.start_access.authorise_start`), and starts with the checked variables;
    the engine's own starts (scheduler, fan-out) pass ``origin=ENGINE``. ``timer_start`` names a timer start
    event the scheduler found due: the instance starts through it.
    """
    variables = require_json_object(command.variables, "variables")
    require_label(command.business_key, "business_key", 200)
    require_label(command.org_scope, "org_scope", 100)
    require_label(command.actor, "actor", 100)
    latest = uow.services.latest_definitions
    definition_id = latest.get(command.process_key) or latest_definition_id(uow, command.process_key)
    if definition_id is None:
        known = uow.read(select(func.distinct(_d.c.key)).order_by(_d.c.key)).scalars().all()
        raise NotFound(f"no process with key '{command.process_key}' is deployed",
                       [Problem(f"deployed keys: {', '.join(known) or '(none)'}", field="process_key")])
    compiled = compiled_definition(uow, definition_id)
    if command.origin != ENGINE:
        variables = authorise_start(uow, command, compiled, definition_id)
    runtime = uow.runtime
    try:
        workflow = runtime.create(compiled, variables)
    except Incident as failure:
        raise InvalidModel(f"process '{command.process_key}' cannot start: {failure.message}",
                           [Problem(failure.message, element_id=failure.element_id)]) from None
    person = acting_person_of(uow, command.actor) if command.origin != ENGINE else None
    remember_initiator(workflow, person or acting_person_of(uow, command.actor))
    with acting_person(person):  # a person's start: scripts of the first steps see them in get_current_user()
        if timer_start is not None:
            incident = run_step(lambda: runtime.fire_start_timer(workflow, timer_start))
        else:
            incident = run_step(lambda: runtime.advance(workflow))
    record = InstanceRecord(id=0, definition_id=definition_id, process_key=command.process_key,
                            business_key=command.business_key, org_scope=command.org_scope, state="running",
                            version=0, waits=None, workflow_state=None, started_by=command.actor,
                            parent_instance_id=parent_instance_id)
    latest[command.process_key] = definition_id
    return persist_and_route(uow, record, workflow, incident, command.actor, new=True)


def correlate_message(command: CorrelateMessage, uow: UnitOfWork) -> dict[str, Any]:
    """Deliver a message from outside to the waiting instance(s) found through the subscription index, or, when
    none waits, start a process that starts with it (:func:`_start_by_message`).

    Correlation is exact: with a key, only subscriptions with that key; without one, by the model's correlation
    properties read from the payload (:mod:`engine.commands.payload_correlation`) when its catches declare them,
    else only catches that declare ``keylessMessages``. Only instances the caller may deliver to count
    (:mod:`engine.access.messages`); the others are as if they did not wait, so a refusal changes nothing and
    reveals nothing.
    """
    variables = require_json_object(command.variables, "variables")
    require_label(command.actor, "actor", 100)
    sender = message_sender(uow, command.actor, administrator=is_administrator(uow, command.actor))
    waiting = (select(_m.c.instance_id, _m.c.spiff_task_id, _m.c.element_id, _m.c.accepts, _m.c.correlation_key,
                      _i.c.definition_id)
               .join(_i, _i.c.id == _m.c.instance_id).outerjoin(_u, _u.c.id == _i.c.org_scope)
               .where(_m.c.kind == "message", _m.c.message_name == command.message_name,
                      deliverable(uow, sender, command.message_name)))
    by_payload = payload_correlation(uow, waiting, variables) if command.correlation_key is None else None
    if command.correlation_key is not None:
        query = waiting.where(_m.c.correlation_key == command.correlation_key)
    elif by_payload is not None and by_payload.keys:
        query = waiting.where(_m.c.correlation_key.in_(sorted(set(by_payload.keys.values()))))
    else:
        query = waiting.where(_m.c.keyless.is_(True))
    subscriptions = uow.read(query.order_by(_m.c.id).limit(MAX_DELIVERIES + 1)).all()
    if by_payload is not None and by_payload.keys:
        subscriptions = [s for s in subscriptions if by_payload.matches(s)]
    if not subscriptions:
        started = _start_by_message(uow, command, sender, variables)
        if started is not None:
            return started
        _refuse_unmatched(command, by_payload)
    if len(subscriptions) > MAX_DELIVERIES:
        raise Conflict(f"more than {MAX_DELIVERIES} waiting tasks match message '{command.message_name}'; "
                       "give a correlation key")
    if len(subscriptions) > 1 and not command.deliver_to_all:
        raise Conflict(f"{len(subscriptions)} waiting tasks match message '{command.message_name}'; "
                       "give a correlation key, or deliver to all")
    correlating = by_payload.names if by_payload is not None and by_payload.keys else frozenset()
    _refuse_trusted_keys(uow, variables, {subscription.instance_id for subscription in subscriptions})
    _refuse_undeclared_keys({k: v for k, v in variables.items() if k not in correlating}, subscriptions)
    delivered = []
    seen: set[int] = set()
    for subscription in subscriptions:
        if subscription.instance_id in seen:
            continue  # one delivery per instance; its other subscriptions are re-read after the move
        seen.add(subscription.instance_id)
        loaded = load_instance(uow, subscription.instance_id)
        omit = correlating - set(variable_names(subscription.accepts or ""))
        uow.record("message_received", instance_id=loaded.record.id, element_id=subscription.element_id,
                   actor=command.actor, message=command.message_name,
                   correlation_key=command.correlation_key if by_payload is None else subscription.correlation_key)
        incident = run_step(lambda s=subscription, w=loaded.workflow, o=omit: uow.runtime.deliver_message(
            w, s.spiff_task_id, variables, omit=o))
        delivered.append(persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor))
    return {"message": command.message_name, "delivered": len(delivered),
            "delivered_to": delivered if sender.names_instances else []}


def _start_by_message(uow: UnitOfWork, command: CorrelateMessage, sender: MessageSender,
                      variables: dict[str, Any]) -> dict[str, Any] | None:
    """A message no instance waits for starts the newest version of a process whose start event catches it, where
    the caller may start that process (the first by process key: a message has one receiver); its correlation key
    becomes the business key. None when no such process is in the caller's reach."""
    starts = startable(uow, sender, "message", command.message_name, own_unit(uow, sender))[:1]
    if not starts:
        return None
    refuse_outside_variables(uow, variables, [], starts, "message")
    trigger, org_scope = starts[0]
    instance = start_through(uow, trigger, OutsideEvent(dict(variables)), command.actor,
                             business_key=command.correlation_key, org_scope=org_scope, hops=1)
    uow.record("message_received", instance_id=instance["id"], element_id=trigger.element_id, actor=command.actor,
               message=command.message_name)
    return {"message": command.message_name, "delivered": 0, "delivered_to": [], "started": 1,
            "started_instances": [instance] if sender.names_instances else []}


def _refuse_unmatched(command: CorrelateMessage, by_payload: PayloadCorrelation | None) -> None:
    """The answer when no waiting instance matches: which key was looked for, or what the payload lacks."""
    name = command.message_name
    if command.correlation_key is not None:
        raise NotFound(f"no instance waits for message '{name}' with key '{command.correlation_key}'")
    if by_payload is not None and by_payload.keys:
        raise NotFound(Phrase("no instance waits for message '%(name)s' whose correlation properties match the "
                              "payload (%(keys)s)", name=name, keys=by_payload.described()),
                       [Problem(Phrase("no waiting instance has these values"), field="variables")])
    if by_payload is not None and by_payload.problems:
        raise InvalidInput(Phrase("message '%(name)s' is correlated by its correlation properties, and the payload "
                                  "does not give them: %(problems)s", name=name, problems=list(by_payload.problems)),
                           [Problem(Phrase("give the correlation properties' values (or a correlation key)"),
                                    field="variables")])
    raise NotFound(f"no instance waits for message '{name}' without a key (give a correlation key)")


def _refuse_trusted_keys(uow: UnitOfWork, variables: dict[str, Any], instance_ids: set[int]) -> None:
    """A message from outside brings its own data, never what the engine keeps or a report reads as a fact (the
    keys a start may not be given either: people, unit, month, a monthly check's score, band and period …)."""
    keys = uow.read(select(func.distinct(_i.c.process_key)).where(_i.c.id.in_(instance_ids))).scalars().all()
    figures = [name for key in keys if (reported := REPORTED.get(key)) is not None
               for name in (reported.period, reported.score, reported.band)]
    trusted = trusted_keys(figures)
    problems = [Problem(f"'{key}' is set by the engine, never by a message from outside", field=f"variables.{key}")
                for key in variables if key in trusted]
    if problems:
        raise InvalidInput(f"{len(problems)} variable(s) may not be sent; nothing was delivered", problems)


def _refuse_undeclared_keys(variables: dict[str, Any], subscriptions: Sequence[Any]) -> None:
    """A message from outside brings only what its catch declares (``messageVariables``), so a sender allowed
    to object cannot also rewrite the instance's other data (an award list, a score, a reviewer)."""
    problems = []
    for key in variables:
        refusing = sorted({s.element_id for s in subscriptions if key not in variable_names(s.accepts or "")})
        if refusing:
            problems.append(Problem(f"'{key}' is not among the variables {', '.join(refusing)} takes from a "
                                    "message (its messageVariables)", field=f"variables.{key}"))
    if problems:
        raise InvalidInput(f"{len(problems)} variable(s) may not be sent; nothing was delivered", problems)


def fire_timer(command: FireTimer, uow: UnitOfWork) -> dict[str, Any]:
    job = uow.read(_LOAD_JOB, {"id": command.job_id}).first()
    if job is None:
        raise NotFound(f"job {command.job_id} does not exist")
    if job.state != "pending" or job.due_at > uow.now:
        return {"job_id": job.id, "fired": False, "state": job.state}
    loaded = load_instance(uow, job.instance_id)
    incident = run_step(lambda: uow.runtime.fire_timers(loaded.workflow))
    if uow.execute(_CLAIM_JOB, {"job_id": job.id}).rowcount != 1:  # the first write: claimed after the move
        raise StaleVersion(f"job {job.id} was taken by someone else")
    uow.record("timer_fired", instance_id=loaded.record.id, element_id=job.element_id, actor=command.actor,
               job_id=job.id, due_at=job.due_at.isoformat(), name=element_names(loaded.compiled).get(job.element_id))
    return {"job_id": job.id, "fired": True,
            "instance": persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor)}


def run_held_task(command: RunHeldTask, uow: UnitOfWork) -> dict[str, Any]:
    """Release a service task (with the result its worker got) or an asynchronous continuation, and move on."""
    held = held_job(uow, command.job_id, command.actor)
    if isinstance(held, dict):
        return held
    job, loaded = held
    result = fan_out_result(uow, job.instance_id, job.spiff_task_id) if job.kind == "fanout_done" else command.result
    if command.documents:
        stored = store_documents(uow, job.instance_id, str((result or {}).get("template", "document")),
                                 command.documents)
        result = {**(result or {}), "documents": stored}
        uow.record("documents_made", instance_id=job.instance_id, element_id=job.element_id, actor=command.actor,
                   documents=stored)
    return release_held_job(uow, job, loaded, result, command.actor)


def raise_service_error(command: RaiseServiceError, uow: UnitOfWork) -> dict[str, Any]:
    """Throw a service task's connector failure as the BPMN error of its code, where the model catches it."""
    held = held_job(uow, command.job_id, command.actor)
    if isinstance(held, dict):
        return {**held, "caught": False}
    job, loaded = held
    if job.kind != "service" or not uow.runtime.catches_error(loaded.workflow, job.spiff_task_id, command.error_code):
        return {"job_id": job.id, "caught": False}
    incident = run_step(lambda: uow.runtime.throw_error(loaded.workflow, job.spiff_task_id, command.error_code,
                                                        command.details))
    if uow.execute(_CLAIM_JOB, {"job_id": job.id}).rowcount != 1:
        raise StaleVersion(f"job {job.id} was taken by someone else")
    uow.record("service_error_caught", instance_id=loaded.record.id, element_id=job.element_id, actor=command.actor,
               job_id=job.id, error_code=command.error_code, message=str(command.details.get("message", ""))[:500])
    return {"job_id": job.id, "caught": True,
            "instance": persist_and_route(uow, loaded.record, loaded.workflow, incident, command.actor)}


def held_job(uow: UnitOfWork, job_id: int, actor: str) -> tuple[Any, Any] | dict[str, Any]:
    """The pending service or continuation job and its loaded instance; or the answer when there is nothing to
    release (the job ran already, or its task stopped waiting: then the job is cancelled)."""
    job = uow.read(_LOAD_JOB, {"id": job_id}).first()
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    if job.state != "pending" or job.kind not in ("service", "continuation", "fanout_done"):
        return {"job_id": job.id, "ran": False, "state": job.state}
    loaded = load_instance(uow, job.instance_id)
    if not uow.runtime.holds(loaded.workflow, job.spiff_task_id):
        # The task stopped waiting (a deadline interrupted it) after this job was written: nothing to release.
        uow.execute(update(_j).where(_j.c.id == job.id, _j.c.state == "pending").values(state="cancelled"))
        uow.record("job_dropped", instance_id=job.instance_id, element_id=job.element_id, actor=actor,
                   job_id=job.id, reason="the task no longer waits for it")
        return {"job_id": job.id, "ran": False, "state": "cancelled"}
    return job, loaded


def store_documents(uow: UnitOfWork, instance_id: int, kind: str, documents: Any) -> list[dict[str, Any]]:
    """Insert generated files (``Rendered``) as the instance's documents; their ids and names."""
    return [{"id": uow.execute(insert(tables.document).values(
        instance_id=instance_id, name=d.name[:300], kind=kind[:60], content_type=d.content_type, content=d.content,
        size=len(d.content), created_at=uow.now,
    ).returning(tables.document.c.id)).scalar_one(), "name": d.name} for d in documents]


def release_held_job(uow: UnitOfWork, job: Any, loaded: Any, result: Any, actor: str) -> dict[str, Any]:
    """Run the held task with ``result``, mark its job done and write the instance's new state."""
    incident = run_step(lambda: uow.runtime.release(loaded.workflow, job.spiff_task_id, result))
    if uow.execute(_CLAIM_JOB, {"job_id": job.id}).rowcount != 1:
        raise StaleVersion(f"job {job.id} was taken by someone else")
    kind = {"service": "service_called", "continuation": "continuation_ran", "fanout_done": "fan_out_done"}[job.kind]
    uow.record(kind, instance_id=loaded.record.id, element_id=job.element_id, actor=actor, job_id=job.id,
               name=element_names(loaded.compiled).get(job.element_id or ""))
    return {"job_id": job.id, "ran": True,
            "instance": persist_and_route(uow, loaded.record, loaded.workflow, incident, actor)}
