"""API tokens expire, note when they were last used, are listed to their owner only and can be revoked, through
the API, the command line and the pages. Issue 11, "Accounts": API tokens never expired and could not be revoked."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import CreateApiToken, LoadDirectory, RevokeApiToken, SetAccountActive, SetPassword
from engine.config import normalise_database_url
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.org.profiles import generate
from engine.store import migration
from engine.store.database import Database
from engine.web import create_app
from tests import pg_server
from tests.helpers import cli_json

TEACHER, OFFICER, PASSWORD = "zhuhui-s001-bzr1", "zhuhui-zr", "correct horse"


@pytest.fixture
def app(huhua: Huhua) -> Flask:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    for user in (TEACHER, OFFICER, "admin"):
        huhua.execute(SetPassword(user, PASSWORD, "admin"))
    return create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False})


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


@pytest.fixture
def logged_in(app: Flask) -> Callable[[str], FlaskClient]:
    def log_in(user: str) -> FlaskClient:
        client = app.test_client()
        answer = client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": _csrf(client)})
        assert answer.status_code == 302
        return client
    return log_in


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _listed(client: FlaskClient, headers: dict[str, str] | None = None, query: str = "") -> list[dict]:
    answer = client.get(f"/api/v1/tokens{query}", headers=headers or {})
    assert answer.status_code == 200, answer.json
    return answer.json  # type: ignore[return-value]


def test_a_token_expires_after_its_days_and_the_default_is_ninety(huhua: Huhua, clock: VirtualClock,
                                                                   app: Flask) -> None:
    client = app.test_client()
    short = huhua.execute(CreateApiToken(TEACHER, "一天", "admin", days=1))
    usual = huhua.execute(CreateApiToken(TEACHER, "默认", "admin"))
    assert datetime.fromisoformat(usual["expires_at"]) - datetime.fromisoformat(usual["created_at"]) == timedelta(90)
    assert client.get("/api/v1/tasks", headers=_bearer(short["token"])).status_code == 200
    clock.advance(timedelta(days=1))
    assert client.get("/api/v1/tasks", headers=_bearer(short["token"])).status_code == 401
    states = {t["id"]: t["state"] for t in _listed(client, _bearer(usual["token"]))}
    assert states == {short["id"]: "expired", usual["id"]: "active"}
    clock.advance(timedelta(days=89))
    assert client.get("/api/v1/tasks", headers=_bearer(usual["token"])).status_code == 401


def test_no_token_lasts_longer_than_the_configured_maximum(huhua: Huhua) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    longest = huhua.settings.token_max_days
    assert huhua.execute(CreateApiToken(TEACHER, "最长", "admin", days=longest))["id"]
    for days in (longest + 1, 0, -3, True, "30"):
        with pytest.raises(InvalidInput) as refused:
            huhua.execute(CreateApiToken(TEACHER, "太长", "admin", days=days))  # type: ignore[arg-type]
        assert refused.value.problems[0].field == "days"
    with pytest.raises(Forbidden):  # one makes tokens for oneself; the administrator for anyone
        huhua.execute(CreateApiToken(OFFICER, "冒名", TEACHER))


def test_last_used_at_moves_about_once_a_minute(huhua: Huhua, clock: VirtualClock, app: Flask) -> None:
    client = app.test_client()
    made = huhua.execute(CreateApiToken(TEACHER, "对接", "admin"))

    def last_used() -> str | None:
        return {t["id"]: t for t in _listed(client, _bearer(made["token"]))}[made["id"]]["last_used_at"]

    first = last_used()
    assert first is not None and datetime.fromisoformat(first) == clock.now()
    clock.advance(timedelta(seconds=30))
    assert last_used() == first  # not written again within the minute
    clock.advance(timedelta(seconds=31))
    assert datetime.fromisoformat(last_used() or "") == clock.now()


def test_listing_shows_ones_own_tokens_only(huhua: Huhua, logged_in: Callable[[str], FlaskClient]) -> None:
    mine = huhua.execute(CreateApiToken(TEACHER, "我的", "admin"))
    theirs = huhua.execute(CreateApiToken(OFFICER, "区平台", "admin"))
    teacher = logged_in(TEACHER)
    listed = _listed(teacher)
    assert [t["id"] for t in listed] == [mine["id"]]
    assert set(listed[0]) == {"id", "username", "name", "state", "created_at", "expires_at", "last_used_at",
                              "revoked_at"}  # never the token or its hash
    assert teacher.get(f"/api/v1/tokens?user={OFFICER}").status_code == 404
    assert [t["id"] for t in _listed(teacher, _bearer(theirs["token"]))] == [theirs["id"]]

    admin = logged_in("admin")
    assert [t["id"] for t in _listed(admin, query=f"?user={OFFICER}")] == [theirs["id"]]
    assert _listed(admin) == []  # the administrator's own, unless asked for someone's
    assert teacher.application.test_client().get("/api/v1/tokens").status_code == 401  # nobody: 401


def test_a_person_makes_a_token_shown_once_and_revokes_it(logged_in: Callable[[str], FlaskClient]) -> None:
    teacher = logged_in(TEACHER)
    headers = {"X-CSRFToken": _csrf(teacher, "/inbox")}
    made = teacher.post("/api/v1/tokens", json={"name": "家访登记小程序", "days": 30}, headers=headers)
    assert made.status_code == 201
    token = made.json
    assert token["username"] == TEACHER and token["token"].startswith("hh_")
    assert token["token"] not in teacher.get("/api/v1/tokens").get_data(as_text=True)
    program = teacher.application.test_client()
    assert program.get("/api/v1/tasks", headers=_bearer(token["token"])).status_code == 200

    # a token cannot make tokens (a leaked one would outlive its expiry), and bad input names its field
    assert program.post("/api/v1/tokens", json={"name": "再来一个"}, headers=_bearer(token["token"])).status_code == 403
    for body, field in (({}, "name"), ({"name": "x", "days": 0}, "days"), ({"name": "x", "days": "7"}, "days"),
                        ({"name": "x", "days": 10_000}, "days"), ({"name": ""}, "name")):
        refused = teacher.post("/api/v1/tokens", json=body, headers=headers)
        assert refused.status_code == 400 and refused.json["problems"][0]["field"] == field, (body, refused.json)

    assert teacher.delete(f"/api/v1/tokens/{token['id']}", headers=headers).status_code == 200
    assert program.get("/api/v1/tasks", headers=_bearer(token["token"])).status_code == 401
    assert _listed(teacher)[0]["state"] == "revoked"
    assert teacher.delete(f"/api/v1/tokens/{token['id']}", headers=headers).status_code == 404


def test_someone_elses_token_id_answers_404_and_stays_working(huhua: Huhua,
                                                              logged_in: Callable[[str], FlaskClient]) -> None:
    theirs = huhua.execute(CreateApiToken(OFFICER, "区平台", "admin"))
    teacher = logged_in(TEACHER)
    headers = {"X-CSRFToken": _csrf(teacher, "/inbox")}
    answers = [teacher.delete(f"/api/v1/tokens/{theirs['id']}", headers=headers),
               teacher.delete("/api/v1/tokens/987654", headers=headers)]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json["message"].replace(str(theirs["id"]), "N") == answers[1].json["message"].replace(
        "987654", "N")  # the same answer as a missing id
    program = teacher.application.test_client()
    assert program.get("/api/v1/tasks", headers=_bearer(theirs["token"])).status_code == 200
    with pytest.raises(NotFound):
        huhua.execute(RevokeApiToken(theirs["id"], TEACHER))

    admin = logged_in("admin")
    revoked = admin.delete(f"/api/v1/tokens/{theirs['id']}", headers={"X-CSRFToken": _csrf(admin, "/inbox")})
    assert revoked.status_code == 200 and revoked.json["username"] == OFFICER
    assert program.get("/api/v1/tasks", headers=_bearer(theirs["token"])).status_code == 401


def test_the_command_line_makes_lists_and_revokes_tokens_and_deactivates(huhua: Huhua, cli: Callable) -> None:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    made = cli_json(cli("accounts", "token", OFFICER, "--name", "区平台", "--days", "7", "--json"))
    assert isinstance(made, dict) and made["token"].startswith("hh_")
    expires = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert expires == timedelta(days=7)
    assert cli("accounts", "token", OFFICER, "--name", "太长", "--days", "9999").exit_code == 2
    cli("accounts", "token", TEACHER, "--name", "另一个")

    listed = cli_json(cli("accounts", "tokens", OFFICER, "--json"))
    assert [t["name"] for t in listed] == ["区平台"] and "token" not in listed[0]  # type: ignore[index]
    assert len(cli_json(cli("accounts", "tokens", "--json"))) == 2  # type: ignore[arg-type]
    assert "区平台" in cli("accounts", "tokens").output

    assert cli("accounts", "revoke", str(made["id"])).exit_code == 0
    assert cli_json(cli("accounts", "tokens", OFFICER, "--json"))[0]["state"] == "revoked"  # type: ignore[index]
    assert cli("accounts", "revoke", str(made["id"])).exit_code == 2  # no active token of that id any more
    assert cli("accounts", "revoke", "99999", "--actor", TEACHER).exit_code == 2

    cli("accounts", "password", OFFICER, "--password", PASSWORD)
    assert "deactivated" in cli("accounts", "deactivate", OFFICER).output
    assert huhua.queries.account(OFFICER) is None
    assert cli("accounts", "reactivate", OFFICER).exit_code == 0
    assert huhua.queries.account(OFFICER) is not None
    assert cli("accounts", "deactivate", "nobody-here").exit_code == 2
    assert cli("accounts", "unlock", OFFICER).exit_code == 0


def test_the_pages_list_ones_own_tokens_make_one_shown_once_and_revoke(
        huhua: Huhua, logged_in: Callable[[str], FlaskClient]) -> None:
    theirs = huhua.execute(CreateApiToken(OFFICER, "区教育局数据同步", "admin"))
    teacher = logged_in(TEACHER)
    page = teacher.get("/account/tokens")
    assert page.status_code == 200 and "我的 API 令牌" in page.get_data(as_text=True)
    assert "区教育局数据同步" not in page.get_data(as_text=True)
    assert 'href="/account/tokens"' in teacher.get("/inbox").get_data(as_text=True)  # linked from every page

    csrf = _csrf(teacher, "/account/tokens")
    made = teacher.post("/account/tokens", data={"name": "家访小程序", "days": "30", "csrf_token": csrf})
    shown = re.search(r'<code class="secret">(hh_[^<]+)</code>', made.get_data(as_text=True))
    assert made.status_code == 200 and shown is not None
    assert teacher.application.test_client().get("/api/v1/tasks", headers=_bearer(shown.group(1))).status_code == 200
    again = teacher.get("/account/tokens").get_data(as_text=True)
    assert "家访小程序" in again and shown.group(1) not in again  # listed, never shown again
    bad = teacher.post("/account/tokens", data={"name": "x", "days": "9999", "csrf_token": csrf})
    assert bad.status_code == 400 and "有效天数须为" in bad.get_data(as_text=True)
    assert teacher.post("/account/tokens", data={"name": "x", "days": "3"}).status_code == 400  # no CSRF token

    own = int(re.search(r'data-token-id="(\d+)"', again).group(1))  # type: ignore[union-attr]
    revoked = teacher.post(f"/account/tokens/{own}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 302
    assert "已撤销" in teacher.get(revoked.headers["Location"]).get_data(as_text=True)
    assert teacher.application.test_client().get("/api/v1/tasks", headers=_bearer(shown.group(1))).status_code == 401
    assert teacher.post(f"/account/tokens/{theirs['id']}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert teacher.get("/admin/tokens").status_code in (403, 404)
    assert teacher.post(f"/admin/tokens/{theirs['id']}/revoke", data={"csrf_token": csrf}).status_code in (403, 404)


def test_the_administrator_sees_and_revokes_everyones_tokens(huhua: Huhua,
                                                             logged_in: Callable[[str], FlaskClient]) -> None:
    theirs = huhua.execute(CreateApiToken(OFFICER, "区教育局数据同步", "admin"))
    huhua.execute(CreateApiToken(TEACHER, "家访小程序", "admin"))
    admin = logged_in("admin")
    nav = admin.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/tokens"' in nav
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "区教育局数据同步" in page and "家访小程序" in page and "全部 API 令牌" in page
    only = admin.get(f"/admin/tokens?user={OFFICER}").get_data(as_text=True)
    assert "区教育局数据同步" in only and "家访小程序" not in only
    csrf = _csrf(admin, "/admin/tokens")
    assert admin.post(f"/admin/tokens/{theirs['id']}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert admin.application.test_client().get("/api/v1/tasks", headers=_bearer(theirs["token"])).status_code == 401
    english = admin.get("/admin/tokens?lang=en").get_data(as_text=True)
    assert "All API tokens" in english and "Revoked" in english and "全部 API 令牌" not in english


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_gives_tokens_made_before_it_ninety_days(backend: str, request: pytest.FixtureRequest,
                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Tokens made before expiry existed keep working for 90 days from the upgrade, on both databases."""
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        server: pg_server.PostgresServer = request.getfixturevalue("postgres")
        name = f"huhua_tokens_{tmp_path.name[-12:].replace('-', '_').lower()}"
        with psycopg.connect(server.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name}")
            conn.execute(f"CREATE DATABASE {name}")
        url = normalise_database_url(server.admin_url.rsplit("/", 1)[0] + "/" + name)
        drop = name
    database = Database(url)
    try:
        migration.upgrade(database, "0015")
        with database.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO account (username, password_hash, is_admin, active, created_at) "
                "VALUES ('zhuhui-zr', 'x', false, true, '2026-01-05 00:00:00')"))
            connection.execute(text(
                "INSERT INTO api_token (token_hash, username, name, created_at) "
                "VALUES ('" + "a" * 64 + "', 'zhuhui-zr', '老令牌', '2026-01-05 00:00:00')"))
        migration.upgrade(database)
        with database.engine.connect() as connection:
            expires = connection.execute(text("SELECT expires_at FROM api_token")).scalar_one()
            sessions = connection.execute(text("SELECT count(*) FROM account_session")).scalar_one()
        expires = expires if isinstance(expires, datetime) else datetime.fromisoformat(str(expires))
        expires = expires.replace(tzinfo=expires.tzinfo or UTC)
        assert abs(expires - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5) and sessions == 0
    finally:
        database.dispose()
        if drop:
            with psycopg.connect(request.getfixturevalue("postgres").admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {drop} WITH (FORCE)")


def test_a_token_made_from_a_session_dies_with_the_password(huhua: Huhua,
                                                            logged_in: Callable[[str], FlaskClient]) -> None:
    """A stolen cookie turned into a token must not outlive the victim's new password (nor an administrator's
    reset of it); setting the same password again (to change the administrator flag) keeps tokens."""
    teacher = logged_in(TEACHER)
    made = teacher.post("/api/v1/tokens", json={"name": "脚本"}, headers={"X-CSRFToken": _csrf(teacher, "/inbox")})
    assert made.status_code == 201, made.json
    program = teacher.application.test_client()
    assert program.get("/api/v1/tasks", headers=_bearer(made.json["token"])).status_code == 200
    changed = teacher.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "a new secret 1", "confirm_password": "a new secret 1",
        "csrf_token": _csrf(teacher, "/account/password")})
    assert changed.status_code == 200
    assert program.get("/api/v1/tasks", headers=_bearer(made.json["token"])).status_code == 401

    kept = huhua.execute(CreateApiToken(OFFICER, "区平台", "admin"))["token"]
    huhua.execute(SetPassword(OFFICER, PASSWORD, "admin"))  # the same password: nothing to end
    assert program.get("/api/v1/tasks", headers=_bearer(kept)).status_code == 200
    huhua.execute(SetPassword(OFFICER, "reset by the bureau", "admin"))
    assert program.get("/api/v1/tasks", headers=_bearer(kept)).status_code == 401


def test_a_person_never_given_a_password_is_deactivated_and_a_removed_person_calls_with_nothing(
        huhua: Huhua, app: Flask) -> None:
    program = app.test_client()
    counsellor = huhua.execute(CreateApiToken("zhuhui-s001-xl1", "心理平台", "admin"))["token"]
    assert program.get("/api/v1/tasks", headers=_bearer(counsellor)).status_code == 200
    huhua.execute(SetAccountActive("zhuhui-s001-xl1", False, "admin"))  # no account row until now
    assert program.get("/api/v1/tasks", headers=_bearer(counsellor)).status_code == 401

    leaver = huhua.execute(CreateApiToken("zhuhui-s002-bzr1", "班级平台", "admin"))["token"]
    assert program.get("/api/v1/tasks", headers=_bearer(leaver)).status_code == 200
    directory = generate("demo")
    directory.people = [p for p in directory.people if p.id != "zhuhui-s002-bzr1"]
    directory.roles = [r for r in directory.roles if r.person_id != "zhuhui-s002-bzr1"]
    huhua.execute(LoadDirectory(directory, "admin", source="demo"))  # they left the school
    assert program.get("/api/v1/tasks", headers=_bearer(leaver)).status_code == 401
