"""spiff-arena process model folders (issue 16): a group deploys model by model under each folder's path, the
display name and description are kept and shown, a process id another folder owns is refused naming both folders
with nothing of the refused folder stored, and the same folder deployed again makes version 2."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, inspect, select

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployModels, DeployProcessModel, StartInstance
from engine.errors import InvalidInput, InvalidModel
from engine.store import migration, tables
from engine.store.database import Database
from engine.web import create_app
from tests.helpers import cli_json

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
AS_ADMIN = {"X-Huhua-User": "admin"}


def _bpmn(process_id: str, name: str, body: str) -> str:
    """A process: start, ``body`` (an element with id 'step' and incoming f1, outgoing f2), end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs_{process_id}"
                  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
    {body}
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _script(code: str) -> str:
    return (f'<bpmn:scriptTask id="step" name="计算"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


CALL_SECOND = ('<bpmn:callActivity id="step" name="调用第二个模型" calledElement="second_process">'
               "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>")


def _model(folder: Path, display_name: str, primary: str, process_id: str, files: dict[str, str],
           description: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "process_model.json").write_text(json.dumps({
        "description": description, "display_name": display_name, "display_order": 0,
        "exception_notification_addresses": [], "fault_or_suspend_on_exception": "fault", "files": [],
        "metadata_extraction_paths": None, "primary_file_name": primary, "primary_process_id": process_id},
        ensure_ascii=False, indent=4), encoding="utf-8")
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def _group(folder: Path, display_name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "process_group.json").write_text(json.dumps({"display_name": display_name, "description": "",
                                                            "process_groups": [], "process_models": []}))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A root with the group ``team`` (two models, the first calling the second's process) and the group ``variants``
    whose one model reuses the first model's process id and brings one more process."""
    root = tmp_path / "process_models"
    _group(root / "team", "团队")
    _model(root / "team" / "first", "第一个模型", "first.bpmn", "first_process",
           {"first.bpmn": _bpmn("first_process", "first in BPMN", CALL_SECOND),
            "first-schema.json": '{"type": "object"}'}, description="先调用第二个模型")
    _model(root / "team" / "second", "第二个模型", "second.bpmn", "second_process",
           {"second.bpmn": _bpmn("second_process", "second in BPMN", _script('greeting = "你好"'))})
    _group(root / "variants", "其他")
    _model(root / "variants" / "copy_of_first", "复制品", "copy.bpmn", "first_process",
           {"copy.bpmn": _bpmn("first_process", "copy", _script("copied = True")),
            "extra.bpmn": _bpmn("copy_extra", "extra", _script("extra = 1"))})
    return root


def _counts(huhua: Huhua) -> tuple[int, int, int]:
    with huhua.services.database.engine.connect() as connection:
        return tuple(connection.execute(select(func.count()).select_from(t)).scalar_one()
                     for t in (tables.deployment, tables.process_definition, tables.process_model))


@SQLITE
def test_a_group_deploys_each_model_under_its_folder_path_with_its_names(huhua: Huhua, cli, tree: Path) -> None:
    result = cli_json(cli("deploy", str(tree / "team"), "--json"))

    assert result["refused"] == []
    assert [(m["path"], m["model"]["display_name"]) for m in result["models"]] == [
        ("team/first", "第一个模型"), ("team/second", "第二个模型")]
    assert [(p["key"], p["version"]) for m in result["models"] for p in m["processes"]] == [
        ("first_process", 1), ("second_process", 1)]
    listed = cli_json(cli("processes", "--json"))
    assert [(p["key"], p["name"], p["model"], p["description"], p["resource"]) for p in listed] == [
        ("first_process", "第一个模型", "team/first", "先调用第二个模型", "team/first/first.bpmn"),
        ("second_process", "第二个模型", "team/second", "", "team/second/second.bpmn")]
    text = cli("processes")
    assert "第一个模型  [team/first]" in text.output and "先调用第二个模型" in text.output

    # the API and the start list name them the same way
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        api = client.get("/api/v1/process-definitions", headers=AS_ADMIN).json
    assert [(d["key"], d["name"], d["model"], d["description"]) for d in api] == [
        ("first_process", "第一个模型", "team/first", "先调用第二个模型"),
        ("second_process", "第二个模型", "team/second", "")]
    startable = {p["key"]: (p["name"], p["description"]) for p in huhua.queries.startable("admin")}
    assert startable["first_process"] == ("第一个模型", "先调用第二个模型")

    # the first model's call activity runs the second model's process, deployed alongside as context
    started = huhua.execute(StartInstance("first_process", "admin", origin=ENGINE))
    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["data"]["greeting"]) == ("completed", "你好")
    with huhua.services.database.engine.connect() as connection:
        logged = [json.loads(d) for d in connection.execute(select(tables.audit_log.c.detail).where(
            tables.audit_log.c.action == "DeployProcessModel").order_by(tables.audit_log.c.id)).scalars()]
    assert [(d["path"], d["files"], d["context"]) for d in logged] == [  # names, never contents
        ("team/first", ["first-schema.json", "first.bpmn"], ["team/second/second.bpmn"]),
        ("team/second", ["second.bpmn"], [])]


@SQLITE
def test_a_process_id_of_another_folder_is_refused_naming_both_and_nothing_of_it_is_stored(
        huhua: Huhua, cli, tree: Path) -> None:
    cli_json(cli("deploy", str(tree / "team"), "--json"))
    before = _counts(huhua)

    refused = cli("deploy", str(tree / "variants" / "copy_of_first"))

    assert refused.exit_code == 2
    assert "team/first" in refused.stderr and "variants/copy_of_first" in refused.stderr
    assert "'first_process'" in refused.stderr and "variants/copy_of_first/copy.bpmn" in refused.stderr
    assert _counts(huhua) == before  # no deployment, no version (not even of copy_extra), no model
    assert [d["key"] for d in huhua.queries.definitions()] == ["first_process", "second_process"]
    assert huhua.queries.definitions(key="first_process")[0]["model"] == "team/first"

    # through the command: the refusal names the file, the process id, and both folders
    copy = tree / "variants" / "copy_of_first"
    with pytest.raises(InvalidModel) as error:
        huhua.execute(DeployProcessModel(
            path="variants/copy_of_first", display_name="复制品", description="", primary_file_name="copy.bpmn",
            primary_process_id="first_process", actor="admin",
            files=tuple((p.name, p.read_bytes()) for p in sorted(copy.glob("*.bpmn")))))
    problem = error.value.problems[0]
    assert (problem.file, problem.element_id) == ("variants/copy_of_first/copy.bpmn", "first_process")
    assert "team/first" in problem.message and "variants/copy_of_first" in problem.message
    assert _counts(huhua) == before


@SQLITE
def test_deploying_the_whole_root_deploys_the_good_models_and_names_the_clash(huhua: Huhua, cli, tree: Path) -> None:
    result = cli("deploy", str(tree), "--json")

    assert result.exit_code == 2
    answer = json.loads(result.stdout)
    assert [m["path"] for m in answer["models"]] == ["team/first", "team/second"]
    assert [(r["path"], r["error"], r["problems"][0]["element_id"]) for r in answer["refused"]] == [
        ("variants/copy_of_first", "invalid_model", "first_process")]
    assert "copy_extra" not in {d["key"] for d in huhua.queries.definitions()}


@SQLITE
def test_validating_folders_checks_each_model_as_deploying_would_and_stores_nothing(
        huhua: Huhua, cli, tree: Path) -> None:
    fine = cli_json(cli("validate", str(tree / "team"), "--json"))
    assert fine["valid"] is True and fine["refused"] == []
    assert [(m["path"], [p["key"] for p in m["processes"]]) for m in fine["models"]] == [
        ("team/first", ["first_process"]), ("team/second", ["second_process"])]
    assert _counts(huhua) == (0, 0, 0)
    text = cli("validate", str(tree / "team"))
    assert text.exit_code == 0 and "valid: team/first «第一个模型»: first_process" in text.output

    cli_json(cli("deploy", str(tree / "team"), "--json"))  # now first_process is team/first's
    before = _counts(huhua)
    checked = cli("validate", str(tree), "--json")
    assert checked.exit_code == 2
    answer = json.loads(checked.stdout)
    assert answer["valid"] is False and [m["path"] for m in answer["models"]] == ["team/first", "team/second"]
    [clash] = answer["refused"]
    assert (clash["path"], clash["problems"][0]["element_id"]) == ("variants/copy_of_first", "first_process")
    assert "team/first" in clash["problems"][0]["message"]
    words = cli("validate", str(tree / "variants"))
    assert words.exit_code == 2 and "refused variants/copy_of_first" in words.stderr
    assert "no model is valid" in words.output

    model = tree / "team" / "second" / "process_model.json"
    model.write_text(json.dumps({**json.loads(model.read_text(encoding="utf-8")),
                                 "primary_process_id": "no_such_process"}), encoding="utf-8")
    wrong = json.loads(cli("validate", str(tree / "team" / "second"), "--json").stdout)
    assert wrong["refused"][0]["problems"][0]["field"] == "primary_process_id"
    assert _counts(huhua) == before


@SQLITE
def test_the_same_folder_deployed_again_makes_version_two(huhua: Huhua, cli, tree: Path) -> None:
    cli_json(cli("deploy", str(tree / "team" / "second"), "--json"))
    unchanged = cli_json(cli("deploy", str(tree / "team" / "second"), "--json"))
    assert [(p["version"], p["changed"]) for p in unchanged["models"][0]["processes"]] == [(1, False)]
    assert unchanged["models"][0]["deployment_id"] is None

    second = tree / "team" / "second" / "second.bpmn"
    second.write_text(second.read_text(encoding="utf-8").replace("你好", "您好"), encoding="utf-8")
    again = cli_json(cli("deploy", str(tree / "team" / "second"), "--json"))

    assert [(p["key"], p["version"], p["changed"]) for p in again["models"][0]["processes"]] == [
        ("second_process", 2, True)]
    assert [(d["version"], d["model"]) for d in huhua.queries.definitions(key="second_process")] == [
        (1, "team/second"), (2, "team/second")]
    started = huhua.execute(StartInstance("second_process", "admin", origin=ENGINE))
    assert huhua.queries.instance(started["id"])["data"]["greeting"] == "您好"


@SQLITE
def test_a_folder_takes_over_a_process_deployed_as_a_loose_file(huhua: Huhua, cli, tree: Path) -> None:
    """Files deployed on their own belong to no folder: the first folder deploying the id makes it its own."""
    second = (tree / "team" / "second" / "second.bpmn").read_bytes()
    huhua.execute(DeployModels(files=(("second.bpmn", second),), actor="admin"))
    taken = cli_json(cli("deploy", str(tree / "team" / "second"), "--json"))
    assert [(p["version"], p["changed"]) for p in taken["models"][0]["processes"]] == [(2, True)]
    assert [d["model"] for d in huhua.queries.definitions(key="second_process")] == [None, "team/second"]


@SQLITE
def test_a_model_whose_process_model_json_does_not_fit_its_files_is_refused_by_field(
        huhua: Huhua, cli, tree: Path) -> None:
    model = tree / "team" / "second" / "process_model.json"
    fields = json.loads(model.read_text(encoding="utf-8"))
    model.write_text(json.dumps({**fields, "primary_process_id": "no_such_process"}), encoding="utf-8")
    refused = cli("deploy", str(tree / "team" / "second"), "--json")
    assert refused.exit_code == 2
    problem = json.loads(refused.stdout)["refused"][0]["problems"][0]
    assert problem == {"message": "no such executable process in the primary file",
                       "file": "team/second/process_model.json", "field": "primary_process_id"}

    model.write_text(json.dumps({**fields, "primary_file_name": "gone.bpmn"}), encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"gone\.bpmn"):
        huhua.execute(DeployProcessModel(path="team/second", display_name="x", description="",
                                         primary_file_name="gone.bpmn", primary_process_id="second_process",
                                         files=(("second.bpmn", b"<x/>"),), actor="admin"))
    model.write_text("{not json", encoding="utf-8")
    broken = cli("deploy", str(tree / "team" / "second"))
    assert broken.exit_code == 2 and "team/second/process_model.json is not JSON" in broken.stderr
    assert _counts(huhua) == (0, 0, 0)


@SQLITE
def test_folders_and_loose_files_go_to_separate_deploys(huhua: Huhua, cli, tree: Path) -> None:
    mixed = cli("deploy", str(tree / "team"), str(tree / "team" / "second" / "second.bpmn"))
    assert mixed.exit_code == 2 and "separate commands" in mixed.stderr
    with pytest.raises(InvalidInput) as loose:  # JSON is a model folder's; alone it would belong to nobody
        huhua.execute(DeployModels(files=(("second.bpmn", (tree / "team" / "second" / "second.bpmn").read_bytes()),
                                          ("schema.json", b"{}")), actor="admin"))
    assert [(p.file, p.message) for p in loose.value.problems] == [("schema.json", "not a model file")]


def test_migration_0038_adds_the_model_table_and_column_and_goes_back(huhua: Huhua, tree: Path, cli) -> None:
    """On SQLite and PostgreSQL: down to 0037 the versions stay (without a folder), up again they have none."""
    cli_json(cli("deploy", str(tree / "team" / "second"), "--json"))
    database = Database(huhua.services.settings.database_url)
    try:
        command.downgrade(migration.alembic_config(database), "0037")
        schema = inspect(database.engine)
        assert "process_model" not in schema.get_table_names()
        assert "model_path" not in {c["name"] for c in schema.get_columns("process_definition")}
        migration.upgrade(database)
        schema = inspect(database.engine)
        assert {"path", "display_name", "description", "primary_file_name", "primary_process_id"} <= {
            c["name"] for c in schema.get_columns("process_model")}
        assert "ix_process_definition_model_path" in {i["name"] for i in schema.get_indexes("process_definition")}
        with database.engine.connect() as connection:
            assert connection.execute(select(tables.process_definition.c.key, tables.process_definition.c.model_path)
                                      ).all() == [("second_process", None)]
    finally:
        database.engine.dispose()


def _zipped(folder: Path, inside: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """``folder`` as a zip archive, its files under ``inside`` (as zipping the folder itself names them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{inside}{path.relative_to(folder).as_posix()}")
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _upload(client: Any, content: bytes, name: str = "team.zip", user: str = "admin") -> Any:
    return client.post("/api/v1/process-models", headers={"X-Huhua-User": user},
                       data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


@SQLITE
def test_a_zip_of_model_folders_uploaded_over_http_deploys_them_as_the_cli_does(huhua: Huhua, tree: Path) -> None:
    (tree / "team" / "README.md").write_text("# 团队的模型", encoding="utf-8")
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        # the group folder zipped as itself (team/…), a model refused among others named, the README skipped
        both = _upload(client, _zipped(tree, extra={"variants/copy_of_first/notes.txt": b"x"}), "models.zip")
        assert both.status_code == 201, both.json
        assert [m["path"] for m in both.json["models"]] == ["team/first", "team/second"]
        [refused] = both.json["refused"]
        assert refused["path"] == "variants/copy_of_first" and "team/first" in refused["message"]  # whose id it is
        assert sorted(both.json["skipped"]) == ["team/README.md", "variants/copy_of_first/notes.txt"]
        # a group's contents zipped (process_group.json at the top): named after the archive, a new version
        again = _upload(client, _zipped(tree / "team"), "team.zip")
        assert again.status_code == 201
        assert [(m["path"], [p["version"] for p in m["processes"]]) for m in again.json["models"]] == [
            ("team/first", [1]), ("team/second", [1])]  # unchanged files: the same versions
        refused_only = _upload(client, _zipped(tree / "variants"), "variants.zip")
        assert refused_only.status_code == 422 and refused_only.json["models"] == []
        assert huhua.queries.instances() == [] and _counts(huhua)[2] == 2
        assert _upload(client, _zipped(tree), user="zhuhui-s001-bzr1").status_code == 403


@SQLITE
@pytest.mark.parametrize(("entry", "content", "said"), [
    ("../evil.bpmn", b"<x/>", "条目“../evil.bpmn”指向压缩包之外"),
    ("/etc/evil.bpmn", b"<x/>", "条目“/etc/evil.bpmn”指向压缩包之外"),
    ("team/huge.bpmn", b" " * (6 * 1024 * 1024), "条目“team/huge.bpmn”超过模型文件的大小上限"),  # 6 KiB zipped
])
def test_an_archive_that_reaches_outside_or_inflates_is_refused_naming_the_entry_and_nothing_is_deployed(
        huhua: Huhua, tree: Path, entry: str, content: bytes, said: str) -> None:
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        answer = _upload(client, _zipped(tree / "team", "team/", {entry: content}))
        assert answer.status_code == 400 and said in answer.json["message"], answer.json
        assert answer.json["problems"][0]["field"] == f"file:{entry}"
        not_zip = _upload(client, b"<bpmn/>", "model.bpmn")
        assert not_zip.status_code == 400 and not_zip.json["problems"][0]["field"] == "file"
    assert _counts(huhua) == (0, 0, 0)
