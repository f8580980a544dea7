"""Events thrown between instances: delivered exactly once, to the exactly correlated receiver, within org scope."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, CorrelateMessage, DeployModels, LoadDirectory, StartInstance
from engine.config import Settings
from engine.errors import InvalidModel
from engine.org.profiles import generate
from engine.store import migration, tables
from engine.store.database import Database
from engine.store.models import Base
from tests.conftest import START
from tests.helpers import FIXTURES, deploy_fixtures, history_kinds


def _complete_next(huhua: Huhua, instance_id: int) -> None:
    task = huhua.queries.instance(instance_id)["open_tasks"][0]
    huhua.execute(CompleteTask(task["id"], "wang", {}))


@pytest.mark.parametrize(("sender", "receiver"), [("throw_message", "case_by_message"),
                                                  ("throw_signal", "alarm_by_signal")])
def test_an_event_thrown_once_starts_one_receiver_through_three_commands_and_a_restart(
        huhua: Huhua, settings: Settings, clock: VirtualClock, sender: str, receiver: str) -> None:
    deploy_fixtures(huhua, "throw_once.bpmn")
    # the sender's data stands for what its start form or parent would have given: the engine's start
    started = huhua.execute(StartInstance(sender, "admin", business_key="case-1", variables={"reason": "x"},
                                          origin=ENGINE))
    assert len(huhua.queries.instances(process_key=receiver)) == 1
    _complete_next(huhua, started["id"])
    _complete_next(huhua, started["id"])
    huhua.close()
    restarted = bootstrap(settings, clock=clock, upgrade=False)  # a new engine on the same database
    try:
        _complete_next(restarted, started["id"])
        _complete_next(restarted, started["id"])
        assert restarted.queries.instance(started["id"])["state"] == "completed"
        receivers = restarted.queries.instances(process_key=receiver)
        assert [(r["business_key"], r["state"]) for r in receivers] == [("case-1", "running")]
    finally:
        restarted.close()


@pytest.fixture
def org(huhua: Huhua) -> Huhua:
    """The demo org directory (its unit tree decides what is within a sender's scope) and the fixture models."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "scoped_events.bpmn")
    return huhua


def _waiter(huhua: Huhua, process: str, scope: str, key: str | None, **variables: object) -> int:
    """A receiver set up with its data (the fixture models have no start forms: the engine's start)."""
    return huhua.execute(StartInstance(process, "admin", org_scope=scope, business_key=key, variables=variables,
                                       origin=ENGINE))["id"]


def _send(huhua: Huhua, process: str, scope: str, key: str | None = None, **variables: object) -> dict:
    """A sender set up with the data it throws (the engine's start, as for a receiver)."""
    return huhua.execute(StartInstance(process, "admin", org_scope=scope, business_key=key, variables=variables,
                                       origin=ENGINE))


def _state(huhua: Huhua, instance_id: int) -> str:
    return huhua.queries.instance(instance_id)["state"]


def test_a_thrown_message_goes_only_to_the_same_key_never_to_any_waiting_instance(org: Huhua) -> None:
    other_key = _waiter(org, "wait_notice", "zhuhui-s001", "k1")
    same_key = _waiter(org, "wait_notice", "zhuhui-s001", "k2")
    _send(org, "send_notice", "zhuhui", "k2", text="a")
    assert (_state(org, other_key), _state(org, same_key)) == ("running", "completed")

    unknown = _send(org, "send_notice", "zhuhui", "k9", text="b")
    assert _state(org, other_key) == "running"  # no key matches: nobody gets it
    assert "message_unrouted" in history_kinds(org, unknown["id"])
    keyless = _send(org, "send_notice", "zhuhui", text="c")
    assert _state(org, other_key) == "running"  # a message without a key is only for catches that take one
    assert "message_unrouted" in history_kinds(org, keyless["id"])


def test_a_message_thrown_before_its_receiver_waits_is_kept_until_one_in_reach_does(
        org: Huhua, clock: VirtualClock) -> None:
    early = _send(org, "send_notice", "zhuhui", "k7", text="早到的通知")
    [unrouted] = [e for e in org.queries.instance(early["id"])["history"] if e["kind"] == "message_unrouted"]
    assert unrouted["detail"]["kept_until"] == (START + timedelta(days=30)).isoformat()

    out_of_reach = _waiter(org, "wait_notice", "yanfeng-s001", "k7")  # another county: never the district's
    other_key = _waiter(org, "wait_notice", "zhuhui-s001", "k1")
    receiver = _waiter(org, "wait_notice", "zhuhui-s001", "k7")
    assert (_state(org, out_of_reach), _state(org, other_key), _state(org, receiver)) == (
        "running", "running", "completed")
    assert org.queries.instance(receiver)["data"]["text"] == "早到的通知"
    assert _state(org, _waiter(org, "wait_notice", "zhuhui-s001", "k7")) == "running"  # delivered once only

    _send(org, "send_notice", "zhuhui", "k8", text="过期的通知")
    clock.advance(timedelta(days=30, seconds=1))
    assert _state(org, _waiter(org, "wait_notice", "zhuhui-s001", "k8")) == "running"  # kept 30 days, no longer


def test_a_keyless_message_reaches_a_catch_that_declares_it_takes_one(org: Huhua) -> None:
    takes = _waiter(org, "wait_notice_open", "zhuhui-s001", "k1")
    _send(org, "send_notice", "zhuhui-s001", text="c")
    assert _state(org, takes) == "completed"


def test_thrown_messages_and_signals_stay_within_the_senders_org_scope(org: Huhua) -> None:
    other_county = _waiter(org, "wait_notice", "yanfeng-s001", "k1")
    above = _waiter(org, "wait_notice", "hy", "k1")
    _send(org, "send_notice", "zhuhui", "k1", text="x")
    assert (_state(org, other_county), _state(org, above)) == ("running", "running")
    own = _waiter(org, "wait_notice", "zhuhui-s002", "k1")  # a school of the sender's county: within its scope
    _send(org, "send_notice", "zhuhui", "k1", text="x")
    assert (_state(org, other_county), _state(org, above), _state(org, own)) == ("running", "running", "completed")

    report = _waiter(org, "wait_report", "hy", "k1")  # says it takes reports from below
    anywhere = _waiter(org, "wait_notice_open", "yanfeng-s001", "k1")  # says it takes them from anywhere
    _send(org, "send_notice", "zhuhui-s001", "k1", text="x")
    _send(org, "send_notice", "zhuhui-s001", "k1", text="y")
    assert (_state(org, report), _state(org, anywhere), _state(org, other_county)) == (
        "completed", "completed", "running")

    drills = {scope: _waiter(org, "wait_drill", scope, None) for scope in ("zhuhui-s001", "yanfeng-s001", "hy")}
    _send(org, "send_drill", "zhuhui")
    assert {scope: _state(org, i) for scope, i in drills.items()} == {
        "zhuhui-s001": "completed", "yanfeng-s001": "running", "hy": "running"}


def test_a_message_with_correlation_properties_goes_to_the_receiver_whose_own_data_matches(org: Huhua) -> None:
    s001 = _waiter(org, "wait_school_notice", "zhuhui", "same", school_id="zhuhui-s001")
    s002 = _waiter(org, "wait_school_notice", "zhuhui", "same", school_id="zhuhui-s002")
    _send(org, "send_school_notice", "zhuhui", "same", target="zhuhui-s002", text="请报送")
    assert (_state(org, s001), _state(org, s002)) == ("running", "completed")
    assert org.queries.instance(s002)["data"]["text"] == "请报送"
    delivered = org.execute(CorrelateMessage("school_notice", "admin", "zhuhui-s001", {"text": "外部"}))
    assert [i["id"] for i in delivered["delivered_to"]] == [s001]


def test_a_receiver_rule_the_engine_cannot_read_is_refused_at_deploy(huhua: Huhua) -> None:
    model = (FIXTURES / "scoped_events.bpmn").read_text().replace('value="same_or_below"', 'value="sideways"')
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=(("scoped_events.bpmn", model.encode()),), actor="admin"))
    assert any("eventSenders 'sideways'" in p.message and "r_catch" in p.message for p in refused.value.problems)


