"""Generated calls to every operation of the OpenAPI document, over HTTP to the app served by gunicorn on
PostgreSQL as in production: whatever they send, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from engine.bootstrap import Huhua, bootstrap
from engine.commands import ENGINE, CreateApiToken, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from tests.live_server import live_server


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_no_generated_call_gets_a_server_error(huhua: Huhua, settings: Settings) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    wall_clock = bootstrap(settings, upgrade=False)  # the served app runs on the wall clock: so must the token
    token = wall_clock.execute(CreateApiToken("admin", "fuzz", "admin"))["token"]
    wall_clock.close()
    with live_server(settings, gunicorn=True) as server:
        answered, server_errors, unauthorized = _fuzz(server.base, token)
    assert answered > 500
    assert server_errors == []
    assert unauthorized == []  # every call got past the token (an expired one would make the fuzz prove nothing)


def _fuzz(base: str, token: str) -> tuple[int, list[str], list[str]]:
    schema = schemathesis.openapi.from_url(base + "/api/v1/openapi.json")
    schema.config.update(base_url=base)
    server_errors: list[str] = []
    unauthorized: list[str] = []
    answered = 0
    for operation in schema.get_all_operations():
        operation = operation.ok()

        @hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            nonlocal answered
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            answered += 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.path} {case.body!r}: {response.text[:200]}")
            if response.status_code == 401:
                unauthorized.append(f"{case.method} {case.path}")

        call()
    return answered, server_errors, unauthorized
