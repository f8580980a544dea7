"""Where names are looked up during one evaluation, and that evaluation's bookkeeping (warnings, call depth)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.feel.errors import FeelLimitExceeded, FeelNull

#: user-defined function calls nested deeper than this make the evaluation null
MAX_CALL_DEPTH = 48
#: loop iterations and function calls one evaluation may take
MAX_STEPS = 1_000_000
_MISSING = object()


class Run:
    """One evaluation: the warnings it collects, how deep its calls are, and the moment ``now()`` reads."""

    __slots__ = ("depth", "now", "steps", "warnings")

    def __init__(self, warnings: list[str] | None = None, now: datetime | None = None) -> None:
        self.warnings = warnings if warnings is not None else []
        self.depth = 0
        self.steps = 0
        self.now = now

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise FeelLimitExceeded(f"the evaluation took more than {MAX_STEPS} steps")

    def warn(self, message: str) -> None:
        if len(self.warnings) < 100:
            self.warnings.append(message)

    def enter(self) -> None:
        self.step()
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            self.depth -= 1
            raise FeelLimitExceeded(f"functions nested deeper than {MAX_CALL_DEPTH} calls")


class Scope:
    """A frame of names over its parent; the outermost frame's parent is the built-in library."""

    __slots__ = ("names", "parent", "run")

    def __init__(self, names: Mapping[str, Any], parent: Scope | None, run: Run) -> None:
        self.names, self.parent, self.run = names, parent, run

    def child(self, names: Mapping[str, Any]) -> Scope:
        return Scope(names, self, self.run)

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            value = scope.names.get(name, _MISSING)
            if value is not _MISSING:
                return value
            scope = scope.parent
        raise FeelNull(f"no variable named {name!r}")

    def defines(self, name: str) -> bool:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return True
            scope = scope.parent
        return False
