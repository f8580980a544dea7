"""Sessions end when they should (log-out, a new password, deactivation) and log-in is throttled, as a browser
and a program meet them over HTTP. Issue 11, "Accounts": a session cookie kept working after log-out and after a
password change; 50 wrong passwords in 12 s, then the right one, were accepted."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login import encode_cookie

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CreateApiToken, LoadDirectory, SetAccountActive, SetPassword, UnlockLogIn
from engine.commands.login_throttle import LOCK
from engine.config import DEFAULT_LOGIN_ACCOUNT_LIMIT as ACCOUNT_LIMIT
from engine.config import DEFAULT_LOGIN_ADDRESS_LIMIT as ADDRESS_LIMIT
from engine.config import Settings, load_settings
from engine.errors import Forbidden, NotFound
from engine.org.profiles import generate
from engine.web import create_app

TEACHER, OFFICER, PASSWORD = "zhuhui-s001-bzr1", "zhuhui-zr", "correct horse"
ATTACKER_ADDRESS = "203.0.113.9"


@pytest.fixture
def app(huhua: Huhua) -> Flask:
    """The app as it is served: no trusted user header, CSRF on."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    for user in (TEACHER, OFFICER):
        huhua.execute(SetPassword(user, PASSWORD, "admin"))
    return create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False})


@pytest.fixture
def browser(app: Flask) -> Callable[..., FlaskClient]:
    """A new browser, from an address of its own if given."""
    def make(address: str = "127.0.0.1") -> FlaskClient:
        return _from(app, address)
    return make


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _log_in(client: FlaskClient, user: str, password: str = PASSWORD, query: str = ""):  # type: ignore[no-untyped-def]
    return client.post(f"/login{query}", data={"username": user, "password": password, "csrf_token": _csrf(client)})


def _session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _replay(app: Flask, cookie: str) -> FlaskClient:
    """Another browser holding a copy of the cookie (stolen, or kept after log-out)."""
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    return thief


def _refused(client: FlaskClient) -> None:
    """Pages send the browser to log in; the API answers 401."""
    page = client.get("/inbox")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/api/v1/tasks").status_code == 401


def _admitted(client: FlaskClient) -> None:
    assert client.get("/inbox").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 200


def test_a_session_cookie_replayed_after_log_out_is_refused(app: Flask, browser: Callable[..., FlaskClient]) -> None:
    client = browser()
    assert _log_in(client, TEACHER).status_code == 302
    _admitted(client)
    cookie = _session_cookie(client)
    _admitted(_replay(app, cookie))  # a copy works while the session runs

    assert client.post("/logout", data={"csrf_token": _csrf(client, "/inbox")}).status_code == 302
    _refused(client)
    _refused(_replay(app, cookie))  # the copy died with the log-out


def test_log_out_ends_only_that_session(app: Flask, browser: Callable[..., FlaskClient]) -> None:
    phone, desk = browser(), browser()
    _log_in(phone, TEACHER), _log_in(desk, TEACHER)
    phone.post("/logout", data={"csrf_token": _csrf(phone, "/inbox")})
    _refused(phone)
    _admitted(desk)


def test_a_new_password_ends_every_session_of_the_account(huhua: Huhua, app: Flask,
                                                           browser: Callable[..., FlaskClient]) -> None:
    teacher, other = browser(), browser()
    _log_in(teacher, TEACHER), _log_in(other, OFFICER)
    cookie = _session_cookie(teacher)

    huhua.execute(SetPassword(TEACHER, "a new secret", "admin"))
    _refused(teacher)
    _refused(_replay(app, cookie))
    _admitted(other)  # someone else's session goes on
    assert _log_in(browser(), TEACHER).status_code == 401  # the old password no longer opens it
    again = browser()
    assert _log_in(again, TEACHER, "a new secret").status_code == 302
    _admitted(again)


def test_a_remember_me_cookie_of_an_ended_session_opens_nothing(app: Flask,
                                                                 browser: Callable[..., FlaskClient]) -> None:
    """No remember-me cookie is set; one made (signed with the app's key) from a session key is checked like the
    session itself, so it dies at log-out too."""
    client = browser()
    _log_in(client, TEACHER)
    assert client.get_cookie("remember_token") is None
    session_key = app.session_interface.get_signing_serializer(app).loads(_session_cookie(client))["_user_id"]
    with app.test_request_context():
        remembered = encode_cookie(session_key)
    _admitted(_remembering(app, remembered))

    client.post("/logout", data={"csrf_token": _csrf(client, "/inbox")})
    _refused(_remembering(app, remembered))


