"""Webhooks and service tasks reach public addresses only, in every spelling, and connect to the address checked.

No request here leaves the machine: refusals happen before any connection, addresses are numeric, and names
are answered by an injected resolver (never the system's), pointing at the loopback receiver at most.
"""

from __future__ import annotations

import ssl
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, AddWebhook, LoadDirectory, StartInstance
from engine.config import Settings
from engine.errors import InvalidInput
from engine.org.profiles import generate
from engine.outbound import OutboundPolicy, RefusedAddress
from tests.helpers import deploy_fixtures
from tests.receiver import http_receiver
from webhooks.delivery import DeliveryFailed, deliver
from workers.job_worker import run_due_jobs

#: One database: the outbound-address policy decides before any request.
DATABASES = ("sqlite",)

#: Every spelling of the cloud metadata address, then loopback, private, link-local, multicast, reserved, …
REFUSED = ["169.254.169.254", "2852039166", "0xA9FEA9FE", "0251.0376.0251.0376", "0xa9.0xfe.0xa9.0xfe",
           "169.254.43518", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "169.254.169.254.",
           "[64:ff9b::a9fe:a9fe]", "[2002:a9fe:a9fe::1]", "[fd00:ec2::254]", "100.100.100.200",
           "10.0.0.1", "172.16.5.4", "192.168.1.1", "127.0.0.2", "127.1", "0x7f000001", "2130706433", "0",
           "0.0.0.0", "[::]", "[::1]", "[::ffff:127.0.0.1]", "[fe80::1]", "[fc00::1]", "224.0.0.1", "[ff02::1]",
           "240.0.0.1", "255.255.255.255", "100.64.0.1", "192.0.0.1", "198.18.0.1"]
PUBLIC = "93.184.216.34"  # a public address, only ever handed out by the fake resolver below; never connected to


@pytest.mark.parametrize("host", REFUSED)
def test_a_webhook_to_any_spelling_of_an_inner_address_is_refused_naming_the_url(huhua: Huhua, host: str) -> None:
    huhua.services.outbound = OutboundPolicy(resolver=_no_resolver)  # as deployed: no allow-list
    with pytest.raises(InvalidInput) as refused:
        huhua.execute(AddWebhook(f"http://{host}/latest/meta-data", "admin"))
    assert refused.value.problems[0].field == "url"
    assert "url" in str(refused.value)


@pytest.mark.parametrize("host", REFUSED)
def test_delivery_and_connectors_refuse_them_before_connecting(host: str) -> None:
    policy = OutboundPolicy(resolver=_no_resolver)
    with pytest.raises(RefusedAddress):
        policy.target(f"http://{host}:8080/x")
    with pytest.raises(DeliveryFailed, match="not delivered"):
        deliver(f"http://{host}/x", ["s" * 32], {"event": "task_created"}, policy, timeout=0.5)


def test_the_allow_list_lets_a_receiver_on_this_machine_in_but_never_the_metadata_service() -> None:
    policy = OutboundPolicy.from_allow(["127.0.0.1", "169.254.0.0/16"], resolver=_no_resolver)
    assert str(policy.target("http://127.0.0.1:9/x").address) == "127.0.0.1"
    assert str(policy.target("http://2130706433:9/x").address) == "127.0.0.1"  # the same address, spelled long
    with pytest.raises(RefusedAddress, match="metadata"):
        policy.target("http://0xA9FEA9FE/")
    with pytest.raises(RefusedAddress, match="loopback"):
        policy.target("http://127.0.0.2/")
    with pytest.raises(ValueError, match="HUHUA_OUTBOUND_ALLOW"):
        OutboundPolicy.from_allow(["localhost"])


