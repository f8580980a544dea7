"""Evaluating a decision's logic: DMN's boxed expressions (literal expressions, contexts, lists, relations,
invocations, function definitions, conditionals, filters and iterators; decision tables in
:mod:`engine.dmn.tables`), in a scope where decisions are evaluated when first read and knowledge models and
decision services are FEEL functions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from engine.dmn.tables import decision_table
from engine.dmn.xml import child, children, local, text_of
from engine.feel import BUILTINS, Function, call_function

if TYPE_CHECKING:
    from engine.dmn.model import Model


class Evaluation(Mapping[str, Any]):
    """The names a decision sees: input data, decisions (evaluated when first read), knowledge models and
    decision services as functions. ``missing`` collects the names read that none of these defines (FEEL reads
    them as null; a business rule task refuses them, :mod:`engine.dmn.task`)."""

    def __init__(self, model: Model, inputs: Mapping[str, Any]) -> None:
        self.model, self.inputs = model, inputs
        self.values: dict[str, Any] = {}
        self.running: set[str] = set()
        self.missing: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.inputs:
            return self.inputs[name]
        if name in self.model.decisions and name not in self.running:
            self.running.add(name)
            try:
                self.values[name] = evaluate_decision(self.model, self.model.decisions[name], self)
            finally:
                self.running.discard(name)
            return self.values[name]
        if name in self.model.knowledge:
            return knowledge_function(self.model, self.model.knowledge[name], self)
        if name in self.model.services:
            return service_function(self.model, self.model.services[name])
        if name not in BUILTINS:  # a function's name is looked up here before among the built-ins
            self.missing.add(name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:  # asking is not reading: not recorded as missing
        if not isinstance(name, str):
            return False
        model = self.model
        return (name in self.values or name in self.inputs or (name in model.decisions and name not in self.running)
                or name in model.knowledge or name in model.services)

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self.inputs), **self.values})

    def __len__(self) -> int:
        return len({**dict.fromkeys(self.inputs), **self.values})


class _Layered(Mapping[str, Any]):
    """Local names over an outer scope, without copying the outer scope (which evaluates lazily)."""

    def __init__(self, names: Mapping[str, Any], outer: Mapping[str, Any]) -> None:
        self.local, self.outer = names, outer

    def __getitem__(self, name: str) -> Any:
        if name in self.local:
            return self.local[name]
        return self.outer[name]

    def __contains__(self, name: object) -> bool:
        return name in self.local or name in self.outer

    def __iter__(self) -> Iterator[str]:
        return iter(self.local)

    def __len__(self) -> int:
        return len(self.local)


def evaluate_decision(model: Model, decision: Any, scope: Mapping[str, Any]) -> Any:
    logic = logic_of(decision)
    if logic is None:
        return None
    variable = child(decision, "variable")
    value = evaluate_boxed(model, logic, scope)
    return model.coerce(value, variable.get("typeRef") if variable is not None else None)


def logic_of(element: Any) -> Any:
    for part in element:
        if local(part) in _BOXED:
            return part
    return None


def evaluate_boxed(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    value = _BOXED[local(element)](model, element, scope)
    return model.coerce(value, element.get("typeRef"))


def _literal(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    text = text_of(element)
    if not text.strip():
        return None
    return model.expression(text).evaluate(scope)


def _context(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    result: dict[str, Any] = {}
    inner = _Layered(result, scope)
    for entry in children(element, "contextEntry"):
        variable, logic = child(entry, "variable"), logic_of(entry)
        value = evaluate_boxed(model, logic, inner) if logic is not None else None
        if variable is None:
            return value
        result[variable.get("name")] = value
    return result


def _list(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    return [evaluate_boxed(model, part, scope) for part in element if local(part) in _BOXED]


def _relation(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    columns = [column.get("name") for column in children(element, "column")]
    return [dict(zip(columns, _list(model, row, scope), strict=False)) for row in children(element, "row")]


def _invocation(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    callee = evaluate_boxed(model, logic_of(element), scope)
    arguments = {}
    for binding in children(element, "binding"):
        logic = logic_of(binding)
        arguments[child(binding, "parameter").get("name")] = (
            evaluate_boxed(model, logic, scope) if logic is not None else None)
    if not isinstance(callee, Function):
        return None
    return call_function(callee, arguments)


def _function_definition(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    formal = children(element, "formalParameter")
    params = [parameter.get("name") for parameter in formal]
    types = [parameter.get("typeRef") for parameter in formal]
    body = logic_of(element)

    def call(run: Any, *arguments: Any) -> Any:
        own = {name: model.coerce(argument, type_ref)
                 for name, type_ref, argument in zip(params, types, arguments, strict=False)}
        if any(own[name] is None and argument is not None for name, argument in zip(params, arguments,
                                                                                      strict=False)):
            return None  # an argument of the wrong type: the invocation fails
        return evaluate_boxed(model, body, _Layered(own, scope)) if body is not None else None
    return Function("function", params, call)


def knowledge_function(model: Model, knowledge: Any, scope: Mapping[str, Any]) -> Function:
    logic = child(knowledge, "encapsulatedLogic")
    if logic is None:
        return Function(knowledge.get("name"), [], lambda run: None)
    return _function_definition(model, logic, scope)


def service_function(model: Model, service: Any) -> Function:
    def ref(element: Any) -> str:
        return model.elements[element.get("href").split("#")[-1]].get("name")
    def type_of(element: Any) -> str | None:
        variable = child(model.elements[element.get("href").split("#")[-1]], "variable")
        return variable.get("typeRef") if variable is not None else None
    references = children(service, "inputData") + children(service, "inputDecision")
    input_names, input_types = [ref(item) for item in references], [type_of(item) for item in references]
    outputs = [ref(item) for item in children(service, "outputDecision")]
    variable = child(service, "variable")
    result_type = variable.get("typeRef") if variable is not None else None

    def call(run: Any, *arguments: Any) -> Any:
        values = [model.coerce(argument, type_ref) for argument, type_ref in zip(arguments, input_types, strict=True)]
        if any(value is None and argument is not None for value, argument in zip(values, arguments, strict=True)):
            return None  # an argument of the wrong type
        evaluation = Evaluation(model, dict(zip(input_names, values, strict=True)))
        results = {name: evaluation[name] for name in outputs}
        return model.coerce(results[outputs[0]] if len(outputs) == 1 else results, result_type)
    return Function(service.get("name"), input_names, call)


def _conditional(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    parts = {local(part): logic_of(part) for part in element}
    condition = evaluate_boxed(model, parts["if"], scope)
    if condition is not None and not isinstance(condition, bool):
        return None
    return evaluate_boxed(model, parts["then" if condition is True else "else"], scope)


def _filter(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    parts = {local(part): logic_of(part) for part in element}
    items = evaluate_boxed(model, parts["in"], scope)
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    result = []
    for item in items:
        own = dict(item) if isinstance(item, dict) else {}
        own["item"] = item
        matched = evaluate_boxed(model, parts["match"], _Layered(own, scope))
        if matched is not None and not isinstance(matched, bool):
            return None
        if matched is True:
            result.append(item)
    return result


def _iterator(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    tag = local(element)
    variable = element.get("iteratorVariable")
    parts = {local(part): logic_of(part) for part in element}
    items = evaluate_boxed(model, parts["in"], scope)
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    body = parts["return" if tag == "for" else "satisfies"]
    results = [evaluate_boxed(model, body, _Layered({variable: item}, scope)) for item in items]
    if tag == "for":
        return results
    if any(result is not None and not isinstance(result, bool) for result in results):
        return None
    if tag == "some":
        return any(result is True for result in results)
    return all(result is True for result in results)


_BOXED: dict[str, Any] = {
    "literalExpression": _literal, "context": _context, "list": _list, "relation": _relation,
    "invocation": _invocation, "functionDefinition": _function_definition, "decisionTable": decision_table,
    "conditional": _conditional, "filter": _filter, "for": _iterator, "some": _iterator, "every": _iterator,
}