def _remembering(app: Flask, cookie: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("remember_token", cookie)
    return client


def test_deactivation_ends_sessions_and_stops_tokens_at_the_next_request(
        huhua: Huhua, app: Flask, browser: Callable[..., FlaskClient]) -> None:
    client = browser()
    _log_in(client, TEACHER)
    bearer = {"Authorization": f"Bearer {huhua.execute(CreateApiToken(TEACHER, '对接', 'admin'))['token']}"}
    program = browser()
    assert program.get("/api/v1/tasks", headers=bearer).status_code == 200

    with pytest.raises(Forbidden):
        huhua.execute(SetAccountActive(TEACHER, False, OFFICER))  # the administrator's alone
    # a person never given a password is deactivated all the same (an inactive account row stops their tokens)
    assert huhua.execute(SetAccountActive("zhuhui-s001-bzr2", False, "admin"))["active"] is False
    with pytest.raises(NotFound):
        huhua.execute(SetAccountActive("zhuhui-s001-bzr3", True, "admin"))  # nothing to make active again
    assert huhua.execute(SetAccountActive(TEACHER, False, "admin"))["sessions_ended"] == 1
    _refused(client)
    assert program.get("/api/v1/tasks", headers=bearer).status_code == 401
    assert _log_in(browser(), TEACHER).status_code == 401

    huhua.execute(SetAccountActive(TEACHER, True, "admin"))
    assert program.get("/api/v1/tasks", headers=bearer).status_code == 200  # unrevoked tokens work again
    _refused(client)  # the ended session stays ended

    huhua.execute(SetAccountActive(TEACHER, False, "admin"))
    huhua.execute(SetPassword(TEACHER, "a new secret", "admin"))
    assert _log_in(browser(), TEACHER, "a new secret").status_code == 401  # a new password does not reactivate
    huhua.execute(SetAccountActive(TEACHER, True, "admin"))
    assert _log_in(browser(), TEACHER, "a new secret").status_code == 302
    assert program.get("/api/v1/tasks", headers=bearer).status_code == 401  # but it ended the tokens


def _wrong_passwords(clock: VirtualClock, client: FlaskClient, user: str, times: int,
                     spread: timedelta = timedelta(seconds=12)) -> list[int]:
    codes = []
    for _ in range(times):
        codes.append(_log_in(client, user, "wrong password").status_code)
        clock.advance(spread / times)
    return codes


def test_fifty_wrong_passwords_then_the_right_one_are_refused_until_the_lock_ends(
        clock: VirtualClock, browser: Callable[..., FlaskClient]) -> None:
    attacker = browser(ATTACKER_ADDRESS)
    codes = _wrong_passwords(clock, attacker, TEACHER, 50)
    assert codes[:ACCOUNT_LIMIT - 1] == [401] * (ACCOUNT_LIMIT - 1) and set(codes[ACCOUNT_LIMIT - 1:]) == {429}

    right = _log_in(attacker, TEACHER)
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 14 * 60
    page = right.get_data(as_text=True)
    assert "登录失败次数过多" in page and re.search(r"请于 \d\d:\d\d（北京时间）后再试", page)
    assert _session_cookie_absent(attacker)
    # the lock is the account's, from any address; it is told in English to whoever chose English
    elsewhere = browser("198.51.100.7")
    english = _log_in(elsewhere, TEACHER, query="?lang=en")
    assert english.status_code == 429 and "Too many failed log-ins for this account" in english.get_data(as_text=True)

    clock.advance(LOCK)
    assert _log_in(attacker, TEACHER).status_code == 302


def _session_cookie_absent(client: FlaskClient) -> bool:
    return client.get("/api/v1/tasks").status_code == 401


def test_a_different_account_from_the_same_address_is_not_locked_by_a_few_failures(
        clock: VirtualClock, browser: Callable[..., FlaskClient]) -> None:
    shared = browser(ATTACKER_ADDRESS)  # a school's network: many people behind one address
    _wrong_passwords(clock, shared, TEACHER, 50)
    _wrong_passwords(clock, shared, OFFICER, 2)
    assert _log_in(shared, OFFICER).status_code == 302


def test_many_accounts_tried_from_one_address_lock_the_address(
        clock: VirtualClock, browser: Callable[..., FlaskClient]) -> None:
    sprayer = browser(ATTACKER_ADDRESS)
    names = [f"zhuhui-s00{school}-bzr{n}" for school in (1, 2, 3) for n in range(1, 6)]
    for index in range(ADDRESS_LIMIT):  # a few guesses at each of many names: no name reaches its own limit
        _log_in(sprayer, names[index % len(names)], "Huhua@2026")
    locked = _log_in(sprayer, OFFICER)
    assert locked.status_code == 429 and "此网络地址登录失败次数过多" in locked.get_data(as_text=True)
    assert _log_in(browser("198.51.100.7"), OFFICER).status_code == 302  # the account itself is not locked
    clock.advance(LOCK)
    assert _log_in(sprayer, OFFICER).status_code == 302


def test_the_lock_holds_in_every_web_process_and_after_a_restart(
        settings: Settings, clock: VirtualClock, huhua: Huhua, app: Flask) -> None:
    first = _from(app, ATTACKER_ADDRESS)
    _wrong_passwords(clock, first, TEACHER, ACCOUNT_LIMIT)
    restarted = bootstrap(settings, clock=clock, upgrade=False)  # another gunicorn worker, or the next start
    try:
        other_worker = create_app(restarted, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False})
        client = _from(other_worker, "198.51.100.7")
        assert _log_in(client, TEACHER).status_code == 429
        restarted.execute(UnlockLogIn(TEACHER, "admin"))  # the administrator lifts it for the real person
        assert _log_in(client, TEACHER).status_code == 302
    finally:
        restarted.close()


