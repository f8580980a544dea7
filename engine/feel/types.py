"""``instance of`` and typed parameters: a FEEL type expression compiled to a predicate on values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from lark import Tree

from engine.feel import semantics
from engine.feel.values import Function, Range

Check = Callable[[Any], bool]

#: types named by the caller while a text compiles (a DMN model's item definitions)
NAMED_TYPES: ContextVar[Mapping[str, Check]] = ContextVar("NAMED_TYPES", default=MappingProxyType({}))

_SIMPLE = {"number", "string", "boolean", "date", "time", "date and time", "days and time duration",
           "years and months duration", "list", "context", "function", "range"}


def type_check(tree: Tree, name_of: Callable[[Tree], str]) -> Check:
    """A predicate for the type ``tree`` (``number``, ``list<string>``, ``context<a: number>``, …)."""
    if tree.data == "function_any":
        return lambda value: isinstance(value, Function)
    if tree.data == "function_type":
        return lambda value: isinstance(value, Function)
    name = name_of(tree.children[0])
    if tree.data == "simple_type":
        if name == "Any":
            return lambda value: value is not None
        if name == "Null":
            return lambda value: value is None
        if name in _SIMPLE:
            return lambda value: value is not None and semantics.kind(value) == name
        named = NAMED_TYPES.get().get(name)
        if named is not None:
            return lambda value: value is not None and named(value)
        return lambda value: False
    if tree.data == "generic_type":
        inner = [type_check(child, name_of) for child in tree.children[1:] if isinstance(child, Tree)]
        if name == "list" and len(inner) == 1:
            return lambda value: isinstance(value, list) and all(inner[0](item) for item in value)
        if name == "range" and len(inner) == 1:
            return lambda value: isinstance(value, Range) and all(
                inner[0](end) for end in (value.start, value.end) if end is not None)
        return lambda value: False
    fields = [(name_of(field.children[0]), type_check(field.children[1], name_of))
              for field in tree.children[1:] if isinstance(field, Tree)]
    if name == "context":
        return lambda value: isinstance(value, dict) and all(
            key in value and (value[key] is None or check(value[key])) for key, check in fields)
    return lambda value: False
