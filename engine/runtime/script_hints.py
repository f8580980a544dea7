"""What to write instead: the replacement each refused or failing construct of a script names.

Models written for spiff-arena call helpers and modules that scripts here do not have
(``get_group_members()``, ``json.loads``, ``datetime.utcnow()``), and read dict keys as attributes
(``payload.x``, which spiff-arena's ``DotDict`` allows). A bare "not defined" or "not available"
leaves the modeller guessing; these texts say what to write. The same words serve the check at
deploy time (``script_policy``) and the errors of a running script (``scripting``).
"""

from __future__ import annotations

import ast
import decimal
import re

from engine.phrases import Phrase
from engine.runtime.script_environment import MAX_DECIMAL_EXPONENT

_DIRECTORY = "people and groups are not read from scripts; give the task to a lane, a role or candidateGroups"
_LINKS = ("links to tasks are made by the inbox and the notifications, not by scripts; remove the call (each task "
          "is linked to its page there)")
_INSTANCE = "scripts see the task data only; pass what they need in as data (a form field, a call activity's input)"
_ADMIN = ("administration is done with the huhua command or the operations pages, not by scripts; remove the call "
          "and do it there")

#: spiff-arena helpers and modules (by the name scripts use) that are not offered here, and what to write instead.
UNOFFERED: dict[str, str] = {
    "get_secret": "secrets are not given to scripts (the task data would keep them); a service task's connector "
                  "takes its credentials from config/connectors.toml",
    "set_secret": "secrets are kept in configuration (config/connectors.toml), not set by scripts",
    "get_localtime": "write now() instead: now() and datetime.now() already give Beijing time with its zone",
    "get_frontend_url": _LINKS, "get_url_for_task": _LINKS, "get_url_for_task_with_bpmn_identifier": _LINKS,
    "markdown_file_download_link": _LINKS,
    "get_group_members": _DIRECTORY, "get_groups_for_user": _DIRECTORY, "get_user": _DIRECTORY,
    "get_user_properties": _DIRECTORY, "set_user_properties": _DIRECTORY, "get_task_potential_owners": _DIRECTORY,
    "get_users_assigned_to_task": _DIRECTORY,
    "get_task_data_value": _INSTANCE,
    "get_toplevel_process_info": _INSTANCE, "get_process_info": _INSTANCE, "get_data_sizes": _INSTANCE,
    "get_encoded_file_data": "attachments are kept with the task, not in the task data",
    "update_task_data_with_dictionary": "assign the values: data['key'] = value",
    "extract_from_task_data": "read the value: data['key']",
    "times_executed_by_user": _INSTANCE, "user_has_started_instance": _INSTANCE,
    "refresh_permissions": _ADMIN, "get_all_permissions": _ADMIN, "set_feature_flags": _ADMIN,
    "delete_process_instances_with_criteria": _ADMIN, "create_unique_kkv_top_level_key": _ADMIN,
    "fact_service": "a service is called by a service task through a connector; move the call into one",
    "generate_markdown_table": "build the text with an f-string and '\\n'.join(...)",
    "decimal": "write Decimal('1.5') (Decimal is there without an import)",
    "json": "the task data is already data: read d['key'] and build dicts and lists directly",
    "pytz": "now() and datetime.now() already give Beijing time with its zone",
    "timezone": "now() and datetime.now() already give Beijing time with its zone",
    "random": "scripts give the same result when run again, so there is no random: use the instance's business key "
              "for an identifier, or take a choice from a form field or a service task",
    "spiffworkflow_backend": "spiff-arena's own modules are not there; " + _INSTANCE,
    "uuid": "scripts give the same result when run again; use the instance's business key or a form field",
    "re": "use the methods of texts: split, startswith, endswith, replace, isdigit",
    "calendar": "use date methods: d.weekday(), d.isocalendar(), and timedelta for arithmetic",
    "dateparser": "write datetime.strptime(text, '%Y-%m-%d') or datetime.fromisoformat(text)",
    "format": "write an f-string: f'{value:.2f}'",
    "print": "scripts have no output; put what you want to see in the task data",
    "os": "scripts cannot reach the server; read configuration through get_env()",
    "sleep": "a script cannot wait; model the wait with a timer event",
}

