"""Who may start a process by hand, and where: the rule a process declares, and its answer for one person.

A process declares the rule on its ``bpmn:process`` element, in ``spiffworkflow:properties``:

- ``start_roles``: the roles (codes or Chinese names, comma-separated) whose holders may start it;
- ``start_tier``: where, relative to the unit at which the starter holds such a role: ``own`` (that unit),
  ``below`` (any unit under it) or both, ``own|below``; ``own`` when left out;
- ``start_units``: the unit kinds an instance may run for (``city``, ``county``, ``school``,
  ``teaching_point`` …), for everyone, administrators included; any kind when left out;
- ``start_by``: ``schedule``, ``fan_out``, ``message``, ``timer`` or ``call``: the engine starts it by itself (a call
  activity runs it inside its caller), and nobody starts it by hand, administrators included.

A process that names no ``start_roles`` is started by administrators only; one whose start events all
wait for a message, signal or timer is never started by hand. The rule answers only for people: the
scheduler, a fan-out and thrown messages start instances through the engine's own path.

Start variables from a person are those the process's start form declares (the ``formKey`` of its none
start event), checked like a task form; :data:`ENGINE_KEYS` and a reported process's figures are the
engine's, and never come from a caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.org.directory import ROLES, UNIT_KINDS, role_code

#: The ways the engine starts a process by itself, and what a person is told instead.
STARTED_BY = {
    "schedule": "the scheduler starts it (config/schedules.toml)",
    "fan_out": "its parent process starts it, one instance per unit (fan-out)",
    "message": "a message starts it",
    "timer": "its timer start event starts it",
    "call": "a calling process runs it inside its own instance (bpmn:callActivity)",
}
TIERS = ("own", "below")
#: Start variables only the engine sets: a fan-out's unit and role holders, a schedule's fire time and the
#: month a report covers. A start form that declares one of them still cannot take it from a person.
ENGINE_KEYS = frozenset({"people", "unit", "scheduled_for", "late", "month"})


class Reason(StrEnum):
    """Why a start is allowed or refused."""

    ADMINISTRATOR = "administrator"
    ROLE_IN_REACH = "role_in_reach"
    NOT_BY_HAND = "not_by_hand"
    ADMINISTRATORS_ONLY = "administrators_only"
    NO_START_ROLE = "no_start_role"
    OUT_OF_REACH = "out_of_reach"
    WRONG_UNIT_KIND = "wrong_unit_kind"
    NO_SCOPE = "no_scope"


@dataclass(frozen=True)
class StartRule:
    """A process's declaration: who may start it by hand, where, and whether anyone may at all."""

    roles: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset({"own"})
    unit_kinds: frozenset[str] = frozenset()
    #: How the engine starts it when nobody may by hand (a key of :data:`STARTED_BY`), else None.
    started_by: str | None = None
    #: The message or signal names of its start events, for the refusal.
    trigger_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Holding:
    """A role the starter holds at a unit (the unit's ``path``, ``/city:hy/county:zhuhui/``)."""

    role: str
    unit_path: str


@dataclass(frozen=True)
class Scope:
    """The unit an instance would run for."""

    id: str
    kind: str
    path: str


@dataclass(frozen=True)
class StartDecision:
    allowed: bool
    reason: Reason
    message: str


def start_rule(properties: Mapping[str, str], triggers: Iterable[tuple[str, str, str]] = (),
               has_none_start: bool = True) -> StartRule:
    """The rule a process declares (``properties`` of its ``bpmn:process``), given its start events.

    Raises ValueError naming the property when the declaration cannot be read (see :func:`rule_problems`).
    """
    problems = rule_problems(properties)
    if problems:
        raise ValueError("; ".join(problems))
    triggers = list(triggers)
    started_by = properties.get("start_by", "").strip() or None
    if started_by is None and not has_none_start and triggers:
        started_by = "timer" if all(kind == "timer" for kind, _, _ in triggers) else "message"
    return StartRule(
        roles=frozenset(code for code in (role_code(r) for r in _split(properties.get("start_roles"))) if code),
        tiers=frozenset(_split(properties.get("start_tier"))) or frozenset({"own"}),
        unit_kinds=frozenset(_split(properties.get("start_units"))),
        started_by=started_by,
        trigger_names=tuple(name for kind, name, _ in triggers if kind != "timer"))


