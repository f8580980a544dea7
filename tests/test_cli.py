"""The `huhua` command line, as an administrator uses it: --json everywhere, exit code 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.config import Settings
from tests.helpers import FIXTURES, cli_json
from tests.test_model_safety import EXTERNAL_ENTITY


def test_a_whole_round_trip(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli_json(cli("db", "upgrade", "--json"))["revision"]
    cli_json(cli("org", "load", "demo", "--json"))
    deployed = cli_json(cli("deploy", str(FIXTURES / "review.bpmn"), str(FIXTURES / "review_start.form.json"),
                            str(FIXTURES / "await_message.bpmn"), "--json"))
    assert sorted(p["key"] for p in deployed["processes"]) == ["await_message", "review"]
    assert cli_json(cli("validate", str(FIXTURES / "straight.bpmn"), "--json"))["processes"][0]["key"] == "straight"

    started = cli_json(cli("start", "review", "--vars", '{"reviewers": ["wang"]}', "--scope", "zhuhui",
                        "--business-key", "plan-2026", "--json"))
    assert started["state"] == "running" and started["org_scope"] == "zhuhui"
    tasks = cli_json(cli("tasks", "--user", "wang", "--json"))
    assert [t["name"] for t in tasks] == ["审核材料"]
    assert cli_json(cli("tasks", "--user", "nobody", "--json")) == []
    assert cli_json(cli("tasks", "--user", "wang", "--q", "审核", "--due", "within", "--within-days", "3",
                        "--json")) == tasks  # the inbox's filters
    assert cli_json(cli("tasks", "--user", "wang", "--due", "none", "--json")) == []
    refused = cli("tasks", "--user", "wang", "--due", "within", "--within-days", "99")
    assert refused.exit_code == 2 and "within_days" in refused.output
    done = cli_json(cli("complete", str(tasks[0]["id"]), "--as", "wang", "--data", '{"approve": true}', "--json"))
    assert done["instance"]["state"] == "completed"
    shown = cli_json(cli("instance", str(started["id"]), "--json"))
    assert shown["data"]["outcome"] == "通过" and shown["history"][0]["kind"] == "instance_started"

    waiting = cli_json(cli("start", "await_message", "--business-key", "衡南县", "--json"))
    delivered = cli_json(cli("message", "plan_submitted", "--key", "衡南县",
                             "--vars", '{"plan_title": "方案"}', "--json"))
    assert delivered["delivered_to"][0]["id"] == waiting["id"]
    human = cli("instance", str(waiting["id"]))
    assert human.exit_code == 0 and "completed" in human.output and "message_received" in human.output


@pytest.mark.parametrize("args, expected", [
    (["start", "review", "--vars", "{not json"], "--vars is not valid JSON"),
    (["start", "review", "--vars", "[1]"], "--vars must be a JSON object"),
    (["start", "no_such_process"], "no process with key 'no_such_process'"),
    (["complete", "999", "--as", "wang"], "task 999 does not exist"),
    (["deploy", "/no/such/file.bpmn"], "does not exist"),
    (["instance", "12345"], "process instance 12345 does not exist"),
    (["message", "nobody_waits"], "no instance waits for message 'nobody_waits'"),
])
def test_bad_input_exits_2_with_a_message(cli, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_a_lone_file_is_told_which_file_to_add(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    library = Path(__file__).parent.parent / "processes"
    alone = cli("validate", str(library / "annual_assessment.bpmn"))
    assert alone.exit_code == 2
    assert "add the .dmn file that defines decision 'annual_weights'" in alone.output, alone.output
    assert "element load_weights" in alone.output and "Available DMN ids" not in alone.output
    whole = cli_json(cli("validate", str(library), "--json"))  # with every file it needs, as deploy takes it
    assert "annual_assessment" in {p["key"] for p in whole["processes"]}
    caller = (FIXTURES / "review.bpmn").read_text(encoding="utf-8")
    assert "<bpmn:userTask" in caller
    (tmp_path / "caller.bpmn").write_text(caller.replace("<bpmn:userTask", '<bpmn:callActivity calledElement='
                                                         '"missing_child"', 1).replace("</bpmn:userTask>",
                                                                                       "</bpmn:callActivity>", 1),
                                          encoding="utf-8")
    called = cli("validate", str(tmp_path / "caller.bpmn"))
    assert called.exit_code == 2
    assert "add the .bpmn file that defines process 'missing_child'" in called.output, called.output


def test_hostile_file_is_refused_in_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hostile = tmp_path / "xxe.bpmn"
    hostile.write_bytes(EXTERNAL_ENTITY)
    result = cli("deploy", str(hostile), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert error["error"] == "invalid_model" and error["problems"][0]["file"] == "xxe.bpmn"
    assert cli_json(cli("validate", str(FIXTURES / "review.bpmn"), "--json"))["valid"] is True


def test_clock_shows_a_virtual_clock_and_refuses_a_bad_one(settings: Settings) -> None:
    runner = CliRunner()
    env = {"HUHUA_DATABASE_URL": settings.database_url, "HUHUA_VIRTUAL_CLOCK": "2026-10-01T09:00"}
    shown = runner.invoke(main, ["clock", "--json"], env=env, catch_exceptions=False)
    data = json.loads(shown.stdout)
    assert data["virtual"] is True and data["beijing"] == "2026-10-01T09:00:00+08:00"
    assert data["working_day"]["working"] is False  # National Day
    bad = runner.invoke(main, ["clock"], env={**env, "HUHUA_VIRTUAL_CLOCK": "soon"}, catch_exceptions=False)
    assert bad.exit_code == 2 and "HUHUA_VIRTUAL_CLOCK" in bad.stderr


def test_org_directory_schedules_and_webhooks_from_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    loaded = cli_json(cli("org", "load", "demo", "--json"))
    assert (loaded["units"], loaded["source"]) == (72, "demo")
    assert cli_json(cli("org", "load", "demo", "--if-empty", "--json"))["skipped"]
    principals = cli_json(cli("users", "--under", "hengdong", "--role", "校长", "--json"))
    assert [p["id"] for p in principals] == ["hengdong-s001-xz", "hengdong-s002-xz", "hengdong-s003-xz"]
    refused = cli("org", "load", "city.csv")
    assert refused.exit_code == 2 and "neither a profile" in refused.output

    cli_json(cli("deploy", str(FIXTURES / "timer_start.bpmn"), "--json"))
    listed = {s["key"]: s for s in cli_json(cli("schedules", "--json"))}
    assert listed["monthly_check"]["for_each"] == "school"
    assert listed["daily_roll_call.every_morning"]["when"] == "cycle:R3/2026-03-02T09:00:00/P1D"

    added = cli_json(cli("webhooks", "add", "http://127.0.0.1:9/hook", "--events", "task_created", "--json"))
    assert [w["url"] for w in cli_json(cli("webhooks", "list", "--json"))] == ["http://127.0.0.1:9/hook"]
    rotated = cli("webhooks", "rotate", str(added["id"]), "--grace-hours", "2")
    assert rotated.exit_code == 0 and "new signing secret whsec_" in rotated.output
    assert "also signs until" in rotated.output
    assert cli("webhooks", "rotate", str(added["id"]), "--secret", "not-a-whsec-secret").exit_code == 2
    assert cli_json(cli("webhooks", "remove", str(added["id"]), "--json"))["active"] is False
    assert cli("webhooks", "remove", str(added["id"])).exit_code == 2
