"""The Content-Security-Policy in a real browser: every page, the bpmn-js modeler and viewer, dmn-js, form-js and
ECharts included, loads and runs without a single violation (a policy that blocks a script breaks a page silently,
so the browser's own violation reports are collected from the start of each document)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By

from engine.bootstrap import Huhua
from engine.commands import ENGINE, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from tests.test_browser import PASSWORD, _browser, _log_in

#: Runs before any script of each document: keeps the page's CSP violation reports where the test can read them.
_LISTEN = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || '')));
window.__changed = performance.now();
new MutationObserver(() => { window.__changed = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"""
#: The page has loaded, and neither its document nor its resources changed for half a second: the editors and
#: charts that draw after load have drawn.
_SETTLED = """const quiet = performance.now() - 500;
return document.readyState === 'complete' && window.__changed < quiet
  && performance.getEntriesByType('resource').every(r => r.responseEnd < quiet);"""


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str]]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "score_review.bpmn", "score_band.dmn", "score_confirm.form.json", "teacher_report.bpmn",
                    "teacher_home_visit.form.json")
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_page_runs_under_the_policy_without_a_violation(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    review = huhua.execute(StartInstance("score_review", "admin", variables={"score": 70}, origin=ENGINE))
    report = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001", variables={}))
    task = huhua.queries.instance(report["id"])["open_tasks"][0]["id"]
    browser = _browser(1366, 900)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _LISTEN})
    wait = page_wait(browser, 30)
    try:
        _log_in(browser, wait, base, "admin")
        browser.get(base + "/admin/")
        editors = [a.get_attribute("href") for a in browser.find_elements(
            By.CSS_SELECTOR, ".process[data-key=score_review] a.decision, .process[data-key=score_review] a.form")]
        definition = huhua.queries.instance(review["id"])["definition_id"]
        pages = ["/inbox", f"/inbox/tasks/{task}", "/admin/", f"/admin/processes/{definition}/edit",
                 f"/admin/instances/{review['id']}", "/admin/instances", "/admin/jobs", "/admin/schedules",
                 "/admin/calendar", "/admin/org", "/admin/dashboard", "/admin/benchmarks", "/admin/audit",
                 "/admin/tokens", "/account/password", "/account/tokens"]
        assert len(editors) == 2
        seen: dict[str, list[str]] = {}
        for page in [base + p for p in pages] + editors:
            browser.get(page)
            wait.until(lambda b: b.execute_script(_SETTLED))
            seen[page] = browser.execute_script("return window.__csp")
        assert {page: found for page, found in seen.items() if found} == {}
        # and each page was served as itself, not as a refusal (a 403 or 404 page has no scripts to block)
        session = {c["name"]: c["value"] for c in browser.get_cookies()}
        cookie = "; ".join(f"{name}={value}" for name, value in session.items())
        for page in [base + p for p in pages] + editors:
            with urllib.request.urlopen(urllib.request.Request(page, headers={"Cookie": cookie})) as answer:
                assert (answer.status, answer.url) == (200, page), page  # not a redirect to the login page
        # the listener does report: an inline script added without the nonce is refused and seen
        browser.execute_script("const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
                               "document.body.appendChild(s);")
        wait.until(lambda b: any("script-src" in v for v in b.execute_script("return window.__csp")))
        assert browser.execute_script("return window.ran") is None
    finally:
        browser.quit()
