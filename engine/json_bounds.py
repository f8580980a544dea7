"""How deep and how large JSON from outside may be, checked without recursion.

Variables travel into SpiffWorkflow's serializer, deep copies and the database; each of them recurses, so a
few hundred nested lists from a caller would end in a RecursionError deep inside a command. Depth is
therefore bounded where JSON comes in (the raw request body, scanned before it is parsed) and again where
a command takes variables (the CLI and the workers call commands too); size is bounded as stored JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Nesting no form or model needs (a form's data is a few levels deep), well below Python's recursion limit.
MAX_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def text_depth(raw: bytes) -> int:
    """The deepest nesting of brackets in JSON text (strings skipped), without parsing it."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def value_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """The nesting depth of parsed JSON, stopping once it exceeds ``limit``."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def json_size(value: Any) -> int:
    """Bytes of ``value`` as stored (compact UTF-8 JSON); call after :func:`value_depth` has bounded the depth."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))
