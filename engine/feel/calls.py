"""Invoking a FEEL function value with positional or named arguments."""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from typing import Any

from engine.feel.errors import FeelNull
from engine.feel.scope import Run
from engine.feel.values import Function


def invoke(function: Any, run: Run, positional: Sequence[Any] = (), named: Mapping[str, Any] | None = None) -> Any:
    """``function(…)``: arguments matched to parameters, missing optional ones null; raises ``FeelNull`` when
    the function does not accept them or fails."""
    if not isinstance(function, Function):
        raise FeelNull("not a function")
    if named is not None:
        arguments = _by_name(function, named)
    else:
        arguments = list(positional)
        most = max(len(params) for params in (function.params, *function.overloads))
        if len(arguments) < function.required or (len(arguments) > most and not function.variadic):
            raise FeelNull(f"{function.name}() takes {len(function.params)} arguments, got {len(arguments)}")
    try:
        return function.call(run, *arguments)
    except FeelNull:
        raise
    except (TypeError, ValueError, ArithmeticError, OverflowError, decimal.DecimalException, IndexError,
            KeyError, AttributeError) as error:
        raise FeelNull(f"{function.name}(): {error}") from None


def _by_name(function: Function, named: Mapping[str, Any]) -> list[Any]:
    for params in (function.params, *function.overloads):
        if set(named) <= set(params):
            required = function.required if params is function.params else len(params)
            missing = [name for name in params[:required] if name not in named]
            if missing:
                continue
            arguments = [named.get(name) for name in params]
            while arguments and params[len(arguments) - 1] not in named:
                arguments.pop()
            return arguments
    raise FeelNull(f"{function.name}() does not take the parameters {', '.join(sorted(named))}")
