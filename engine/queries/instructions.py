"""Where a task's instructions are read from: the BPMN its process version was deployed with, parsed once per
set of BPMN files. See :mod:`engine.end_user_instructions`."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import select

from engine.bpmn.safe_xml import parse_xml
from engine.end_user_instructions import instructions_in
from engine.store import tables

#: Deployed models were accepted at deployment; this only bounds a parse.
_MAX_MODEL_BYTES = 64 * 1024 * 1024
_d, _r = tables.process_definition, tables.deployment_resource
#: By the contents of a deployment's BPMN files: element id → [(process id, template)].
_cache: dict[tuple[str, ...], dict[str, list[tuple[str, str]]]] = {}
_lock = threading.Lock()
_CACHE_SIZE = 256


def instructions_of(session: Any, definition_id: int, process_key: str | None, element_id: str) -> str | None:
    """The instructions template of task ``element_id`` in process version ``definition_id`` (``process_key``: the
    called process the task waits in, if any); None when it has none."""
    row = session.execute(select(_d.c.key, _d.c.deployment_id).where(_d.c.id == definition_id)).first()
    if row is None:
        return None
    candidates = _deployment_instructions(session, row.deployment_id).get(element_id, [])
    if not candidates and process_key and process_key != row.key:  # a called process deployed on its own
        deployment = session.execute(select(_d.c.deployment_id).where(_d.c.key == process_key)
                                     .order_by(_d.c.version.desc()).limit(1)).scalar()
        candidates = _deployment_instructions(session, deployment).get(element_id, []) if deployment else []
    for wanted in (process_key, row.key):
        for process_id, text in candidates:
            if process_id == wanted:
                return text
    return candidates[0][1] if candidates else None


def _deployment_instructions(session: Any, deployment_id: int) -> dict[str, list[tuple[str, str]]]:
    files = session.execute(select(_r.c.name, _r.c.sha256).where(
        _r.c.deployment_id == deployment_id, _r.c.name.like("%.bpmn")).order_by(_r.c.name)).all()
    key = tuple(sha256 for _name, sha256 in files)
    with _lock:
        known = _cache.get(key)
    if known is not None:
        return known
    found: dict[str, list[tuple[str, str]]] = {}
    for name, content in session.execute(select(_r.c.name, _r.c.content).where(
            _r.c.deployment_id == deployment_id, _r.c.name.like("%.bpmn")).order_by(_r.c.name)):
        for element_id, entries in instructions_in(parse_xml(bytes(content), name, _MAX_MODEL_BYTES)).items():
            found.setdefault(element_id, []).extend(entries)
    with _lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.clear()
        _cache[key] = found
    return found
