"""The notifications outbox: the events of one commit that may tell somebody something become one job.

Who is to be told takes reading the directory (role holders, a colleague's name, the units a document went to),
which the command that caused the events should not pay for: the events are written into one ``notify_event``
job in the same transaction, and a worker resolves the recipients later
(:mod:`engine.commands.telling`). A command with nothing to tell pays one look at each of its events.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

#: The job kind that turns a commit's events into notifications.
EVENT_JOB = "notify_event"
#: The events that may tell a person something: a task offered, assigned, claimed, given back, delegated,
#: reassigned; a document issued.
TELLING = frozenset({"task_created", "task_assigned", "task_claimed", "task_unclaimed", "task_delegated",
                     "task_reassigned", "document_issued"})


def outbox_job(events: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The ``notify_event`` job row for the telling ones among a commit's buffered ``events`` (None: none)."""
    telling = [event for event in events if event["kind"] in TELLING]
    if not telling:
        return None
    kept = [{"kind": event["kind"], "instance_id": event["instance_id"], "task_id": event["task_id"],
             "element_id": event["element_id"], "actor": event["actor"], "detail": event["detail"]}
            for event in telling]  # the detail stays the JSON text it is: read by the worker, not here
    return {"kind": EVENT_JOB, "instance_id": None, "spiff_task_id": None, "element_id": None, "due_at": now,
            "state": "pending", "attempts": 0, "created_at": now,
            "payload": json.dumps({"events": kept}, ensure_ascii=False)}