def test_a_name_that_resolves_public_when_added_and_private_at_delivery_is_not_delivered(
        settings: Settings, clock: VirtualClock, tmp_path: Path) -> None:
    answers = iter([[PUBLIC], ["10.0.0.7"]])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append(host)
        return next(answers)

    huhua = bootstrap(settings, clock=clock, upgrade=False)
    try:
        huhua.services.outbound = replace(huhua.services.outbound, resolver=rebinding)
        huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
        deploy_fixtures(huhua, "straight.bpmn")
        huhua.execute(AddWebhook("https://hooks.rebind.test/events", "admin", "instance_started"))
        huhua.execute(StartInstance("straight", "admin"))
        run_due_jobs(huhua)
        jobs = huhua.queries.jobs(kind="webhook")
        assert asked == ["hooks.rebind.test", "hooks.rebind.test"]  # checked when added and again to deliver
        assert jobs and all(j["state"] == "pending" and "10.0.0.7" in (j["last_error"] or "") for j in jobs), jobs
    finally:
        huhua.close()


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host() -> None:
    calls: list[str] = []

    def once_loopback_then_metadata(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["169.254.169.254"]

    policy = OutboundPolicy.from_allow(["127.0.0.1"], resolver=once_loopback_then_metadata)
    with http_receiver() as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        assert deliver(f"http://hooks.pinned.test:{port}/in", ["s" * 32], {"event": "task_created"}, policy) == 200
        assert calls == ["hooks.pinned.test"]  # resolved once: the connection did not ask again
        assert receiver.requests[0].headers["Host"] == f"hooks.pinned.test:{port}"
        assert receiver.requests[0].path == "/in"
        with pytest.raises(DeliveryFailed, match="metadata"):  # the next delivery checks again, and refuses
            deliver(f"http://hooks.pinned.test:{port}/in", ["s" * 32], {"event": "task_created"}, policy)
        assert len(receiver.requests) == 1


def test_a_service_task_to_an_allowed_host_name_that_resolves_inside_is_refused(
        settings: Settings, clock: VirtualClock, tmp_path: Path) -> None:
    allowed = tmp_path / "connectors.toml"
    allowed.write_text('[http]\nallow = ["*"]\ntimeout_seconds = 2\n', encoding="utf-8")
    huhua = bootstrap(replace(settings, connectors_file=allowed), clock=clock, upgrade=False)
    try:
        huhua.services.outbound = replace(huhua.services.outbound, resolver=lambda host, port: ["192.168.0.10"])
        deploy_fixtures(huhua, "push_scores.bpmn")
        huhua.execute(StartInstance("push_scores", "admin", variables={
            "receiver": "http://scores.inside.test/upload", "school": "某校"}, origin=ENGINE))
        run_due_jobs(huhua)
        jobs = huhua.queries.jobs(kind="service")
        assert jobs and "private address" in (jobs[0]["last_error"] or ""), jobs
    finally:
        huhua.close()


def _no_resolver(host: str, port: int) -> list[str]:
    raise AssertionError(f"a numeric address needs no resolving, yet '{host}' was resolved")


def test_https_goes_to_the_checked_address_with_the_name_for_sni_and_the_certificate(tmp_path: Path) -> None:
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=hooks.pinned.test", "-addext", "subjectAltName=DNS:hooks.pinned.test",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificate, key)
    names: list[str | None] = []

    def note_server_name(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server.sni_callback = note_server_name  # type: ignore[assignment]
    trusted = ssl.create_default_context(cafile=str(certificate))
    policy = replace(OutboundPolicy.from_allow(["127.0.0.1"], resolver=lambda host, port: ["127.0.0.1"]), tls=trusted)
    with http_receiver(tls=server) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        assert deliver(f"https://hooks.pinned.test:{port}/in", ["s" * 32], {"event": "task_created"}, policy) == 200
        assert names == ["hooks.pinned.test"] and receiver.requests[0].headers["Host"] == f"hooks.pinned.test:{port}"
        with pytest.raises(DeliveryFailed, match="certificate"):  # the certificate is checked against the name
            deliver(f"https://other.pinned.test:{port}/in", ["s" * 32], {"event": "task_created"}, policy)
        assert len(receiver.requests) == 1
