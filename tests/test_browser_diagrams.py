"""Every shipped process opens in bpmn-js as its file draws it, and the web modeler saves the layout it was given.

An administrator opens the modeler (Debian's Chromium, headless), and bpmn-js draws each process of the library:
the pool, every lane, every flow node and every sequence flow, each shape where the file's diagram puts it
(auto-layout would put it elsewhere); so does a model with every kind of element the tool draws (two pools and
a message flow, a collapsed sub-process on its own plane, artifacts). Saved without a change, and saved after
moving a task, the stored version keeps the file's diagram and the move; a model written without a diagram
still opens, laid out on the fly. An instance's page marks its open task on the file's own diagram.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready

from engine.bootstrap import Huhua
from engine.bpmn import diagram
from engine.commands import ENGINE, DeployModels, LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from tests.helpers import deploy_fixtures, page_wait, served_in_thread
from tests.test_browser import ARTIFACTS, PASSWORD, _browser, _log_in
from tests.test_diagrams import CONSTRUCTS, LANED, NS, SHIPPED

#: What bpmn-js drew: every shape but labels, with its bounds, and every connection.
DRAWN = """
    const drawn = {shapes: {}, connections: []};
    modeler.get('elementRegistry').getAll().forEach(e => {
      if (e.type === 'label' || !e.parent) return;
      if (e.waypoints) drawn.connections.push(e.id);
      else drawn.shapes[e.id] = [e.x, e.y, e.width, e.height];
    });
    return drawn;
"""
#: Import a file into the page's modeler and answer what it drew.
IMPORTED = """
    const [xml, done] = arguments;
    modeler.importXML(xml).then(() => done((() => {""" + DRAWN + """})()), error => done({error: String(error)}));
"""


@pytest.fixture
def site(huhua: Huhua) -> Iterator[tuple[Huhua, str]]:
    huhua.execute(DeployModels((("laned.bpmn", diagram.lay_out(LANED, "laned.bpmn")),), "admin", "test"))
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword("admin", PASSWORD, "admin"))
    with served_in_thread(huhua) as base:
        yield huhua, base


def _diagram(xml: str) -> tuple[dict[str, list[float]], list[str], list[str]]:
    """The file's shapes (bounds by element id), its sequence flows, and its lanes and pools."""
    root = etree.fromstring(xml.encode())
    shapes = {s.get("bpmnElement"): [float(s.find("dc:Bounds", NS).get(k)) for k in ("x", "y", "width", "height")]
              for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    flows = [f.get("id") for f in root.iterfind(".//bpmn:sequenceFlow", NS)]
    containers = [e.get("id") for e in root.iterfind(".//bpmn:lane", NS)] + \
        [e.get("id") for e in root.iterfind(".//bpmn:participant", NS)]
    return shapes, flows, containers


def _newest(huhua: Huhua, key: str) -> dict[str, Any]:
    return max(huhua.queries.definitions(key=key), key=lambda d: d["version"])


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_shipped_process_opens_as_drawn_and_the_modeler_keeps_its_layout(site: tuple[Huhua, str]) -> None:
    huhua, base = site
    laned = _newest(huhua, "laned")
    plain = deploy_fixtures(huhua, "teacher_report.bpmn")["processes"][0]["definition_id"]
    browser = _browser(1366, 900)
    wait = page_wait(browser, 30)

    def open_modeler(definition_id: int) -> dict[str, Any]:
        browser.get(f"{base}/admin/processes/{definition_id}/edit")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        return browser.execute_script(DRAWN)

    try:
        _log_in(browser, wait, base, "admin")
        wait.until(ready.url_contains("/inbox"))
        # a model written without a diagram still opens, laid out by bpmn-auto-layout
        assert "home_visit" in open_modeler(plain)["shapes"]
        constructs = diagram.lay_out(CONSTRUCTS.read_bytes(), CONSTRUCTS.name).decode()
        models = [(path.name, path.read_text(encoding="utf-8")) for path in SHIPPED] + [(CONSTRUCTS.name, constructs)]
        for name, xml in models:  # each shipped file (and every kind of element), imported by the page's modeler
            shapes, flows, containers = _diagram(xml)
            drawn = browser.execute_async_script(IMPORTED, xml)
            assert shapes and {k: drawn["shapes"].get(k) for k in shapes} == shapes, name
            assert set(flows) <= set(drawn["connections"]), name
            assert set(containers) <= set(drawn["shapes"]), name

        # an instance's page shows where its token is on the file's own diagram
        shapes, _, _ = _diagram(huhua.queries.definition_model(laned["id"])[1])
        started = huhua.execute(StartInstance("laned", "admin", org_scope="zhuhui-s001", origin=ENGINE))
        browser.get(f"{base}/admin/instances/{started['id']}")
        wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'yes'"))
        active = browser.execute_script("""return [...document.querySelectorAll('.djs-element.huhua-active')]
            .map(e => e.dataset.elementId)""")
        at = browser.execute_script("const m = document.querySelector('[data-element-id=review]')"
                                    ".transform.baseVal.consolidate().matrix; return [m.e, m.f];")
        assert active == ["review"] and at == shapes["review"][:2]

        # opened by the page itself, saved without a change and then with a task moved: the stored versions keep
        # the file's layout (and the move)
        assert open_modeler(laned["id"])["shapes"] == shapes
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "第 2 版"))
        saved = huhua.queries.definition_model(_newest(huhua, "laned")["id"])[1]
        assert _diagram(saved)[0] == shapes
        assert 'name="role"' in saved  # the lanes still say whom their tasks go to
        open_modeler(_newest(huhua, "laned")["id"])
        browser.execute_script("""
            const registry = modeler.get('elementRegistry');
            modeler.get('modeling').moveShape(registry.get('review'), {x: 40, y: 0});
        """)
        browser.find_element(By.ID, "deploy").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "message"), "第 3 版"))
        moved = _diagram(huhua.queries.definition_model(_newest(huhua, "laned")["id"])[1])[0]
        assert moved["review"] == [shapes["review"][0] + 40, *shapes["review"][1:]]
        assert moved["sign"] == shapes["sign"]
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "modeler_laid_out.png"))
    finally:
        browser.quit()
