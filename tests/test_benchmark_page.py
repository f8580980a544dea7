"""The benchmark page draws the last bench run's figures beside their references, for administrators only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine import bench_results
from engine.bootstrap import Huhua
from engine.commands import LoadDirectory, SetPassword
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import page_wait
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in, site  # noqa: F401  (site is a fixture)


@pytest.fixture
def admin_client(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    for person in ("admin", "zhuhui-s001-bzr1"):
        huhua.execute(SetPassword(person, PASSWORD, "admin"))
    app = create_app(huhua, {"SECRET_KEY": "bench", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        yield client


def _a_bench_run(huhua: Huhua) -> None:
    """What ``python -m bench`` records and saves, for two figures on one database."""
    bench_results.on_database("SQLite")
    bench_results.compare("a", "直通流程实例", "个/s", 1728.0, 2980.0)
    bench_results.compare("f", "班主任待办首页", "ms", 2.5, 410.0, "同一查询（无索引）")
    assert bench_results.save(huhua.settings.data_dir) is not None


@pytest.fixture(autouse=True)
def _no_figures_left_over() -> Iterator[None]:
    yield
    bench_results._rows.clear()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_page_lists_each_figure_beside_its_reference(huhua: Huhua, admin_client: FlaskClient) -> None:
    assert "尚无基准数据" in admin_client.get("/admin/benchmarks").get_data(as_text=True)
    _a_bench_run(huhua)
    page = admin_client.get("/admin/benchmarks").get_data(as_text=True)
    assert "直通流程实例" in page and "1728.0 个/s" in page and "2980.0 个/s" in page and "0.58" in page
    assert "同一查询（无索引）" in page and "0.01" in page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unreadable_results_file_reads_as_no_figures(huhua: Huhua, admin_client: FlaskClient) -> None:
    huhua.settings.data_dir.mkdir(parents=True, exist_ok=True)
    (huhua.settings.data_dir / bench_results.FILE_NAME).write_text("{not json", encoding="utf-8")
    answer = admin_client.get("/admin/benchmarks")
    assert answer.status_code == 200 and "尚无基准数据" in answer.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_only_administrators_see_the_figures(huhua: Huhua, admin_client: FlaskClient) -> None:
    admin_client.post("/logout")
    admin_client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": PASSWORD})
    assert admin_client.get("/admin/benchmarks").status_code == 403


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_figures_are_drawn_as_a_chart(site: tuple[Huhua, str]) -> None:  # noqa: F811
    huhua, base = site
    _a_bench_run(huhua)
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(base + "/admin/benchmarks")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        assert browser.execute_script("return document.querySelectorAll('#ratios canvas').length") >= 1
        assert "班主任待办首页" in browser.find_element(By.ID, "bench-table").text
        browser.save_screenshot(str(ARTIFACTS / "benchmarks.png"))
    finally:
        browser.quit()
