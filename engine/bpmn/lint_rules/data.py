"""Data rules: item definitions, input/output specifications and data associations agree with each other.

Data inputs, outputs and objects are typed by item definitions; sets group them; associations move
values between them. Each part only makes sense together with the others it names.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.bpmn.lint_rules.model import SUB_PROCESSES, TASKS, Element, LintModel, is_true, kind_of, text_of
from engine.errors import Problem

_LABELLED_STATE = re.compile(r"^.*\[[^\]]*\]$")
_COLLECTION_RULES = {"dataObject": "EXT.020, EXT.077", "dataInput": "EXT.020, EXT.081",
                     "dataOutput": "EXT.020, EXT.083"}


def item_of(model: LintModel, element: Element | None) -> Element | None:
    """The item definition that types ``element`` (a data element, message, signal, error or escalation)."""
    if element is None:
        return None
    kind = kind_of(element)
    if kind == "message":
        reference = element.get("itemRef")
    elif kind in ("signal", "error", "escalation"):
        reference = element.get("structureRef")
    else:
        reference = element.get("itemSubjectRef")
        if not reference and kind == "dataObjectReference":
            return item_of(model, model.resolve(element, element.get("dataObjectRef")))
    item = model.resolve(element, reference)
    return item if item is not None and kind_of(item) == "itemDefinition" else None


def same_item(first: Element | None, second: Element | None) -> bool:
    """Whether two item definitions describe the same structure; unknown (None) items are not judged."""
    if first is None or second is None or first is second:
        return True
    structure = (first.get("structureRef") or "").strip()
    return bool(structure) and structure == (second.get("structureRef") or "").strip()


def check_collection_flags(model: LintModel) -> Iterator[Problem]:
    """A data element is a collection exactly when its item definition is one."""
    for kind, rule in _COLLECTION_RULES.items():
        for element in model.by_kind[kind]:
            item = item_of(model, element)
            if item is None or is_true(element, "isCollection") == is_true(item, "isCollection"):
                continue
            words = ("is", "is not") if is_true(element, "isCollection") else ("is not", "is")
            yield model.problem(element, f"{model.describe(element)} {words[0]} a collection but its item definition "
                                f"{model.describe(item)} {words[1]}", f"collection-matches-item ({rule})")


def check_sub_process_io(model: LintModel) -> Iterator[Problem]:
    """EXT.079: a sub-process shares its parent's data, so it declares no inputs and outputs of its own."""
    for specification in model.by_kind["ioSpecification"]:
        owner = specification.getparent()
        if owner is not None and kind_of(owner) in SUB_PROCESSES:
            yield model.problem(owner, f"{model.describe(owner)} has an input/output specification; sub-processes "
                                "read and write the data of their process directly", "sub-process-io (EXT.079)")


def check_association_directions(model: LintModel) -> Iterator[Problem]:
    """EXT.080, EXT.082: a data input is only read and a data output only written by associations."""
    for association in model.by_kind["dataOutputAssociation"]:
        target = model.resolve(association, text_of(model.child(association, "targetRef")))
        if target is not None and kind_of(target) == "dataInput":
            yield model.problem(association, f"{model.describe(association)} writes to {model.describe(target)}; a "
                                "data input can only be read", "association-direction (EXT.080)")
    for association in model.by_kind["dataInputAssociation"]:
        for reference in model.refs(association, "sourceRef"):
            source = model.resolve(association, reference)
            if source is not None and kind_of(source) == "dataOutput":
                yield model.problem(association, f"{model.describe(association)} reads from {model.describe(source)}; "
                                    "a data output can only be written", "association-direction (EXT.082)")


def check_association_types(model: LintModel) -> Iterator[Problem]:
    """EXT.091, EXT.092: without a transformation an association copies one value of the same type."""
    for kind in ("dataInputAssociation", "dataOutputAssociation"):
        for association in model.by_kind[kind]:
            if model.child(association, "transformation") is not None:
                continue
            sources = model.refs(association, "sourceRef")
            if len(sources) > 1:
                yield model.problem(association, f"{model.describe(association)} has {len(sources)} sources but no "
                                    "transformation to combine them", "association-sources (EXT.092)")
                continue
            source = model.resolve(association, sources[0]) if sources else None
            target = model.resolve(association, text_of(model.child(association, "targetRef")))
            source_item, target_item = item_of(model, source), item_of(model, target)
            if source is not None and target is not None and not same_item(source_item, target_item):
                yield model.problem(association, f"{model.describe(association)} copies {model.describe(source)} of "
                                    f"type {model.describe(source_item)} into {model.describe(target)} of type "
                                    f"{model.describe(target_item)} without a transformation",
                                    "association-types (EXT.091)")


def _io_owners(model: LintModel) -> Iterator[Element]:
    """Elements that hold data inputs/outputs and their sets: specifications and events with data."""
    seen: set[int] = set()
    for part in model.of_kinds(("dataInput", "dataOutput", "inputSet", "outputSet")):
        owner = part.getparent()
        if owner is not None and kind_of(owner) != "process" and id(owner) not in seen:
            seen.add(id(owner))
            yield owner


