"""How much of a confidential case, or of a process marked sensitive, a viewer may read: the cutting-down that the
task and instance families share (the rules themselves are engine.access.confidential's and .sensitivity's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.confidential import RECORD, at_least, case_access, is_confidential
from engine.access.sensitivity import sensitivity_of
from engine.errors import NotFound
from engine.phrases import Phrase
from engine.store.models import ProcessInstance


def case_level(session: Session, viewer: str | None, instance_id: int) -> str | None:
    """What ``viewer`` may read of a confidential case (None: not one, or no viewer given: everything);
    NotFound when nothing, as for a missing id."""
    if viewer is None or not is_confidential(session, instance_id):
        return None
    level = case_access(session, viewer, instance_id)
    if level is None:
        raise NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
    return level


def without_case_items(session: Session, viewer: str | None, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A multi-instance item of a process with sensitive data is kept for the task's own assignee, and in a
    confidential case for a reader of the record; anyone else (an administrator's list, say) sees none."""
    if viewer is None:
        return tasks
    allowed: dict[int, bool] = {}
    for task in tasks:
        if task["item"] is None or task["assignee"] == viewer:
            continue
        instance_id = task["instance_id"]
        if instance_id not in allowed:
            definition_id = session.scalar(select(ProcessInstance.definition_id)
                                           .where(ProcessInstance.id == instance_id))
            sensitivity = sensitivity_of(session, definition_id) if definition_id is not None else None
            allowed[instance_id] = sensitivity is None or (
                at_least(case_access(session, viewer, instance_id), RECORD) if sensitivity.confidential
                else not sensitivity.variables)
        if not allowed[instance_id]:
            task["item"] = None
    return tasks

