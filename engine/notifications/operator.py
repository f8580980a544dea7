"""The ``notify`` service-task operator: a model tells people something, through :func:`~.planning.notify`.

```xml
<bpmn:serviceTask id="remind_setup" name="报送催办">
  <bpmn:extensionElements>
    <spiffworkflow:serviceTaskOperator id="notify" resultVariable="setup_reminder">
      <spiffworkflow:parameters>
        <spiffworkflow:parameter id="kind" type="str" value="'reminder'"/>
        <spiffworkflow:parameter id="to_task_holders" type="str" value="'launch_school_setup'"/>
        <spiffworkflow:parameter id="subject" type="str" value="'催办：{{ task_title }}'"/>
        <spiffworkflow:parameter id="body" type="str" value="'请于 {{ task_due }} 前完成。'"/>
        <spiffworkflow:parameter id="link_task" type="str" value="'launch_school_setup'"/>
      </spiffworkflow:parameters>
    </spiffworkflow:serviceTaskOperator>
  </bpmn:extensionElements>
</bpmn:serviceTask>
```

Parameters are expressions like every operator's. Recipients, any combination: ``to_roles`` (``"principal,
programme_officer@county"``: roles at tiers relative to the instance's unit, as ``candidateRoles``), ``to_people``
(person ids: a list or a comma-separated text) and ``to_task_holders`` (the id of a user task of this instance:
whoever holds, or is offered, its open tasks now). ``subject`` and ``body`` are message templates over the task's
data (:mod:`.templates`) plus ``unit_name``, ``task_title`` and ``task_due`` (the linked or held task's).
``link_task`` links the message to that open task; ``urgent`` overrides the kind (``crisis`` is urgent).
The engine runs it in one command (:mod:`engine.commands.notify_step`); its result is how many were told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPERATOR = "notify"
#: The kinds a model may send (the others are the engine's own occasions).
MODEL_KINDS = ("reminder", "escalation", "crisis", "message")
RECIPIENT_PARAMETERS = ("to_roles", "to_people", "to_task_holders")
TEMPLATE_PARAMETERS = ("subject", "body")
#: The most people one step may tell (a county's officers and every school's head fit easily).
MAX_RECIPIENTS = 5_000


class NotifyRefused(Exception):
    """The step's parameters cannot be used: the message names the parameter."""


@dataclass(frozen=True)
class NotifyRequest:
    kind: str
    subject: str
    body: str
    to_roles: str
    to_people: tuple[str, ...]
    to_task_holders: str | None
    link_task: str | None
    urgent: bool | None


def read_request(params: dict[str, Any]) -> NotifyRequest:
    """The evaluated parameters of a ``notify`` step, checked; :class:`NotifyRefused` names what is wrong."""
    kind = params.get("kind")
    if kind not in MODEL_KINDS:
        raise NotifyRefused(f"parameter 'kind' is {kind!r}; a notify task's kind is one of {', '.join(MODEL_KINDS)}")
    to_roles = params.get("to_roles") or ""
    if not isinstance(to_roles, str):
        raise NotifyRefused("parameter 'to_roles' is a text such as 'principal, programme_officer@county'")
    people = params.get("to_people") or ()
    if isinstance(people, str):
        people = [part.strip() for part in people.split(",") if part.strip()]
    if not isinstance(people, list | tuple) or not all(isinstance(p, str) and p for p in people):
        raise NotifyRefused("parameter 'to_people' gives person ids: a list of texts, or one text separated by commas")
    holders = params.get("to_task_holders") or None
    link = params.get("link_task") or None
    for name, value in (("to_task_holders", holders), ("link_task", link)):
        if value is not None and not isinstance(value, str):
            raise NotifyRefused(f"parameter '{name}' is the id of a user task of this process")
    if not to_roles.strip() and not people and holders is None:
        raise NotifyRefused("a notify task needs recipients: 'to_roles', 'to_people' or 'to_task_holders'")
    texts = {}
    for name in TEMPLATE_PARAMETERS:
        value = params.get(name)
        if not isinstance(value, str) or not value.strip():
            raise NotifyRefused(f"parameter '{name}' is a message template (a text)")
        texts[name] = value
    urgent = params.get("urgent")
    if urgent is not None and not isinstance(urgent, bool):
        raise NotifyRefused("parameter 'urgent' is True or False")
    return NotifyRequest(kind, texts["subject"], texts["body"], to_roles, tuple(dict.fromkeys(people)), holders,
                         link, urgent)
