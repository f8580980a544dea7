"""Timer rules: a timer says when it fires, as an ISO-8601 literal the engine can read or as an expression.

Huhua reads a timer value that looks like an ISO-8601 literal as one (``PT5M``, ``R3/PT1H``,
``2025-09-01T08:00``) and evaluates anything else on the instance data. A value made only of the
characters ISO-8601 uses (upper-case designators, digits, ``-:/.,+``) is taken to be a literal and
must parse; anything with lower-case letters, quotes, brackets or spaces is an expression and is
left to run time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

from engine.bpmn.lint_rules.model import Element, LintModel, text_of
from engine.errors import Problem

_TIMER_VALUES = ("timeDate", "timeDuration", "timeCycle")
_LITERAL_ALPHABET = re.compile(r"^[0-9A-Z:.,+\-/]+$")
_NUMBER = r"\d+(?:[.,]\d+)?"
_DURATION = re.compile(rf"^P(?!$)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
                       rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?$")
_REPETITIONS = re.compile(r"^R\d*$")


def is_duration(text: str) -> bool:
    """An ISO-8601 duration (``P1Y2M3DT4H5M6S``, ``P2W``); weeks do not mix with other date parts."""
    if not _DURATION.match(text):
        return False
    date_part = text.split("T", 1)[0]
    return not ("W" in date_part and any(designator in date_part for designator in "YMD"))


def is_date_time(text: str) -> bool:
    """An ISO-8601 date or date and time, with or without an offset."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_cycle(text: str) -> bool:
    """``R[n]/duration``, ``R[n]/start/duration`` or ``R[n]/duration/end``."""
    parts = text.split("/")
    if not _REPETITIONS.match(parts[0]) or len(parts) not in (2, 3):
        return False
    if len(parts) == 2:
        return is_duration(parts[1])
    first, second = parts[1], parts[2]
    return (is_date_time(first) and is_duration(second)) or (is_duration(first) and is_date_time(second))


_PARSERS = {"timeDate": (is_date_time, "a date and time such as 2025-09-01T08:00:00"),
            "timeDuration": (is_duration, "a duration such as PT10M or P2D"),
            "timeCycle": (is_cycle, "a repetition such as R3/PT1H or R/2025-09-01T08:00:00/P1D")}


def looks_like_literal(text: str) -> bool:
    """Whether a timer value is written as an ISO-8601 literal rather than as an expression."""
    return bool(_LITERAL_ALPHABET.match(text))


def check_timer_definitions(model: LintModel) -> Iterator[Problem]:
    """EXT.013, EXT.131–EXT.134: a timer has exactly one value, and a literal value is valid ISO-8601."""
    for definition in model.by_kind["timerEventDefinition"]:
        owner = _owner(definition)
        values = model.children(definition, _TIMER_VALUES)
        if len(values) > 1:
            yield model.problem(definition, f"{model.describe(owner)} has a timer with {len(values)} values; give "
                                "exactly one of timeDate, timeDuration or timeCycle", "timer-value (EXT.131)")
            continue
        if not values or not text_of(values[0]):
            yield model.problem(definition, f"{model.describe(owner)} has a timer without a value; give a timeDate, "
                                "timeDuration or timeCycle", "timer-value (EXT.013)")
            continue
        yield from _check_value(model, owner, values[0])


def _check_value(model: LintModel, owner: Element, value: Element) -> Iterator[Problem]:
    text = text_of(value)
    if not looks_like_literal(text):
        return
    kind = value.tag.rpartition("}")[2]
    valid, example = _PARSERS[kind]
    if not valid(text):
        rule = {"timeDate": "EXT.132", "timeCycle": "EXT.133", "timeDuration": "EXT.134"}[kind]
        yield model.problem(value, f"{model.describe(owner)} has the {kind} '{text}', which is not an ISO-8601 "
                            f"literal; write {example}, or an expression", f"timer-value ({rule})")


def _owner(definition: Element) -> Element:
    owner = definition.getparent()
    return owner if owner is not None else definition
