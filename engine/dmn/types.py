"""DMN's type references: FEEL's base types under their DMN and XML Schema names, and a value's conformance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.feel import kind

#: a type reference (``number``, ``feel:string``, ``dateTime`` …) → FEEL's name of the base type
BASE_TYPES = {"number": "number", "string": "string", "boolean": "boolean", "date": "date",
              "dateTime": "date and time", "date and time": "date and time", "time": "time",
              "dayTimeDuration": "days and time duration", "days and time duration": "days and time duration",
              "yearMonthDuration": "years and months duration",
              "years and months duration": "years and months duration", "context": "context", "list": "list",
              "function": "function", "Any": "Any"}


def base_type(type_ref: str) -> str | None:
    """FEEL's base type named by ``type_ref``, None for a name that is not a base type (an item definition)."""
    return BASE_TYPES.get(type_ref.strip().removeprefix("feel:"))


def base_check(name: str) -> Callable[[Any], bool]:
    """Whether a (non-null) value is of FEEL base type ``name``."""
    if name == "Any":
        return lambda value: True
    return lambda value: value is not None and kind(value) == name
