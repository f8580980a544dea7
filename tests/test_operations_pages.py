"""The administrators' operations pages over HTTP: each one the administrator's, each with the shared navigation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword
from engine.org.profiles import generate
from engine.web import create_app

PAGES = ["/admin/instances", "/admin/jobs", "/admin/schedules", "/admin/calendar", "/admin/org"]


def _logged_in(huhua: Huhua, user: str) -> Iterator[FlaskClient]:
    huhua.execute(SetPassword(user, "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": user, "password": "correct horse"})
        yield client


@pytest.fixture
def administrator(huhua: Huhua) -> Iterator[FlaskClient]:
    yield from _logged_in(huhua, "admin")


@pytest.fixture
def teacher(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    yield from _logged_in(huhua, "zhuhui-s001-bzr1")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_operations_page_shows_the_navigation_with_itself_marked(administrator: FlaskClient) -> None:
    for page in ["/admin/", "/admin/dashboard", *PAGES]:
        answer = administrator.get(page)
        assert answer.status_code == 200, page
        html = answer.get_data(as_text=True)
        for link in PAGES:
            assert f'href="{link}"' in html
        assert 'aria-current="page"' in html
    assert 'value="2026"' in administrator.get("/admin/calendar").get_data(as_text=True)  # Beijing's year now


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_operations_pages_are_refused_to_others(teacher: FlaskClient) -> None:
    for page in PAGES:
        assert teacher.get(page).status_code == 403
    teacher.post("/logout")
    for page in PAGES:
        answer = teacher.get(page)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"]