def test_the_migration_keeps_subscriptions_answers_and_accounts(database_url: str, postgres) -> None:  # type: ignore[no-untyped-def]
    """Upgrading a database with data: old subscriptions keep the default rules, an earlier answer is nobody's."""
    url = _fresh_database(database_url, postgres)
    database = Database(url)
    try:
        migration.upgrade(database, "0015")
        with database.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO inbound_webhook (idempotency_key, message_name, received_at, response) "
                "VALUES ('k-1', 'plan_submitted', '2026-03-01 00:00:00', '{}')")
            connection.exec_driver_sql(
                "INSERT INTO account (username, password_hash, is_admin, active, created_at) "
                "VALUES ('wang', 'x', false, true, '2026-03-01 00:00:00')")
        migration.upgrade(database)
        with database.engine.begin() as connection:
            kept = connection.execute(select(tables.inbound_webhook.c.caller, tables.inbound_webhook.c.idempotency_key)
                                      ).all()
            connection.execute(insert(tables.inbound_webhook).values(
                caller="platform", idempotency_key="k-1", message_name="plan_submitted",
                received_at=START, response="{}"))  # the same key, another caller: no collision
            account = connection.execute(select(tables.account.c.kind, tables.account.c.messages)).one()
            columns = {c.name: c for c in tables.message_subscription.c}
        assert [tuple(r) for r in kept] == [("", "k-1")] and tuple(account) == ("person", None)
        assert {"keyless", "senders"} <= set(columns)
    finally:
        database.dispose()
        if not url.startswith("sqlite"):
            with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def _fresh_database(database_url: str, postgres) -> str:  # type: ignore[no-untyped-def]
    """An empty database of the same kind as ``database_url`` (which is already migrated to the newest)."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///")).with_name("empty.db")
        return f"sqlite:///{path}"
    name = database_url.rsplit("/", 1)[1] + "_empty"
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return database_url.rsplit("/", 1)[0] + "/" + name


def test_migration_0039_makes_the_kept_messages_table_as_the_model_says_and_goes_back(huhua: Huhua) -> None:
    database = Database(huhua.services.settings.database_url)
    try:
        command.downgrade(migration.alembic_config(database), "0038")
        assert "kept_message" not in inspect(database.engine).get_table_names()
        migration.upgrade(database)
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, Base.metadata) if "kept_message" in repr(d)]
        assert "ix_kept_message_lookup" in {i["name"] for i in inspect(database.engine).get_indexes("kept_message")}
        assert differences == []
    finally:
        database.engine.dispose()
