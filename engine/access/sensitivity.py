"""What a process model marks confidential: read from the deployed BPMN, once per process version.

A process declares it in its own extension properties (``bpmn:process/bpmn:extensionElements``):

- ``confidentiality`` names the rule that decides who reads its instances (``counselling``: see
  :mod:`engine.access.confidential`); a process without it follows the general rules.
- ``sensitiveVariables`` lists, comma-separated, the data variables that only a reader with record access
  may see; everyone else gets the instance with those variables left out (API, pages, exports, CLI).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select

from engine.bpmn.safe_xml import parse_xml
from engine.store import tables

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_d, _r = tables.process_definition, tables.deployment_resource
#: Asked whenever an instance is read: built once (building a statement costs more than SQLite running it).
_VERSION = select(_d.c.key, _d.c.content_hash, _d.c.deployment_id, _d.c.resource_name).where(
    _d.c.id == bindparam("definition_id"))
#: Deployed models are read as they were accepted at deployment; this only bounds a parse.
_MAX_MODEL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Sensitivity:
    """A process version's confidentiality rule (None: the general rules) and its sensitive variables."""

    confidentiality: str | None = None
    variables: frozenset[str] = frozenset()

    @property
    def confidential(self) -> bool:
        return self.confidentiality is not None


PLAIN = Sensitivity()
#: By the process's content hash: a version's model never changes, and the same model reads the same.
_cache: dict[tuple[str, str], Sensitivity] = {}
_lock = threading.Lock()


def sensitivity_of(connection: Any, definition_id: int) -> Sensitivity:
    """What the process version ``definition_id`` marks confidential (PLAIN for an unknown version);
    ``connection`` is a SQLAlchemy Session or Connection, or a command's unit of work (read without a lock)."""
    run = getattr(connection, "read", None) or connection.execute
    row = run(_VERSION, {"definition_id": definition_id}).first()
    if row is None:
        return PLAIN
    with _lock:
        known = _cache.get((row.key, row.content_hash))
    if known is not None:
        return known
    content = run(select(_r.c.content).where(_r.c.deployment_id == row.deployment_id,
                                                            _r.c.name == row.resource_name)).scalar()
    found = model_sensitivity(bytes(content), row.key, row.resource_name) if content is not None else PLAIN
    with _lock:
        _cache[(row.key, row.content_hash)] = found
    return found


def model_sensitivity(content: bytes, process_key: str, filename: str = "model.bpmn") -> Sensitivity:
    """The marks of process ``process_key`` in a BPMN file."""
    tree = parse_xml(content, filename, _MAX_MODEL_BYTES)
    properties: dict[str, str] = {}
    for process in tree.getroot().iter(f"{{{BPMN}}}process"):
        if process.get("id") != process_key:
            continue
        for extensions in process.findall(f"{{{BPMN}}}extensionElements"):
            for prop in extensions.iter(f"{{{SPIFF}}}property"):
                properties[prop.get("name") or ""] = prop.get("value") or ""
    confidentiality = properties.get("confidentiality", "").strip() or None
    names = frozenset(n.strip() for n in properties.get("sensitiveVariables", "").split(",") if n.strip())
    return Sensitivity(confidentiality, names)


def redact(data: dict[str, Any], sensitivity: Sensitivity) -> dict[str, Any]:
    """``data`` without the variables the model marks sensitive."""
    return {key: value for key, value in data.items() if key not in sensitivity.variables}
