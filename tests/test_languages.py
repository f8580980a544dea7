"""Pages in Simplified Chinese by default, and in English for a person who asks for it (Flask-Babel)."""

from __future__ import annotations

import re

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword
from engine.org.profiles import generate
from engine.web import create_app
from engine.web.i18n import CATALOGUES
from tests.conftest import PROJECT


@pytest.fixture
def client(huhua: Huhua) -> FlaskClient:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword("zhuhui-s001-bzr1", "correct horse", "admin"))
    return create_app(huhua, {"SECRET_KEY": "test-secret", "TRUST_USER_HEADER": False}).test_client()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_log_in_page_is_chinese_unless_english_is_chosen(client: FlaskClient) -> None:
    chinese = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in chinese and "用户名" in chinese and "User name" not in chinese

    chosen = client.get("/login?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in chosen and "User name" in chosen and "用户名" not in chosen
    assert "Password" in client.get("/login").get_data(as_text=True)  # the choice is kept in a cookie
    client.get("/login?lang=zh_Hans_CN")
    assert "密码" in client.get("/login").get_data(as_text=True)
    assert "密码" in client.get("/login?lang=klingon").get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_wrong_password_is_told_in_the_persons_language(client: FlaskClient) -> None:
    page = client.get("/login?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "wrong", "csrf_token": token})
    assert answer.status_code == 401
    assert "Wrong user name or password" in answer.get_data(as_text=True)


def test_every_text_of_the_pages_has_its_english_translation() -> None:
    """A text added to a page without its translation would show in Chinese on an English page."""
    method_map = [("engine/web/**.py", "python"), ("engine/web/templates/**.html", "jinja2")]  # as babel.cfg
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None}
    texts = {message for _file, _line, message, *_ in extract_from_dir(PROJECT, method_map, keywords=keywords)
             if isinstance(message, str)}
    with (CATALOGUES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        english = {m.id: m.string for m in read_po(po) if m.id}
    assert len(texts) >= 7
    assert sorted(t for t in texts if not english.get(t)) == []
