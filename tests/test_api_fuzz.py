"""Generated calls to every operation of the OpenAPI document: whatever they send, never a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from engine.bootstrap import Huhua
from engine.commands import CreateApiToken, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.org.profiles import generate
from engine.web import create_app


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_generated_call_gets_a_server_error(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    huhua.execute(StartInstance("monthly_school_check", "admin", org_scope="zhuhui-s001"))
    token = huhua.execute(CreateApiToken("admin", "fuzz", "admin"))["token"]
    app = create_app(huhua, {"SECRET_KEY": "fuzz", "TRUST_USER_HEADER": False})
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    server_errors: list[str] = []
    answered = 0
    for operation in schema.get_all_operations():
        operation = operation.ok()

        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            nonlocal answered
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            response = case.call()
            answered += 1
            if response.status_code >= 500:
                server_errors.append(f"{case.method} {case.path} {case.body!r}: {response.text[:200]}")

        call()
    assert answered > 500
    assert server_errors == []
