"""Upgrading a database whose DMN files were deployed before FEEL (Python cells, no ``expressionLanguage``):
migration 0037 makes them declare Python, so a running instance's business rule task, a new instance, the DMN
editor and a redeploy of the unchanged table all go on as before the upgrade."""

from __future__ import annotations

import hashlib

from alembic import command
from sqlalchemy import select, text, update

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, DeployEditedDecision, DeployModels, StartInstance
from engine.config import Settings
from engine.store import migration, tables
from engine.store.database import Database
from tests.helpers import FIXTURES, only_task

DEFINITIONS = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="考核等级"\n'
               '             namespace="http://huhua.example/decisions">')
#: a table as Huhua evaluated every table before FEEL: Python cells (a chained comparison, an f-string)
OLD_TABLE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- 2026 春季学期 -->
{DEFINITIONS}
  <decision id="score_band" name="考核等级">
    <decisionTable id="t" hitPolicy="FIRST">
      <input id="in_score" label="得分">
        <inputExpression id="e" typeRef="number"><text>score</text></inputExpression></input>
      <output id="out_band" name="band" typeRef="string"/>
      <rule id="r1"><inputEntry id="r1i"><text>60 &lt;= ? &lt; 90</text></inputEntry>
        <outputEntry id="r1o"><text>f"{{round(score)}} 分"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="r2i"><text>-</text></inputEntry>
        <outputEntry id="r2o"><text>"其他"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""
#: the process: a person fills in the score, then the table gives the band
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="d" targetNamespace="http://huhua.example/test">
  <bpmn:process id="scored_later" name="先打分后评级" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fill"/>
    <bpmn:userTask id="fill" name="填写得分">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateUsers" value="admin"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="fill" targetRef="band"/>
    <bpmn:businessRuleTask id="band" name="评定等级">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>score_band</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="f3" sourceRef="band" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _as_before_feel(settings: Settings, clock: VirtualClock) -> int:
    """A database at revision 0034 holding the old table as an older Huhua stored it, and an instance waiting at
    'fill'. (Today's engine deploys the table only when it declares Python; the stored file is then put back to
    the bytes the older engine kept, with their sha256.)"""
    huhua = bootstrap(settings, clock=clock, upgrade=False)
    declared = OLD_TABLE.replace('namespace="http://huhua.example/decisions"',
                                 'namespace="http://huhua.example/decisions" expressionLanguage="python"')
    huhua.execute(DeployModels(files=(("scored_later.bpmn", PROCESS.encode()), ("score_band.dmn", declared.encode())),
                               actor="admin"))
    instance = huhua.execute(StartInstance("scored_later", "admin", origin=ENGINE))["id"]
    huhua.close()
    database = Database(settings.database_url)
    command.downgrade(migration.alembic_config(database), "0034")
    old = OLD_TABLE.encode()
    with database.engine.begin() as connection:
        r = tables.deployment_resource
        connection.execute(update(r).where(r.c.name == "score_band.dmn")
                           .values(content=old, sha256=hashlib.sha256(old).hexdigest()))
        connection.execute(text("UPDATE process_definition SET content_hash = 'hash-of-the-older-engine'"))
    migration.upgrade(database)
    database.dispose()
    return instance


def _stored_table(settings: Settings) -> tuple[bytes, str]:
    database = Database(settings.database_url)
    with database.engine.connect() as connection:
        r = tables.deployment_resource
        row = connection.execute(select(r.c.content, r.c.sha256).where(r.c.name == "score_band.dmn")).one()
    database.dispose()
    return bytes(row.content), row.sha256


def test_a_running_instance_evaluates_its_python_table_after_the_upgrade(
        settings: Settings, clock: VirtualClock) -> None:
    instance = _as_before_feel(settings, clock)
    huhua: Huhua = bootstrap(settings, clock=clock, upgrade=False)
    try:
        huhua.execute(CompleteTask(only_task(huhua, instance)["id"], "admin", {"score": 70}))
        finished = huhua.queries.instance(instance)
        assert (finished["state"], finished["data"]["band"]) == ("completed", "70 分"), finished

        later = huhua.execute(StartInstance("scored_later", "admin", origin=ENGINE))["id"]
        huhua.execute(CompleteTask(only_task(huhua, later)["id"], "admin", {"score": 95}))
        assert huhua.queries.instance(later)["data"]["band"] == "其他"
    finally:
        huhua.close()


def test_the_stored_file_declares_python_and_is_otherwise_as_it_was(settings: Settings, clock: VirtualClock) -> None:
    _as_before_feel(settings, clock)
    content, sha256 = _stored_table(settings)
    assert content == OLD_TABLE.replace(DEFINITIONS, DEFINITIONS[:-1] + ' expressionLanguage="python">').encode()
    assert sha256 == hashlib.sha256(content).hexdigest()


def test_the_editor_opens_the_declared_table_and_saving_it_unchanged_makes_no_new_version(
        settings: Settings, clock: VirtualClock) -> None:
    _as_before_feel(settings, clock)
    huhua = bootstrap(settings, clock=clock, upgrade=False)
    try:
        [definition] = huhua.queries.definitions(key="scored_later")
        _name, xml = huhua.queries.definition_decision(definition["id"], "score_band")
        assert 'expressionLanguage="python"' in xml
        saved = huhua.execute(DeployEditedDecision(definition["id"], "score_band", xml, "admin"))
        assert saved["deployment_id"] is None and [p["changed"] for p in saved["processes"]] == [False]
        again = huhua.execute(DeployModels(files=(("scored_later.bpmn", PROCESS.encode()),
                                                  ("score_band.dmn", xml.encode())), actor="admin"))
        assert again["deployment_id"] is None
        assert [d["version"] for d in huhua.queries.definitions(key="scored_later")] == [1]
    finally:
        huhua.close()


def test_files_that_name_their_language_or_are_not_dmn_are_left_as_they_were(
        settings: Settings, clock: VirtualClock) -> None:
    feel = (FIXTURES / "score_band.dmn").read_text().replace(
        'namespace="http://huhua.example/decisions"',
        'namespace="http://huhua.example/decisions" expressionLanguage="https://www.omg.org/spec/DMN/20191111/FEEL/"')
    files = {"score_review.bpmn": (FIXTURES / "score_review.bpmn").read_bytes(), "score_band.dmn": feel.encode(),
             "score_confirm.form.json": (FIXTURES / "score_confirm.form.json").read_bytes()}
    huhua = bootstrap(settings, clock=clock, upgrade=False)
    huhua.execute(DeployModels(files=tuple(files.items()), actor="admin"))
    huhua.close()
    database = Database(settings.database_url)
    command.downgrade(migration.alembic_config(database), "0034")
    migration.upgrade(database)
    with database.engine.connect() as connection:
        r = tables.deployment_resource
        stored = dict(connection.execute(select(r.c.name, r.c.content)).all())
    database.dispose()
    assert {name: bytes(content) for name, content in stored.items()} == {
        "score_review.bpmn": files["score_review.bpmn"], "score_band.dmn": files["score_band.dmn"]}
