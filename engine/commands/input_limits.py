"""Variables a caller hands to a command are bounded in depth and size before anything runs.

Start variables, task data, message payloads and retry variables end up in an instance's stored state
and are copied and serialized with every step, so 30 MiB or a thousand levels from one call would cost
every later command of that instance (or fail deep inside SpiffWorkflow). One check here covers every
entry point: the API, the CLI, inbound webhooks and the workers.
"""

from __future__ import annotations

from typing import Any

from engine.commands.requests import (
    CompleteTask,
    CorrelateMessage,
    ReceiveWebhook,
    RetryIncidents,
    StartInstance,
    ThrowSignal,
)
from engine.config import Settings
from engine.errors import InvalidInput, Problem, TooLarge
from engine.json_bounds import MAX_DEPTH, json_size, value_depth

#: The commands that take variables from a caller, and the field that holds them.
BOUNDED_FIELDS: dict[type, str] = {StartInstance: "variables", CompleteTask: "data", CorrelateMessage: "variables",
                                   ReceiveWebhook: "variables", RetryIncidents: "variables", ThrowSignal: "variables"}


def check_input(command: Any, settings: Settings) -> None:
    """InvalidInput (too deep) or TooLarge (too big), naming the field, for a command's caller-given variables."""
    name = BOUNDED_FIELDS.get(type(command))
    if name is None:
        return
    value = getattr(command, name)
    if value_depth(value) > MAX_DEPTH:
        raise InvalidInput(f"{name} is nested more than {MAX_DEPTH} levels deep",
                           [Problem("nested too deeply", field=name)])
    size, limit = json_size(value), settings.max_variables_bytes
    if size > limit:
        raise TooLarge(f"{name} is {size} bytes as JSON; at most {limit} are accepted (HUHUA_MAX_VARIABLES_BYTES)",
                       [Problem("too large", field=name)])
