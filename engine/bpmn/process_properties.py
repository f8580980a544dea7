"""The extension properties a model declares on a whole process (``bpmn:process``), not on one task.

A process says things about itself that the engine reads outside any running instance, such as who oversees
its instances (``oversight_roles``, read by :mod:`engine.access.policy`). They are written like a task's
properties::

    <bpmn:process id="monthly_school_check" isExecutable="true">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="oversight_roles" value="programme_officer@county, programme_officer@city"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      …
"""

from __future__ import annotations

from engine.bpmn.safe_xml import parse_xml
from engine.bpmn.schema import BPMN_NS

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def process_properties(content: bytes, process_key: str, *, filename: str = "model.bpmn",
                       max_bytes: int = 10 * 1024 * 1024) -> dict[str, str]:
    """The ``spiffworkflow:property`` name → value pairs declared on process ``process_key`` of a BPMN file.

    Empty when the process declares none or is not in the file (a model deployed before declarations existed).
    """
    tree = parse_xml(content, filename, max_bytes)
    for process in tree.iterfind(f".//{{{BPMN_NS}}}process"):
        if process.get("id") != process_key:
            continue
        found: dict[str, str] = {}
        for prop in process.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/"
                                     f"{{{SPIFF_NS}}}property"):
            name = prop.get("name")
            if name:
                found[name] = prop.get("value") or ""
        return found
    return {}
