"""The pages' front-end bundles as a browser gets them: hashed names, cached for a year, brotli or gzip as the
browser accepts, only the bundle a page uses, and an app that refuses to start without the build."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword
from engine.org.profiles import generate
from engine.web import create_app
from engine.web.assets import BUILD, MissingBuild
from tests.helpers import deploy_fixtures, start_at

TEACHER = "zhuhui-s001-bzr1"


@pytest.fixture
def teacher(huhua: Huhua) -> Iterator[tuple[FlaskClient, int]]:
    """A class teacher logged in, with a task of a form open in their inbox."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    task = huhua.queries.instance(start_at(huhua, "teacher_report", "zhuhui-s001"))["open_tasks"][0]["id"]
    huhua.execute(SetPassword(TEACHER, "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "assets", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": TEACHER, "password": "correct horse"})
        yield client, task


def _scripts(page: str) -> list[str]:
    return re.findall(r'<script[^>]* src="([^"]+)"', page)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_task_page_loads_only_its_bundle_served_compressed_and_cached_for_a_year(
        teacher: tuple[FlaskClient, int]) -> None:
    client, task = teacher
    page = client.get(f"/inbox/tasks/{task}").get_data(as_text=True)
    scripts = _scripts(page)
    assert len(scripts) == 1 and re.fullmatch(r"/assets/task-[A-Z0-9]{8}\.js", scripts[0]), scripts
    assert re.search(r'<link rel="stylesheet" href="/assets/task-[A-Z0-9]{8}\.css">', page)
    plain = client.get(scripts[0], headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert plain.mimetype == "text/javascript" and b"FormViewer" in plain.data
    answers = [plain]
    brotli = (BUILD / (scripts[0].rsplit("/", 1)[1] + ".br")).read_bytes()  # made at build time
    for accepted, encoding, same in (("gzip, deflate, br", "br", lambda body: body == brotli),
                                     ("gzip, deflate", "gzip", lambda body: gzip.decompress(body) == plain.data)):
        answer = client.get(scripts[0], headers={"Accept-Encoding": accepted})
        assert answer.status_code == 200 and answer.headers["Content-Encoding"] == encoding
        assert answer.mimetype == "text/javascript" and same(answer.data)
        assert len(answer.data) < len(plain.data) / 2
        answers.append(answer)
    for answer in answers:  # the same for everyone: no cookie, no Vary: Cookie
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.headers["Vary"] == "Accept-Encoding" and "Set-Cookie" not in answer.headers
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/inbox/tasks/{task}").headers["Cache-Control"] == "no-store"  # the page itself: never


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_names_the_build_did_not_make_are_not_found(teacher: tuple[FlaskClient, int]) -> None:
    client, task = teacher
    bundle = _scripts(client.get(f"/inbox/tasks/{task}").get_data(as_text=True))[0]
    for path in ("/assets/task.js", "/assets/task-AAAAAAAA.js", "/assets/manifest.json", bundle + ".br",
                 "/assets/../pyproject.toml", "/vendor/echarts/echarts.min.js"):
        assert client.get(path).status_code == 404, path


def test_the_app_refuses_to_start_without_the_build(huhua: Huhua, tmp_path: Path) -> None:
    with pytest.raises(MissingBuild, match=r"front-end build is missing.*scripts/build_frontend\.mjs"):
        create_app(huhua, {"SECRET_KEY": "assets", "FRONTEND_BUILD": tmp_path})