def rule_problems(properties: Mapping[str, str]) -> list[str]:
    """What is wrong with a process's start declaration, each naming the property; empty when it can be used."""
    problems = [f"start_roles: '{r}' is not a role ({', '.join(ROLES)})"
                for r in _split(properties.get("start_roles")) if role_code(r) is None]
    problems += [f"start_tier: '{t}' is not one of {', '.join(TIERS)}"
                 for t in _split(properties.get("start_tier")) if t not in TIERS]
    problems += [f"start_units: '{k}' is not a unit kind ({', '.join(UNIT_KINDS)})"
                 for k in _split(properties.get("start_units")) if k not in UNIT_KINDS]
    started_by = properties.get("start_by", "").strip()
    if started_by and started_by not in STARTED_BY:
        problems.append(f"start_by: '{started_by}' is not one of {', '.join(STARTED_BY)}")
    if started_by and _split(properties.get("start_roles")):
        problems.append(f"start_by: a process started by {started_by} names no start_roles")
    return problems


def may_start(rule: StartRule, *, administrator: bool, holdings: Iterable[Holding],
              scope: Scope | None) -> StartDecision:
    """Whether a person may start a process under ``rule`` for the unit ``scope`` (None: no unit).

    ``holdings`` are the roles the person holds, each at its unit; ``scope`` must be an existing unit (the
    caller looks it up and refuses an unknown id first).
    """
    if rule.started_by is not None:
        names = f" ({', '.join(rule.trigger_names)})" if rule.trigger_names else ""
        return StartDecision(False, Reason.NOT_BY_HAND,
                             f"this process is not started by hand: {STARTED_BY[rule.started_by]}{names}")
    if rule.unit_kinds and (scope is None or scope.kind not in rule.unit_kinds):
        kinds = ", ".join(sorted(rule.unit_kinds))
        if scope is None:
            return StartDecision(False, Reason.NO_SCOPE,
                                 f"name the unit it runs for (org_scope), a unit of kind {kinds}")
        return StartDecision(False, Reason.WRONG_UNIT_KIND,
                             f"this process runs for a unit of kind {kinds}; {scope.id} is a {scope.kind}")
    if administrator:
        return StartDecision(True, Reason.ADMINISTRATOR, "an administrator may start it")
    if not rule.roles:
        return StartDecision(False, Reason.ADMINISTRATORS_ONLY, "only administrators may start this process")
    held = [h for h in holdings if h.role in rule.roles]
    roles = ", ".join(sorted(rule.roles))
    if not held:
        return StartDecision(False, Reason.NO_START_ROLE, f"only a holder of {roles} may start this process")
    if scope is None:
        return StartDecision(False, Reason.NO_SCOPE, "name the unit it runs for (org_scope)")
    if any(_reaches(h.unit_path, scope.path, rule.tiers) for h in held):
        return StartDecision(True, Reason.ROLE_IN_REACH, f"{scope.id} is within the reach of the starter's {roles}")
    where = " or ".join({"own": "their own unit", "below": "a unit under it"}[t] for t in TIERS if t in rule.tiers)
    return StartDecision(False, Reason.OUT_OF_REACH,
                         f"{scope.id} is not yours: a {roles} may start this process at {where}")


def trusted_keys(reported: Iterable[str] = ()) -> frozenset[str]:
    """Start variables no caller may set: the engine's keys and the figures a report reads for the process."""
    return ENGINE_KEYS | frozenset(reported)


def _reaches(holder_path: str, scope_path: str, tiers: frozenset[str]) -> bool:
    if scope_path == holder_path:
        return "own" in tiers
    return "below" in tiers and bool(holder_path) and scope_path.startswith(holder_path)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").replace("|", ",").split(",") if part.strip()]
