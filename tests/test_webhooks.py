"""Webhooks: engine events reach subscribers signed and exactly as committed; inbound repeats apply once."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert
from standardwebhooks import Webhook, WebhookVerificationError

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import (
    ENGINE,
    AddWebhook,
    CompleteTask,
    RemoveWebhook,
    RotateWebhookSecret,
    SetServiceAccount,
    StartInstance,
)
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store import tables
from engine.web import create_app
from tests.helpers import deploy_fixtures, only_task
from tests.receiver import Received, http_receiver
from workers.job_worker import run_due_jobs

SECRET = "whsec_" + base64.b64encode(b"the bureau platform's 32-byte key").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another system's key, 32 bytes!!").decode()


def verifies(secret: str | bytes, request: Received) -> bool:
    """What a receiver does with the standardwebhooks library: check the signature against the raw body."""
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


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
        assert verifies(SECRET, request) and not verifies(OTHER_SECRET, request)
        assert request.headers["X-Huhua-Event"] == request.json()["event"]
        assert request.headers["webhook-id"] == request.json()["delivery"] == request.headers["X-Huhua-Delivery"]
        assert request.headers["webhook-signature"].startswith("v1,")
        assert " " not in request.headers["webhook-signature"]  # one secret, one signature
        assert "X-Huhua-Signature" not in request.headers  # a whsec_ secret: only Standard Webhooks
    assert created.json()["instance_id"] == started["id"] and created.json()["element_id"] == task["element_id"]
    assert completed.json()["event"] == "instance_completed"
    assert failed.headers["webhook-id"] == completed.headers["webhook-id"]  # a retry of one delivery
    assert created.headers["webhook-id"] != completed.headers["webhook-id"]
    assert huhua.queries.jobs(state="pending") == []


def test_a_removed_subscription_gets_nothing_more(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    with http_receiver() as receiver:
        added = huhua.execute(AddWebhook(receiver.url, "admin"))
        assert added["secret"].startswith("whsec_")  # made for the caller, shown once
        assert len(base64.b64decode(added["secret"].removeprefix("whsec_"))) == 32
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


def test_a_tampered_body_or_a_wrong_secret_does_not_verify(huhua: Huhua) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    with http_receiver() as receiver:
        added = huhua.execute(AddWebhook(receiver.url, "admin", "instance_started"))
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
    (delivered,) = receiver.requests
    assert Webhook(added["secret"]).verify(delivered.body, delivered.headers)["event"] == "instance_started"
    tampered = Received(delivered.method, delivered.path, delivered.headers,
                        delivered.body.replace(b'"instance_started"', b'"instance_completed"'))
    assert not verifies(added["secret"], tampered)
    assert not verifies(SECRET, delivered)
    replayed = {**delivered.headers, "webhook-id": "another-id"}  # the id is signed too
    assert not verifies(added["secret"], Received(delivered.method, delivered.path, replayed, delivered.body))


def test_after_a_rotation_both_secrets_verify_for_the_grace_period_then_only_the_new_one(
        huhua: Huhua, clock: VirtualClock, client: FlaskClient) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    admin = {"X-Huhua-User": "admin"}
    with http_receiver() as receiver:
        added = huhua.execute(AddWebhook(receiver.url, "admin", "instance_started", SECRET))
        huhua.execute(StartInstance("straight", "admin"))  # queued before the rotation, delivered after it
        rotated = client.post(f"/api/v1/webhooks/{added['id']}/rotate-secret", json={"grace_hours": 24},
                              headers=admin)
        assert rotated.status_code == 200
        new_secret = rotated.json["secret"]
        assert new_secret.startswith("whsec_") and new_secret != SECRET
        assert rotated.json["previous_secret_valid_until"] == (clock.now() + timedelta(hours=24)).isoformat()
        run_due_jobs(huhua)
        clock.advance(timedelta(hours=23, minutes=59))
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
        clock.advance(timedelta(minutes=2))  # the grace period is over
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
        listed = client.get("/api/v1/webhooks", headers=admin).json
    queued, in_grace, after = receiver.requests
    for request in (queued, in_grace):
        assert verifies(SECRET, request) and verifies(new_secret, request)
        assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verifies(new_secret, after) and not verifies(SECRET, after)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert listed[0]["previous_secret_valid_until"] == rotated.json["previous_secret_valid_until"]
    assert all("secret" not in key for row in listed for key in row if key != "previous_secret_valid_until")
    (logged,) = huhua.queries.audit.entries(action="RotateWebhookSecret")["entries"]
    assert logged["resource"] == f"webhook:{added['id']}" and new_secret not in str(logged)


def test_a_rotation_without_grace_retires_the_old_secret_at_once_and_a_given_secret_is_checked(
        huhua: Huhua) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    with http_receiver() as receiver:
        added = huhua.execute(AddWebhook(receiver.url, "admin", "instance_started"))
        huhua.execute(RotateWebhookSecret(added["id"], "admin", OTHER_SECRET, grace_hours=0))
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
    (delivered,) = receiver.requests
    assert verifies(OTHER_SECRET, delivered) and not verifies(added["secret"], delivered)
    short = "whsec_" + base64.b64encode(b"short").decode()
    for secret in ("s3cret-for-the-bureau-platform", "whsec_not base64!", short):
        with pytest.raises(InvalidInput) as refused:
            huhua.execute(RotateWebhookSecret(added["id"], "admin", secret))
        assert refused.value.problems[0].field == "secret"
        with pytest.raises(InvalidInput):
            huhua.execute(AddWebhook(receiver.url, "admin", secret=secret))
    for grace in (-1, 24 * 365, float("nan")):
        with pytest.raises(InvalidInput) as refused:
            huhua.execute(RotateWebhookSecret(added["id"], "admin", grace_hours=grace))
        assert refused.value.problems[0].field == "grace_hours"
    with pytest.raises(InvalidInput):  # the same secret again is no rotation
        huhua.execute(RotateWebhookSecret(added["id"], "admin", OTHER_SECRET))
    with pytest.raises(Forbidden):
        huhua.execute(RotateWebhookSecret(added["id"], "zhuhui-zr"))
    with pytest.raises(NotFound):
        huhua.execute(RotateWebhookSecret(added["id"] + 1, "admin"))


def test_a_subscription_from_before_standard_webhooks_signs_under_its_old_secret_text(
        huhua: Huhua, clock: VirtualClock, client: FlaskClient) -> None:
    """Its receiver keeps its secret: the key is the text's bytes (``Webhook(old.encode())``)."""
    deploy_fixtures(huhua, "straight.bpmn")
    old_secret = "5f0c" * 16  # the 64 hex digits the engine used to make
    with http_receiver() as receiver:
        with huhua.services.database.engine.begin() as connection:
            subscription = connection.execute(insert(tables.webhook_subscription).values(
                url=receiver.url, events="instance_started", secret=old_secret, active=True, created_by="admin",
                created_at=datetime(2026, 1, 5, tzinfo=UTC)).returning(tables.webhook_subscription.c.id)).scalar_one()
        huhua.services.webhooks.forget()
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
        refused = client.post(f"/api/v1/webhooks/{subscription}/rotate-secret", json={"grace_hours": "a day"},
                              headers={"X-Huhua-User": "admin"})
        rotated = client.post(f"/api/v1/webhooks/{subscription}/rotate-secret", json={},
                              headers={"X-Huhua-User": "admin"})
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
        clock.advance(timedelta(hours=25))  # the grace period is over: only the whsec_ secret signs
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
    before, during, after = receiver.requests
    assert verifies(old_secret.encode(), before)
    assert verifies("whsec_" + base64.b64encode(old_secret.encode()).decode(), before)  # the same key
    assert refused.status_code == 400 and refused.json["problems"][0]["field"] == "grace_hours"
    assert rotated.status_code == 200
    assert verifies(old_secret.encode(), during) and verifies(rotated.json["secret"], during)
    for request in (before, during):  # its receiver, written before, still checks the deprecated header
        expected = hmac.new(old_secret.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-Huhua-Signature"] == f"sha256={expected}"
    assert verifies(rotated.json["secret"], after) and "X-Huhua-Signature" not in after.headers