#: Attributes refused with the replacement they name (the reasons say why).
REPLACED_ATTRIBUTES: dict[str, str] = {
    "utcnow": "datetime.utcnow() is not available (it reads the wall clock and drops the zone); "
              "write now() or datetime.now(): the engine's clock, in Beijing time with its zone",
    "utcfromtimestamp": "datetime.utcfromtimestamp() is not available (it drops the zone); write now() for the "
                        "engine's time, and keep times as ISO text (datetime.fromisoformat)",
    "today": "'.today' is not available (it reads the wall clock); write today(): the engine's date",
    "sleep": "time.sleep() is not available: a script cannot wait; model the wait with a timer event",
    "monotonic": "time.monotonic() is not available; write time.time() (the engine's clock)",
    "perf_counter": "time.perf_counter() is not available; write time.time() (the engine's clock)",
}

_IMPORT_HINT = ("imports are not allowed; datetime, date, timedelta, time, Decimal, floor and ceil are there "
                "without one (json, re, random and other modules are not available)")


def import_refusal(node: ast.Import | ast.ImportFrom) -> Phrase:
    """Why an import is refused, naming what a script has instead."""
    names = [alias.name for alias in node.names]
    module = node.module if isinstance(node, ast.ImportFrom) else None
    first = module or (names[0] if names else "")
    hint = UNOFFERED.get(first.split(".")[0])
    if hint is not None:
        return Phrase("imports are not allowed ('%(module)s'): %(hint)s", module=first, hint=Phrase(hint))
    return Phrase(_IMPORT_HINT)


def unoffered_name_refusal(name: str) -> Phrase | None:
    """For a spiff-arena helper or module scripts here lack: the refusal naming what to write instead."""
    hint = UNOFFERED.get(name)
    if hint is None:
        return None
    return Phrase("'%(name)s' is not available in scripts (spiff-arena has it, Huhua does not): %(hint)s",
                  name=name, hint=Phrase(hint))


def replaced_attribute_refusal(name: str) -> Phrase | None:
    """For ``.utcnow``, ``.today``, ``.sleep`` ...: the refusal naming the replacement."""
    hint = REPLACED_ATTRIBUTES.get(name)
    return Phrase(hint) if hint is not None else None


def dict_key_refusal(receiver: ast.expr, name: str) -> Phrase:
    """``payload.x`` (spiff-arena reads dict keys as attributes): say to write ``payload['x']``."""
    return Phrase("attribute '.%(name)s' is not available in scripts; to read the key '%(name)s' of a dict "
                  "write %(suggestion)s", name=name, suggestion=_subscript(_source(receiver), name))


def explained_name_error(err: NameError) -> NameError:
    """A NameError of a running script, with what to write when the name is a known spiff-arena helper."""
    name = getattr(err, "name", None) or _quoted(str(err))
    hint = UNOFFERED.get(name or "")
    if hint is None:
        return err
    explained = NameError(f"name '{name}' is not defined (spiff-arena has it, Huhua does not): {hint}")
    explained.name = name
    return explained


def explained_attribute_error(err: AttributeError, source: str) -> AttributeError:
    """``payload.x`` on a dict at run time: the error says to write ``payload['x']``."""
    name = getattr(err, "name", None)
    if not isinstance(getattr(err, "obj", None), dict) or not name:
        return err
    found = re.search(rf"([A-Za-z_][\w\]\['\"]*)\s*\.\s*{re.escape(name)}\b", source)
    receiver = found.group(1) if found else "d"
    return AttributeError(f"{err}; a dict's keys are read as {_subscript(receiver, name)}")


def explained_decimal_error(err: ArithmeticError) -> ArithmeticError:
    """A Decimal that left the bounds scripts keep (:data:`script_environment.DECIMALS`), said in words."""
    if isinstance(err, decimal.Overflow):
        return ArithmeticError(f"a Decimal grew beyond 10**{MAX_DECIMAL_EXPONENT}, the largest scripts may use")
    if isinstance(err, decimal.DivisionByZero):
        return ZeroDivisionError("a Decimal was divided by zero")
    if isinstance(err, decimal.InvalidOperation):
        return ArithmeticError("not a valid Decimal operation (a text that is not a number, or a result with more "
                               "digits than the 28 scripts keep)")
    return err


def _subscript(receiver: str, key: str) -> str:
    return f"{receiver}['{key}']"


def _source(node: ast.expr, limit: int = 60) -> str:
    text = ast.unparse(node)
    return text if len(text) <= limit else "d"


def _quoted(message: str) -> str | None:
    found = re.search(r"'([^']+)'", message)
    return found.group(1) if found else None
