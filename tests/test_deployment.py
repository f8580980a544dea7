"""Versioned deployments: new content, new version; running instances keep theirs; shipped files respect edits."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, DeployModels, DeployShippedProcesses, StartInstance
from tests.helpers import FIXTURES, only_task

REVIEW = (FIXTURES / "review.bpmn").read_bytes()
#: The same process, but approval now records a different outcome.
REVIEW_V2 = REVIEW.replace('outcome = "通过"'.encode(), 'outcome = "已批准"'.encode())


def _deploy(huhua: Huhua, content: bytes, name: str = "review.bpmn", actor: str = "admin") -> dict:
    return huhua.execute(DeployModels(files=((name, content),), actor=actor))


def test_same_content_keeps_its_version(huhua: Huhua) -> None:
    first = _deploy(huhua, REVIEW)
    again = _deploy(huhua, REVIEW)
    assert first["processes"][0]["version"] == 1 and first["processes"][0]["changed"]
    assert again["deployment_id"] is None
    assert again["processes"][0] == {**first["processes"][0], "changed": False}
    assert [d["version"] for d in huhua.queries.definitions(key="review")] == [1]


def test_running_instances_stay_on_their_version(huhua: Huhua) -> None:
    _deploy(huhua, REVIEW)
    old = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert _deploy(huhua, REVIEW_V2)["processes"][0]["version"] == 2
    new = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))

    for instance in (old, new):
        huhua.execute(CompleteTask(only_task(huhua, instance["id"])["id"], "wang", {"approve": True}))
    old_view, new_view = huhua.queries.instance(old["id"]), huhua.queries.instance(new["id"])
    assert (old_view["definition"]["version"], old_view["data"]["outcome"]) == (1, "通过")
    assert (new_view["definition"]["version"], new_view["data"]["outcome"]) == (2, "已批准")


def test_specs_are_parsed_once_per_version(huhua: Huhua) -> None:
    _deploy(huhua, REVIEW)
    for _ in range(5):
        huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert huhua.services.specs.builds == 1
    _deploy(huhua, REVIEW_V2)
    for _ in range(3):
        huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
    assert huhua.services.specs.builds == 2


def test_shipped_files_never_override_a_later_edit(huhua: Huhua, tmp_path: Path) -> None:
    shipped_dir = tmp_path / "processes"
    shipped_dir.mkdir()
    (shipped_dir / "review.bpmn").write_bytes(REVIEW)

    first = huhua.execute(DeployShippedProcesses(str(shipped_dir)))
    assert first["changed_files"] == ["review.bpmn"] and first["processes"][0]["version"] == 1
    # The administrator edits the process in the modeler and deploys it.
    assert _deploy(huhua, REVIEW_V2, actor="zhang")["processes"][0]["version"] == 2
    # A restart with the shipped file unchanged deploys nothing: the edit stays the newest version.
    restart = huhua.execute(DeployShippedProcesses(str(shipped_dir)))
    assert restart["changed_files"] == [] and restart["processes"] == []
    assert [d["version"] for d in huhua.queries.definitions(key="review")] == [1, 2]
    # A new release of the shipped file is deployed again, as version 3.
    (shipped_dir / "review.bpmn").write_bytes(REVIEW.replace("审核材料".encode(), "审核上报材料".encode()))
    update = huhua.execute(DeployShippedProcesses(str(shipped_dir)))
    assert update["changed_files"] == ["review.bpmn"] and update["processes"][0]["version"] == 3


def test_every_shipped_process_deploys(huhua: Huhua, tmp_path: Path) -> None:
    target = tmp_path / "processes"
    shutil.copytree(huhua.settings.processes_dir, target)
    result = huhua.execute(DeployShippedProcesses(str(target)))
    models = sorted(p.relative_to(target).as_posix() for p in target.rglob("*")
                    if p.suffix in (".bpmn", ".dmn") or p.name.endswith(".form.json"))
    assert models and result["changed_files"] == models
    assert {f["key"] for f in result["forms"]} >= {"monthly_check_class_teachers", "monthly_check_mh_teachers"}
    assert {d["key"] for d in huhua.queries.definitions()} >= {"launch_programme", "ct_training_city"}
