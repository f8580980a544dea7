"""A DMN model: the decisions, input data, knowledge models, decision services and item definitions of one or
more DMN files, with their FEEL texts compiled once (per model, so once per deployed version)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from lxml import etree

from engine.dmn.boxed import Evaluation
from engine.dmn.tables import CompiledTable, compile_table
from engine.dmn.types import BASE_TYPES, base_check
from engine.dmn.xml import PARSER, child, children, local, text_of
from engine.feel import Expression, UnaryTests, compile_expression, compile_unary_tests

DRG_ELEMENTS = ("decision", "inputData", "businessKnowledgeModel", "decisionService")


class Model:
    """The elements of a set of DMN files (their ``definitions`` roots), looked up by name."""

    def __init__(self, roots: Iterable[Any]) -> None:
        self.roots = list(roots)
        self.elements: dict[str, Any] = {}
        self.decisions: dict[str, Any] = {}
        self.decision_ids: dict[str, str] = {}
        self.inputs: dict[str, str | None] = {}
        self.knowledge: dict[str, Any] = {}
        self.services: dict[str, Any] = {}
        self.names: set[str] = set()
        self.definitions: dict[str, Any] = {}
        for root in self.roots:
            self._read(root)
        self.names.discard("")
        self._expressions: dict[str, Expression] = {}
        self._tests: dict[str, UnaryTests] = {}
        #: a decision table's element → (the element, kept so lxml keeps its proxy, and) the table compiled
        self._tables: dict[Any, tuple[Any, CompiledTable]] = {}
        self.checks: dict[str, Callable[[Any], bool]] = {}
        #: ``instance of`` reads the type without its allowed values (``256 instance of t255`` is true)
        self.kinds: dict[str, Callable[[Any], bool]] = {}
        for name, element in self.definitions.items():
            self.checks[name] = self._definition_check(element, set())
            self.kinds[name] = self._definition_check(element, set(), bare=True)

    @classmethod
    def from_paths(cls, paths: Iterable[Any]) -> Model:
        return cls(etree.parse(str(path), PARSER).getroot() for path in paths)

    def _read(self, root: Any) -> None:
        for element in root.iter():
            if not isinstance(element.tag, str):
                continue
            name = element.get("name")
            if name:
                self.names.add(name)
            tag = local(element)
            if tag == "itemDefinition" and element.getparent() is root:
                self.definitions[name] = element
            if tag not in DRG_ELEMENTS or element.getparent() is not root:
                continue
            self.elements[element.get("id")] = element
            if tag == "decision":
                self.decisions[name] = element
                self.decision_ids[element.get("id")] = name
            elif tag == "inputData":
                variable = child(element, "variable")
                self.inputs[name] = variable.get("typeRef") if variable is not None else None
            elif tag == "businessKnowledgeModel":
                self.knowledge[name] = element
            else:
                self.services[name] = element

    # ---- types ----------------------------------------------------------------------------------------------

    def _definition_check(self, element: Any, seen: set[str], bare: bool = False) -> Callable[[Any], bool]:
        """An item definition as a predicate: its base type or components, its allowed values, collection."""
        components = children(element, "itemComponent")
        type_ref = child(element, "typeRef")
        if components:
            fields = [(component.get("name"), self._definition_check(component, seen)) for component in components]

            def single(value: Any) -> bool:
                return isinstance(value, dict) and all(
                    key in value and (value[key] is None or check(value[key])) for key, check in fields)
        elif type_ref is not None:
            single = self.type_check((type_ref.text or "").strip(), seen)
        else:
            single = lambda value: True  # noqa: E731 - no type: anything
        allowed = child(element, "allowedValues")
        if allowed is not None and not bare:
            tests, base = self.tests(text_of(allowed)), single
            single = lambda value: base(value) and tests.matches(value) is True  # noqa: E731
        if element.get("isCollection") == "true":
            return lambda value: isinstance(value, list) and all(item is None or single(item) for item in value)
        return single

    def type_check(self, type_ref: str, seen: set[str] | None = None) -> Callable[[Any], bool]:
        """The predicate for a type reference: a FEEL base type or an item definition."""
        name = BASE_TYPES.get(type_ref.removeprefix("feel:"), type_ref)
        if name in BASE_TYPES.values():
            return base_check(name)
        if name in self.definitions and name not in (seen or set()):
            return lambda value: self.checks[name](value)
        return lambda value: True

    def coerce(self, value: Any, type_ref: str | None) -> Any:
        """A value as a declared type: as is when it conforms, a singleton list's item, a lone item in a list
        for a collection type, or null."""
        if not type_ref or value is None:
            return value
        name = BASE_TYPES.get(type_ref.removeprefix("feel:"), type_ref)
        if name not in BASE_TYPES.values() and name not in self.definitions:
            return value
        check = self.type_check(type_ref)
        if check(value):
            return value
        if isinstance(value, list) and len(value) == 1 and check(value[0]):
            return value[0]
        if not isinstance(value, list) and check([value]):
            return [value]
        return None

    # ---- compiled texts -------------------------------------------------------------------------------------

    def expression(self, text: str) -> Expression:
        """``text`` compiled once for this model (raises ``FeelSyntaxError``)."""
        found = self._expressions.get(text)
        if found is None:
            found = self._expressions[text] = compile_expression(text, self.names, self.kinds)
        return found

    def tests(self, text: str) -> UnaryTests:
        """Unary tests ``text`` compiled once for this model (raises ``FeelSyntaxError``)."""
        found = self._tests.get(text)
        if found is None:
            found = self._tests[text] = compile_unary_tests(text, self.names, getattr(self, "kinds", None))
        return found

    def table(self, element: Any) -> CompiledTable:
        """Decision table ``element`` compiled once for this model."""
        found = self._tables.get(element)
        if found is None:
            found = self._tables[element] = (element, compile_table(self, element))
        return found[1]

    # ---- evaluating -----------------------------------------------------------------------------------------

    def evaluate(self, decision: str, inputs: Mapping[str, Any]) -> Any:
        """The value of decision ``decision`` (its name) with ``inputs`` (FEEL values, read when needed)."""
        return Evaluation(self, inputs)[decision]
