"""DMN decisions evaluated with FEEL (``engine.feel``): models of DMN 1.1–1.5 files, compiled once per content.

    model = compiled(content)                        # cached by the file's sha256: once per deployed version
    model.evaluate("风险等级", {"score": Decimal(70)})   # a decision's value, FEEL's (Decimal, date, …)

A model holds the decisions, input data (typed by item definitions with allowed values), business knowledge
models, decision services and item definitions of its files; a decision's logic is any boxed expression: a
literal expression, context, list, relation, invocation, function definition, conditional, filter, iterator,
or a decision table with any of the seven hit policies (aggregations for COLLECT). Required decisions are
evaluated when first read. The DMN TCK runner (``tests/conformance/dmn_tck.py``) measures this same layer.

The dialect of a file is chosen explicitly (:mod:`engine.dmn.dialect`): FEEL unless it declares
``expressionLanguage="python"``, which keeps SpiffWorkflow's Python-cell engine for existing models.
"""

from __future__ import annotations

from engine.dmn.cache import compiled
from engine.dmn.model import Model

__all__ = ["Model", "compiled"]
