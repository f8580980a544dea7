"""Which connectors a service task may name, known before anything runs.

A service task names its connector (``spiffworkflow:serviceTaskOperator id="…"``). A name nobody answers used
to deploy and then fail in the worker on every retry; the registry lets deployment refuse it instead
(:mod:`engine.bpmn.lint_rules.connectors`) and lets the worker tell a connector gone missing since (a model
deployed before the rule) from a failure worth retrying. Known are the engine's own connectors and the operators
an administrator says the configured connector proxy serves (``config/connectors.toml``, ``[proxy]``).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

#: Connectors the engine and its workers answer themselves (engine.runtime.execution, workers.job_worker).
BUILT_IN = frozenset({"http", "document", "fan_out", "fan_out_status", "roster", "official_document",
                      "counselling_room", "notify"})
#: An operator id as connector proxies name them (``http/GetRequestV2``, ``aws/AddDynamoItem``): it becomes part
#: of the proxy's URL path (``/v1/do/<id>``), so segments of letters, digits, ``_``, ``-`` and ``.`` only.
OPERATOR_ID = re.compile(r"^(?!.*(?:^|/)\.{1,2}(?:/|$))[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
#: The same, in a configured pattern (``aws/*``; ``*`` for whatever the proxy serves).
OPERATOR_PATTERN = re.compile(r"^[A-Za-z0-9_.*?-]+(?:/[A-Za-z0-9_.*?-]+)*$")


@dataclass(frozen=True)
class ConnectorRegistry:
    """The engine's own connectors and the proxy's operators (exact ids or ``aws/*`` patterns)."""

    proxy_operators: tuple[str, ...] = ()

    def is_proxied(self, name: str) -> bool:
        """True when the connector proxy answers ``name`` (never one of the engine's own)."""
        return (name not in BUILT_IN and bool(OPERATOR_ID.match(name))
                and any(fnmatch.fnmatchcase(name, pattern) for pattern in self.proxy_operators))

    def knows(self, name: str) -> bool:
        return name in BUILT_IN or self.is_proxied(name)

    def names(self) -> list[str]:
        """Every known name, the engine's own first, for messages and the modeler."""
        return sorted(BUILT_IN) + [p for p in self.proxy_operators if p not in BUILT_IN]