def check_io_sets(model: LintModel) -> Iterator[Problem]:
    """EXT.084–EXT.090: every input/output is in a set, and a set's special lists are part of the set."""
    for owner in _io_owners(model):
        for data_kind, set_kind, refs_kind, rule in (("dataInput", "inputSet", "dataInputRefs", "EXT.084"),
                                                     ("dataOutput", "outputSet", "dataOutputRefs", "EXT.088")):
            sets = model.children(owner, set_kind)
            listed = {model.local_ref(each, ref) for each in sets for ref in model.refs(each, refs_kind)}
            holder = owner.getparent() if kind_of(owner) == "ioSpecification" else owner
            for data in model.children(owner, data_kind):
                if data.get("id") not in listed:
                    yield model.problem(data, f"{model.describe(data)} is not listed in any {set_kind} of "
                                        f"{model.describe(holder if holder is not None else owner)}",
                                        f"io-sets ({rule})")
        for each in model.children(owner, "inputSet"):
            yield from _subset(model, each, "dataInputRefs", (("optionalInputRefs", "EXT.085"),
                                                              ("whileExecutingInputRefs", "EXT.086")))
        for each in model.children(owner, "outputSet"):
            yield from _subset(model, each, "dataOutputRefs", (("optionalOutputRefs", "EXT.089"),
                                                               ("whileExecutingOutputRefs", "EXT.090")))
        yield from _paired_sets(model, owner)


def _subset(model: LintModel, io_set: Element, refs_kind: str,
            special: tuple[tuple[str, str], ...]) -> Iterator[Problem]:
    members = set(model.refs(io_set, refs_kind))
    for special_kind, rule in special:
        for reference in model.refs(io_set, special_kind):
            if reference not in members:
                yield model.problem(io_set, f"{model.describe(io_set)} lists '{reference}' in {special_kind} but "
                                    f"not in {refs_kind}", f"io-set-members ({rule})")


def _paired_sets(model: LintModel, owner: Element) -> Iterator[Problem]:
    """EXT.087: an input set and an output set name each other, or neither does."""
    for set_kind, refs_kind, other_refs in (("inputSet", "outputSetRefs", "inputSetRefs"),
                                            ("outputSet", "inputSetRefs", "outputSetRefs")):
        for io_set in model.children(owner, set_kind):
            for reference in model.refs(io_set, refs_kind):
                other = model.resolve(io_set, reference)
                if other is not None and io_set.get("id") not in model.refs(other, other_refs):
                    yield model.problem(io_set, f"{model.describe(io_set)} names {model.describe(other)} in "
                                        f"{refs_kind}, but that set does not name it back", "io-set-pairs (EXT.087)")


def check_loop_data(model: LintModel) -> Iterator[Problem]:
    """EXT.068–EXT.070: loop data references of a task with a specification point into it, item by item."""
    for loop in model.by_kind["multiInstanceLoopCharacteristics"]:
        owner = loop.getparent()
        if owner is None or kind_of(owner) not in TASKS or not model.is_executable(owner):
            continue
        specification = model.child(owner, "ioSpecification")
        for ref_kind, data_kind, item_kind, rule in (("loopDataInputRef", "dataInput", "inputDataItem", "EXT.070"),
                                                     ("loopDataOutputRef", "dataOutput", "outputDataItem", "EXT.069")):
            reference = text_of(model.child(loop, ref_kind))
            if not reference or specification is None:
                continue
            data = model.resolve(loop, reference)
            if data is None or kind_of(data) != data_kind or data.getparent() is not specification:
                if ref_kind == "loopDataInputRef":
                    yield model.problem(owner, f"{model.describe(owner)} loops over '{reference}', which is not a data "
                                        "input of its input/output specification", "loop-data (EXT.068)")
                continue
            instance_item = item_of(model, model.child(loop, item_kind))
            collection_item = item_of(model, data)
            if instance_item is None or collection_item is None:
                continue
            if is_true(instance_item, "isCollection") or not same_item(instance_item, collection_item):
                yield model.problem(owner, f"{model.describe(owner)} has an {item_kind} of type "
                                    f"{model.describe(instance_item)}, which is not a single element of "
                                    f"{model.describe(collection_item)}", f"loop-data ({rule})")


def check_data_state_names(model: LintModel) -> Iterator[Problem]:
    """EXT.076: a label written as "Object name [state]" agrees with the object and state it shows.

    Only labels that spell out a state in brackets are judged; a plain name is the author's choice.
    """
    for reference in model.by_kind["dataObjectReference"]:
        state = model.child(reference, "dataState")
        label = _LABELLED_STATE.match(" ".join((reference.get("name") or "").split()))
        data_object = model.resolve(reference, reference.get("dataObjectRef"))
        if state is None or label is None or data_object is None:
            continue
        expected = f"{' '.join((data_object.get('name') or '').split())} [{(state.get('name') or '').strip()}]"
        if label.group(0) != expected:
            yield model.problem(reference, f"{model.describe(reference)} is labelled as showing a state of a data "
                                f"object, but {model.describe(data_object)} in the state "
                                f"'{(state.get('name') or '').strip()}' is labelled '{expected}'",
                                "data-state-name (EXT.076)")


#: The data stores spiff-arena's backend implements (SpiffWorkflow itself implements none).
SPIFF_ARENA_DATA_STORES = frozenset({"JSONDataStore", "JSONFileDataStore", "KKVDataStore", "TypeaheadDataStore"})


def check_data_stores(model: LintModel) -> Iterator[Problem]:
    """A data store is refused naming what to use instead: SpiffWorkflow runs a data store only through an
    implementation registered by its name, and Huhua registers none (spiff-arena's live in its backend)."""
    for store in model.by_kind["dataStore"]:
        name = " ".join((store.get("name") or "").split())
        whose = f" is spiff-arena's {name}, and" if name in SPIFF_ARENA_DATA_STORES else ":"
        references = [r.get("id") or "?" for r in model.by_kind["dataStoreReference"]
                      if model.local_ref(r, r.get("dataStoreRef")) == store.get("id")]
        drawn = f" and its references ({', '.join(references)})" if references else ""
        yield model.problem(store, f"{model.describe(store)}{whose} Huhua offers no data stores; keep the data in "
                            "the instance (a data object, or the task data a form or script writes) or read and "
                            "write it with a service task through a connector, and remove the data store"
                            f"{drawn}", "data-stores")
