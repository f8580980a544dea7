"""Webhooks: engine events reach subscribers signed and exactly as committed; inbound repeats apply once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ENGINE, AddWebhook, CompleteTask, RemoveWebhook, SetServiceAccount, StartInstance
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.web import create_app
from tests.helpers import deploy_fixtures, only_task
from tests.receiver import http_receiver
from webhooks.delivery import signature
from workers.job_worker import run_due_jobs

SECRET = "s3cret-for-the-bureau-platform"


def test_subscribers_get_signed_events_and_nothing_that_was_rolled_back(
        huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    with http_receiver() as receiver:
        huhua.execute(AddWebhook(receiver.url + "/hooks", "admin", "task_created,instance_completed", SECRET))
        started = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))
        task = only_task(huhua, started["id"])
        with pytest.raises(NotFound):  # li has nothing to do with it: refused, rolled back, never announced
            huhua.execute(CompleteTask(task["id"], "li", {}))
        run_due_jobs(huhua)
        assert [r.json()["event"] for r in receiver.requests] == ["task_created"]
        receiver.statuses = [500]  # the receiver is down for the next delivery
        huhua.execute(CompleteTask(task["id"], "wang", {"approve": True}))
        run_due_jobs(huhua)
        clock.advance(timedelta(seconds=5))
        run_due_jobs(huhua)
    created, failed, completed = receiver.requests
    for request in receiver.requests:
        assert request.headers["X-Huhua-Signature"] == signature(SECRET, request.body)
        assert request.headers["X-Huhua-Event"] == request.json()["event"]
    assert created.json()["instance_id"] == started["id"] and created.json()["element_id"] == task["element_id"]
    assert completed.json()["event"] == "instance_completed"
    assert failed.headers["X-Huhua-Delivery"] == completed.headers["X-Huhua-Delivery"]  # a retry of one delivery
    assert huhua.queries.jobs(state="pending") == []


def test_a_removed_subscription_gets_nothing_more(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    with http_receiver() as receiver:
        added = huhua.execute(AddWebhook(receiver.url, "admin"))
        assert len(added["secret"]) == 64  # made for the caller, shown once
        huhua.execute(StartInstance("straight", "admin"))
        huhua.execute(RemoveWebhook(added["id"], "admin"))
        run_due_jobs(huhua)  # queued before the removal: dropped, not delivered
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
    assert receiver.requests == []
    assert huhua.queries.webhooks() == []


def test_a_bad_subscription_is_refused(huhua: Huhua) -> None:
    with pytest.raises(InvalidInput):
        huhua.execute(AddWebhook("file:///etc/passwd", "admin"))
    with pytest.raises(InvalidInput):
        huhua.execute(AddWebhook("http://127.0.0.1/x", "admin", events="task_created;drop table"))


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        yield client


def test_an_inbound_webhook_sent_twice_delivers_its_message_once(huhua: Huhua, client: FlaskClient) -> None:
    deploy_fixtures(huhua, "await_message.bpmn")
    huhua.execute(SetServiceAccount("platform", ("plan_submitted",), "admin"))  # a system that sends this message
    first = huhua.execute(StartInstance("await_message", "admin", business_key="zhuhui-s001"))
    headers = {"X-Huhua-User": "platform", "Idempotency-Key": "plan-2026-10-zhuhui-s001"}
    body = {"correlation_key": "zhuhui-s001", "variables": {"plan_title": "十月工作方案"}}
    sent = client.post("/api/v1/webhooks/messages/plan_submitted", json=body, headers=headers)
    second = huhua.execute(StartInstance("await_message", "admin", business_key="zhuhui-s001"))  # waits now
    again = client.post("/api/v1/webhooks/messages/plan_submitted", json=body, headers=headers)
    assert sent.status_code == again.status_code == 200
    assert (sent.json["duplicate"], again.json["duplicate"]) == (False, True)
    assert again.json["delivered"] == sent.json["delivered"] == 1
    assert again.json["delivered_to"] == sent.json["delivered_to"] == []  # a system reads no instance
    assert huhua.queries.instance(first["id"])["state"] == "completed"
    assert huhua.queries.instance(second["id"])["state"] == "running"  # the repeat did not deliver again
    missing = client.post("/api/v1/webhooks/messages/plan_submitted", json=body, headers={"X-Huhua-User": "p"})
    assert missing.status_code == 400 and missing.json["problems"][0]["field"] == "Idempotency-Key"


def test_only_the_administrator_subscribes_and_never_to_a_metadata_address(huhua: Huhua) -> None:
    with pytest.raises(Forbidden):
        huhua.execute(AddWebhook("http://127.0.0.1:9/hook", "zhuhui-zr"))
    with pytest.raises(InvalidInput):
        huhua.execute(AddWebhook("http://169.254.169.254/latest/meta-data", "admin"))
    added = huhua.execute(AddWebhook("http://127.0.0.1:9/hook", "admin"))
    with pytest.raises(Forbidden):
        huhua.execute(RemoveWebhook(added["id"], "zhuhui-zr"))