def test_a_session_lasts_its_hours_on_the_peoples_clock_not_the_engines(
        huhua: Huhua, clock: VirtualClock) -> None:
    """HUHUA_SESSION_HOURS of real time, however far a simulation moves the engine's virtual clock."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword(TEACHER, PASSWORD, "admin"))
    wall = VirtualClock(datetime(2026, 12, 6, 9, tzinfo=UTC))
    app = create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False, "HUHUA_PERSON_CLOCK": wall})
    app.permanent_session_lifetime = timedelta(hours=8)
    client = app.test_client()
    _log_in(client, TEACHER)
    clock.advance(timedelta(days=30))  # the engine's simulated month
    wall.advance(timedelta(hours=7, minutes=59))
    _admitted(client)
    wall.advance(timedelta(minutes=2))
    _refused(client)  # an absolute end: using the session does not stretch it


def test_a_person_changes_their_password_and_their_other_sessions_end(
        app: Flask, browser: Callable[..., FlaskClient]) -> None:
    phone, desk = browser(), browser()
    _log_in(phone, TEACHER), _log_in(desk, TEACHER)
    old_phone_cookie = _session_cookie(phone)
    csrf = _csrf(phone, "/account/password")
    assert 'href="/account/password"' in phone.get("/inbox").get_data(as_text=True)

    def change(current: str, new: str, again: str | None = None):  # type: ignore[no-untyped-def]
        return phone.post("/account/password", data={"current_password": current, "new_password": new,
                                                      "confirm_password": again or new, "csrf_token": csrf})

    wrong = change("not my password", "a new secret")
    assert wrong.status_code == 401 and "当前密码不正确" in wrong.get_data(as_text=True)
    assert change(PASSWORD, "short").status_code == 400
    assert "两次输入的新密码不一致" in change(PASSWORD, "a new secret", "another one").get_data(as_text=True)
    _admitted(desk)  # nothing changed yet

    done = change(PASSWORD, "a new secret")
    assert done.status_code == 200 and "密码已修改" in done.get_data(as_text=True)
    _admitted(phone)  # this browser goes on, in a new session
    _refused(desk)
    _refused(_replay(app, old_phone_cookie))
    assert _log_in(browser(), TEACHER).status_code == 401
    assert _log_in(browser(), TEACHER, "a new secret").status_code == 302


def test_guessing_the_current_password_on_the_change_page_is_throttled(
        app: Flask, browser: Callable[..., FlaskClient]) -> None:
    """A borrowed session cannot try passwords faster than the log-in page allows."""
    borrowed = browser(ATTACKER_ADDRESS)
    _log_in(borrowed, TEACHER)
    csrf = _csrf(borrowed, "/account/password")
    codes = [borrowed.post("/account/password", data={
        "current_password": f"guess {n}", "new_password": "taken over!", "confirm_password": "taken over!",
        "csrf_token": csrf}).status_code for n in range(ACCOUNT_LIMIT + 1)]
    assert codes == [401] * (ACCOUNT_LIMIT - 1) + [429, 429]
    right = borrowed.post("/account/password", data={"current_password": PASSWORD, "new_password": "taken over!",
                                                     "confirm_password": "taken over!", "csrf_token": csrf})
    assert right.status_code == 429 and "登录失败次数过多" in right.get_data(as_text=True)


def test_the_limits_come_from_the_configuration(settings: Settings, clock: VirtualClock) -> None:
    assert load_settings({"HUHUA_LOGIN_ACCOUNT_LIMIT": "3", "HUHUA_LOGIN_ADDRESS_LIMIT": "0"}).login_account_limit == 3
    engine = bootstrap(replace(settings, login_account_limit=2, login_address_limit=0), clock=clock, upgrade=False)
    try:
        engine.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
        engine.execute(SetPassword(OFFICER, PASSWORD, "admin"))
        app = create_app(engine, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False})
        client = _from(app, ATTACKER_ADDRESS)
        assert _wrong_passwords(clock, client, TEACHER, 2) == [401, 429]
        _wrong_passwords(clock, client, TEACHER.replace("bzr1", "bzr2"), 1)
        assert _log_in(client, OFFICER).status_code == 302  # no address limit: other names from there go on
    finally:
        engine.close()
