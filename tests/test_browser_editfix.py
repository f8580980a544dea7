"""An editor left open on a version that is no longer the newest: deploying is refused in the browser,
nothing is deployed, and the message links to the newest version. Screenshots go to artifacts/."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.commands import DeployModels
from tests.helpers import FIXTURES, page_wait
from tests.test_browser import ARTIFACTS, _browser, _log_in
from tests.test_browser_editors import _ready, site  # noqa: F401  (the fixture)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("editor", ["decisions/score_band", "forms/score_confirm", "edit"])
def test_deploying_from_a_version_that_is_no_longer_the_newest_links_to_the_newest(
        site: tuple[Huhua, str, int], editor: str) -> None:  # noqa: F811
    huhua, base, first = site
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        browser.get(f"{base}/admin/processes/{first}/{editor}")
        _ready(wait)
        # meanwhile someone deploys version 2 of the process
        changed = (FIXTURES / "score_review.bpmn").read_text().replace("确认评定结果", "复核评定结果").encode()
        second = huhua.execute(DeployModels(files=(("score_review.bpmn", changed),
                                                   ("score_band.dmn", (FIXTURES / "score_band.dmn").read_bytes())),
                                            actor="admin"))["processes"][0]
        browser.find_element(By.ID, "deploy").click()
        link = wait.until(ready.visibility_of_element_located((By.ID, "newest")))
        assert "未部署（以免覆盖之后的修改）" in browser.find_element(By.ID, "message").text
        assert link.text.endswith("第 2 版")
        assert link.get_attribute("href").startswith(f"{base}/admin/processes/{second['definition_id']}/")
        browser.save_screenshot(str(ARTIFACTS / f"stale_edit_{editor.split('/')[0]}.png"))
        assert [d["version"] for d in huhua.queries.definitions(key="score_review")] == [1, 2]
    finally:
        browser.quit()
