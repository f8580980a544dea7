"""A service task names a connector the engine knows (HUHUA.CONN.1).

spiff-arena models name their connector proxy's operators (``aws/AddDynamoItem``, ``http/GetRequestV2``); such
a task deployed where nobody answers the name would only fail in the worker. The known names are the engine's
own and the operators ``config/connectors.toml`` says the connector proxy serves
(:mod:`engine.connectors.registry`), so the refusal names both the unknown one and those it could be.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint_rules.model import LintModel
from engine.errors import Problem
from engine.phrases import Phrase

_SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
_RULE = "known-connector (HUHUA.CONN.1)"


def check_connectors(model: LintModel) -> Iterator[Problem]:
    """HUHUA.CONN.1: every ``serviceTaskOperator`` of a service task names a known connector."""
    registry = model.connectors
    if registry is None:
        return
    for task in model.by_kind["serviceTask"]:
        for operator in task.iterfind(f"*/{_SPIFF}serviceTaskOperator"):
            name = (operator.get("id") or "").strip()
            if registry.knows(name):
                continue
            name_given = " ".join((task.get("name") or "").split())
            shown = f"'{name_given}' ({task.get('id')})" if name_given else str(task.get("id"))
            known = ", ".join(registry.names())
            if not name:
                message = Phrase("the service task %(task)s names no connector; give one of %(known)s [rule: %(rule)s]",
                                 task=shown, known=known, rule=_RULE)
            else:
                message = Phrase("the service task %(task)s calls the connector '%(connector)s', which this engine "
                                 "does not know; name one it knows (%(known)s), or, when a connector proxy offers "
                                 "it, list it among the proxy's operators in config/connectors.toml, [proxy] "
                                 "[rule: %(rule)s]",
                                 task=shown, connector=name, known=known, rule=_RULE)
            yield Problem(message, file=model.filename, line=operator.sourceline, element_id=task.get("id"))
