"""Hostile and broken model files are refused with a located message, and nothing is stored."""

from __future__ import annotations

import pytest

from engine.bootstrap import Huhua
from engine.commands import DeployModels
from engine.errors import InvalidModel
from tests.helpers import FIXTURES

#: One database: model files are refused while parsing, before anything is stored.
DATABASES = ("sqlite",)

VALID = (FIXTURES / "straight.bpmn").read_bytes()

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE definitions [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="leak" isExecutable="true"><bpmn:documentation>&secret;</bpmn:documentation>
    <bpmn:startEvent id="s"/></bpmn:process>
</bpmn:definitions>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x">
  <bpmn:process id="boom" isExecutable="true"><bpmn:documentation>&lol9;</bpmn:documentation></bpmn:process>
</bpmn:definitions>"""

PLAIN_DOCTYPE = VALID.replace(b"<bpmn:definitions", b"<!DOCTYPE definitions>\n<bpmn:definitions", 1)


def _deployed_nothing(huhua: Huhua) -> None:
    assert huhua.queries.definitions() == []


@pytest.mark.parametrize("content, name", [
    (EXTERNAL_ENTITY, "xxe.bpmn"),
    (BILLION_LAUGHS, "laughs.bpmn"),
    (PLAIN_DOCTYPE, "doctype.bpmn"),
])
def test_declarations_are_refused_before_parsing(huhua: Huhua, content: bytes, name: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=((name, content),), actor="admin"))
    assert "DOCTYPE" in str(refused.value)
    assert refused.value.problems[0].file == name
    assert refused.value.problems[0].line is not None
    _deployed_nothing(huhua)


def test_a_doctype_in_utf16_is_refused_too(huhua: Huhua) -> None:
    text = PLAIN_DOCTYPE.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    with pytest.raises(InvalidModel, match=r"DTD|DOCTYPE"):
        huhua.execute(DeployModels(files=(("wide.bpmn", text.encode("utf-16")),), actor="admin"))
    _deployed_nothing(huhua)


def test_a_50_mb_file_is_refused_with_its_size(huhua: Huhua) -> None:
    padding = b"<!-- " + b"x" * (50 * 1024 * 1024) + b" -->"
    huge = VALID.replace(b"</bpmn:definitions>", padding + b"</bpmn:definitions>")
    with pytest.raises(InvalidModel, match=r"50\.0 MB.*largest model accepted is 5\.0 MB"):
        huhua.execute(DeployModels(files=(("huge.bpmn", huge),), actor="admin"))
    _deployed_nothing(huhua)


def test_malformed_xml_names_file_and_line(huhua: Huhua) -> None:
    broken = VALID.replace(b"</bpmn:process>", b"</bpmn:proces>")
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("broken.bpmn", broken),), actor="admin"))
    problem = refused.value.problems[0]
    assert problem.file == "broken.bpmn"
    assert problem.line == VALID[:VALID.index(b"</bpmn:process>")].count(b"\n") + 1
    _deployed_nothing(huhua)


def test_schema_violation_names_the_element(huhua: Huhua) -> None:
    wrong = VALID.replace(b'<bpmn:endEvent id="e2">', b'<bpmn:endEvent id="e2" bogus="1">')
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("wrong.bpmn", wrong),), actor="admin"))
    problem = refused.value.problems[0]
    assert problem.element_id == "e2" and "bogus" in problem.message and problem.line
    _deployed_nothing(huhua)


def test_a_flow_to_a_missing_element_names_the_element(huhua: Huhua) -> None:
    dangling = VALID.replace(b'targetRef="e2"/>', b'targetRef="nowhere"/>')
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("dangling.bpmn", dangling),), actor="admin"))
    assert any(p.file == "dangling.bpmn" and p.element_id for p in refused.value.problems), refused.value.problems
    _deployed_nothing(huhua)


def test_one_bad_file_refuses_the_whole_deployment(huhua: Huhua) -> None:
    with pytest.raises(InvalidModel):
        huhua.execute(DeployModels(files=(("good.bpmn", VALID), ("xxe.bpmn", EXTERNAL_ENTITY)), actor="admin"))
    _deployed_nothing(huhua)


def test_a_non_bpmn_document_is_refused(huhua: Huhua) -> None:
    with pytest.raises(InvalidModel, match="refused") as refused:
        huhua.execute(DeployModels(files=(("page.bpmn", b"<html><body/></html>"),), actor="admin"))
    assert "not a BPMN 2.0 or DMN document" in refused.value.problems[0].message
