"""Log-in, sessions, CSRF and API tokens: who may call the engine over HTTP, and who may not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import CreateApiToken, LoadDirectory, LogIn, RevokeApiToken, SetPassword
from engine.errors import InvalidInput
from engine.org.profiles import generate
from engine.web import create_app


@pytest.fixture
def app_client(huhua: Huhua) -> Iterator[FlaskClient]:
    """The app as it is served: no trusted user header, CSRF on."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword("zhuhui-s001-bzr1", "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False})
    with app.test_client() as client:
        yield client


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_a_person_logs_in_and_the_api_knows_them(app_client: FlaskClient) -> None:
    assert app_client.get("/api/v1/tasks").status_code == 401  # reading needs a caller too
    assert app_client.post("/api/v1/tasks/1/claim").status_code == 401
    token = _csrf(app_client)
    answer = app_client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "correct horse",
                                             "csrf_token": token})
    assert answer.status_code == 302
    assert app_client.post("/api/v1/tasks/999/claim").status_code == 401  # a session call needs its CSRF token
    claimed = app_client.post("/api/v1/tasks/999/claim", headers={"X-CSRFToken": _csrf(app_client)})
    assert claimed.status_code == 404  # known now: the task, not the caller, is what is missing


def test_a_wrong_password_and_a_missing_csrf_token_are_refused(app_client: FlaskClient) -> None:
    token = _csrf(app_client)
    wrong = app_client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "wrong", "csrf_token": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    nobody = app_client.post("/login", data={"username": "no-such-person", "password": "x" * 8, "csrf_token": token})
    assert nobody.status_code == 401
    forged = app_client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "correct horse"})
    assert forged.status_code == 400  # no CSRF token: refused before the password is looked at
    assert app_client.post("/api/v1/tasks/1/claim").status_code == 401  # still nobody


def test_a_login_page_does_not_redirect_elsewhere(app_client: FlaskClient) -> None:
    token = _csrf(app_client)
    answer = app_client.post("/login?next=https://evil.example/x", data={
        "username": "zhuhui-s001-bzr1", "password": "correct horse", "csrf_token": token})
    assert answer.status_code == 302 and "evil" not in answer.headers["Location"]


def test_programs_use_tokens_which_can_be_revoked(huhua: Huhua, app_client: FlaskClient) -> None:
    made = huhua.execute(CreateApiToken("zhuhui-zr", "教育局平台对接", "admin"))
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert app_client.post("/api/v1/tasks/999/claim", headers=bearer).status_code == 404
    assert app_client.post("/api/v1/tasks/999/claim", headers={"Authorization": "Bearer hh_forged"}).status_code == 401
    assert app_client.post("/api/v1/tasks/999/claim", headers={"X-Huhua-User": "admin"}).status_code == 401
    huhua.execute(RevokeApiToken(made["id"], "admin"))
    assert app_client.post("/api/v1/tasks/999/claim", headers=bearer).status_code == 401


def test_accounts_belong_to_people_of_the_directory_and_passwords_have_a_length(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    with pytest.raises(InvalidInput):
        huhua.execute(SetPassword("someone-else", "long enough", "admin"))
    with pytest.raises(InvalidInput):
        huhua.execute(SetPassword("zhuhui-zr", "short", "admin"))
    no_password = huhua.execute(LogIn("zhuhui-zr", "anything", None, 60, datetime.now(UTC)))
    assert no_password["outcome"] == "refused"  # the refused password set nothing
