"""The inbox over HTTP: filters and paging done by the database, saved filters, attachments, the history beside
a task, and a task someone else got to first (409, saying who and when), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import AddAttachment, DeployModels, LoadDirectory, SetPassword
from engine.errors import InvalidInput, TooLarge
from engine.org.profiles import generate
from engine.store import tables
from engine.web import create_app
from tests.helpers import deploy_fixtures, one_task_model, start_at

ME, COLLEAGUE, STRANGER = "zhuhui-s001-bzr1", "zhuhui-s001-bzr2", "qidong-s001-bzr1"
#: A task offered by name, with no due date.
NOTICE = one_task_model("notice", "阅读通知", "阅读100%通知", "candidateUsers", "=readers").encode()
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    huhua.execute(DeployModels((("notice.bpmn", NOTICE),), "admin"))
    app = create_app(huhua, {"TESTING": True})
    with app.test_client() as client:
        yield client


def _start(huhua: Huhua, process: str, unit: str, **variables: object) -> int:
    """The open task of a new instance the engine starts at ``unit``."""
    return huhua.queries.instance(start_at(huhua, process, unit, **variables))["open_tasks"][0]["id"]


def _ids(client: FlaskClient, user: str = ME, **query: object) -> list[int]:
    answer = client.get("/api/v1/tasks", query_string=query, headers=_as(user))
    assert answer.status_code == 200, answer.json
    return [t["id"] for t in answer.json]


@pytest.fixture
def three(huhua: Huhua, client: FlaskClient, clock: VirtualClock) -> tuple[int, int, int]:
    """Due Thursday 17:30 (started Monday), due Friday 17:30 (started Tuesday), no due date (another unit)."""
    thursday = _start(huhua, "teacher_report", "zhuhui-s001")
    _start(huhua, "teacher_report", "qidong-s001")  # someone else's school
    clock.advance(timedelta(days=1))  # Tuesday 08:30 in Shanghai
    friday = _start(huhua, "teacher_report", "zhuhui-s001")
    notice = _start(huhua, "notice", "zhuhui-s002", readers=[ME])
    return thursday, friday, notice


def test_each_filter_is_answered_by_the_database(client: FlaskClient, three: tuple[int, int, int],
                                                 clock: VirtualClock) -> None:
    thursday, friday, notice = three
    assert _ids(client) == [thursday, friday, notice]  # due first, no due date last
    assert _ids(client, COLLEAGUE) == [thursday, friday]  # offered to the class teachers, not the notice
    assert _ids(client, due="none") == [notice]
    assert _ids(client, due="overdue") == []
    assert _ids(client, due="today") == []
    assert _ids(client, due="within", within_days=2) == [thursday]  # Tuesday + 2 working days: Thursday
    assert _ids(client, due="within", within_days=3) == [thursday, friday]
    assert _ids(client, process="notice") == [notice]
    assert _ids(client, unit="zhuhui-s002") == [notice]
    assert _ids(client, q="家访") == [thursday, friday]
    assert _ids(client, q="100% 通知") == [notice]  # every word, % taken literally
    assert _ids(client, q="%") == [notice]
    assert _ids(client, sort="due_desc") == [friday, thursday, notice]
    assert _ids(client, sort="newest") == [notice, friday, thursday]
    clock.advance(timedelta(days=2))  # Thursday 08:30
    assert _ids(client, due="today") == [thursday]
    clock.advance(timedelta(hours=10))  # Thursday 18:30: past Thursday's 17:30
    assert _ids(client, due="overdue") == [thursday]


def test_views_mine_offered_open_and_done(client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday, friday, notice = three
    assert _ids(client, view="mine") == []
    assert client.post(f"/api/v1/tasks/{friday}/claim", headers=_as(ME)).status_code == 200
    assert _ids(client, view="mine") == [friday]
    assert _ids(client, view="offered") == [thursday, notice]
    assert _ids(client, view="open") == [thursday, friday, notice]
    assert _ids(client, COLLEAGUE) == [thursday]  # claimed: no longer offered to the colleague
    done = client.post(f"/api/v1/tasks/{friday}/complete", headers=_as(ME),
                       json={"data": {"student": "小明", "visits": 1, "notes": "正常"}})
    assert done.status_code == 200, done.json
    assert _ids(client, view="done") == [friday] and _ids(client, COLLEAGUE, view="done") == []
    assert friday not in _ids(client)


def test_paging_and_the_total(client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday, friday, notice = three
    first = client.get("/api/v1/tasks", query_string={"limit": 2}, headers=_as(ME))
    assert [t["id"] for t in first.json] == [thursday, friday] and first.headers["X-Total-Count"] == "3"
    second = client.get("/api/v1/tasks", query_string={"limit": 2, "offset": 2}, headers=_as(ME))
    assert [t["id"] for t in second.json] == [notice] and second.headers["X-Total-Count"] == "3"
    narrowed = client.get("/api/v1/tasks", query_string={"q": "家访", "limit": 1}, headers=_as(ME))
    assert len(narrowed.json) == 1 and narrowed.headers["X-Total-Count"] == "2"


@pytest.mark.parametrize(("query", "field"), [({"due": "someday"}, "due"), ({"view": "everyone"}, "view"),
                                              ({"due": "within", "within_days": "0"}, "within_days"),
                                              ({"sort": "name"}, "sort"), ({"q": "长" * 101}, "q"),
                                              ({"unit": "a\x00b"}, "unit")])
def test_a_bad_filter_is_refused_naming_its_field(client: FlaskClient, query: dict, field: str) -> None:
    answer = client.get("/api/v1/tasks", query_string=query, headers=_as(ME))
    assert answer.status_code == 400 and [p["field"] for p in answer.json["problems"]] == [field]


def test_saved_filters_round_trip_and_belong_to_their_owner(client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday, friday, _notice = three
    saved = client.post("/api/v1/saved-filters", headers=_as(ME),
                        json={"name": "本周家访", "filters": {"q": "家访", "due": "within", "within_days": 3}})
    assert saved.status_code == 201, saved.json
    assert saved.json["filters"] == {"q": "家访", "due": "within", "within_days": 3}
    listed = client.get("/api/v1/saved-filters", headers=_as(ME)).json
    assert [(f["name"], f["filters"]) for f in listed] == [("本周家访", saved.json["filters"])]
    assert _ids(client, **listed[0]["filters"]) == [thursday, friday]  # applying it lists what it names
    again = client.post("/api/v1/saved-filters", headers=_as(ME),
                        json={"name": "本周家访", "filters": {"due": "overdue"}})  # the same name replaces
    assert again.status_code == 200 and again.json["id"] == saved.json["id"]
    assert client.get("/api/v1/saved-filters", headers=_as(ME)).json[0]["filters"] == {"due": "overdue"}
    assert client.get("/api/v1/saved-filters", headers=_as(COLLEAGUE)).json == []  # nobody else sees it
    assert client.delete(f"/api/v1/saved-filters/{saved.json['id']}", headers=_as(COLLEAGUE)).status_code == 404
    bad = client.post("/api/v1/saved-filters", headers=_as(ME), json={"name": "坏", "filters": {"due": "someday"}})
    assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "due"
    assert client.post("/api/v1/saved-filters", headers=_as(ME), json={"name": " ", "filters": {}}).status_code == 400
    assert client.delete(f"/api/v1/saved-filters/{saved.json['id']}", headers=_as(ME)).status_code == 200
    assert client.get("/api/v1/saved-filters", headers=_as(ME)).json == []


def test_attachments_upload_list_download_and_refusals(client: FlaskClient, huhua: Huhua,
                                                       three: tuple[int, int, int]) -> None:
    thursday, _friday, _notice = three
    url = f"/api/v1/tasks/{thursday}/attachments"

    def upload(content: bytes, name: str, user: str = ME) -> object:
        return client.post(url, headers=_as(user), content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), name)})

    added = upload(PDF, "../家访记录 3月.pdf")
    assert added.status_code == 201, added.json
    assert added.json["name"] == "家访记录 3月.pdf" and added.json["content_type"] == "application/pdf"
    assert upload(PNG, "IMG_0001").json["name"] == "IMG_0001.png"  # a phone photo without an extension
    sheet = io.BytesIO()
    with zipfile.ZipFile(sheet, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert upload(sheet.getvalue(), "名单.xlsx").json["content_type"].endswith("spreadsheetml.sheet")
    assert upload("学生,次数\n小明,2\n".encode(), "统计.csv").status_code == 201

    listed = client.get(url, headers=_as(COLLEAGUE)).json  # a fellow candidate may see the task, so its files
    assert [a["name"] for a in listed] == ["家访记录 3月.pdf", "IMG_0001.png", "名单.xlsx", "统计.csv"]
    got = client.get(f"/api/v1/attachments/{listed[0]['id']}", headers=_as(COLLEAGUE))
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and unquote(disposition.split("UTF-8''")[1]) == "家访记录 3月.pdf"
    assert got.headers["X-Content-Type-Options"] == "nosniff"

    # another county's teacher: as if none of it existed
    assert client.get(f"/api/v1/attachments/{listed[0]['id']}", headers=_as(STRANGER)).status_code == 404
    assert client.get(url, headers=_as(STRANGER)).status_code == 404
    assert upload(PDF, "x.pdf", STRANGER).status_code == 404
    script = upload(b"<script>alert(1)</script>", "page.html")
    assert script.status_code == 400 and "不支持此类文件" in script.json["message"]
    assert upload(b"MZ\x90\x00binary", "setup.exe").status_code == 400
    lying = upload(PNG, "report.pdf")
    assert lying.status_code == 400 and "不符" in lying.json["message"]
    assert upload(b"", "empty.pdf").status_code == 400
    assert client.post(url, headers=_as(ME), content_type="multipart/form-data", data={}).status_code == 400
    history = client.get(f"/api/v1/tasks/{thursday}/history", headers=_as(ME)).json
    assert [e["detail"]["name"] for e in history["events"] if e["kind"] == "attachment_added"][-1] == \
        "家访记录 3月.pdf"  # newest first: the first upload is the last of them
    assert len(client.get(url, headers=_as(ME)).json) == 4  # nothing refused was kept


def test_an_attachment_over_the_limit_is_refused(huhua: Huhua, client: FlaskClient,
                                                 three: tuple[int, int, int]) -> None:
    thursday = three[0]
    limit = huhua.settings.max_attachment_bytes
    assert limit == 20 * 1024 * 1024
    big = PDF + b"0" * limit
    answer = client.post(f"/api/v1/tasks/{thursday}/attachments", headers=_as(ME), content_type="multipart/form-data",
                         data={"file": (io.BytesIO(big), "big.pdf")})
    assert answer.status_code == 413 and "不能超过 20.0 MB" in answer.json["message"]
    with pytest.raises(TooLarge):
        huhua.execute(AddAttachment(thursday, ME, "big.pdf", big))
    with pytest.raises(InvalidInput):
        huhua.execute(AddAttachment(thursday, ME, "a.exe", b"MZ"))
    assert huhua.queries.attachments(thursday) == []


def test_the_history_beside_a_task_is_capped_newest_first_with_names(
        huhua: Huhua, client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday = three[0]
    client.post(f"/api/v1/tasks/{thursday}/claim", headers=_as(ME))
    for n in range(5):
        client.post(f"/api/v1/tasks/{thursday}/comments", headers=_as(ME), json={"body": f"第{n}次"})
    history = client.get(f"/api/v1/tasks/{thursday}/history", query_string={"limit": 3}, headers=_as(ME)).json
    assert history["total"] >= 8 and history["shown"] == 3  # started, task created, claimed, five comments…
    assert [e["kind"] for e in history["events"]] == ["comment_added"] * 3
    assert history["events"][0]["actor_name"] == huhua.queries.users(ids=[ME])[0]["name"]
    assert client.get(f"/api/v1/tasks/{thursday}/history", headers=_as(STRANGER)).status_code == 404
    assert client.get(f"/api/v1/tasks/{thursday}/history", query_string={"limit": 201},
                      headers=_as(ME)).status_code == 400


def test_a_task_someone_else_completed_or_claimed_answers_409_saying_who_and_when(
        client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday, friday, _notice = three
    assert client.post(f"/api/v1/tasks/{thursday}/claim", headers=_as(COLLEAGUE)).status_code == 200
    claimed = client.post(f"/api/v1/tasks/{thursday}/claim", headers=_as(ME))
    assert claimed.status_code == 409 and claimed.json["error"] == "conflict"
    assert claimed.json["task"]["by"] == COLLEAGUE and claimed.json["task"]["state"] == "claimed"
    assert claimed.json["message"].startswith("该任务已由 ") and "于 2026-03-03 08:30 认领" in claimed.json["message"]
    data = {"data": {"student": "小红", "visits": 1, "notes": "正常"}}
    assert client.post(f"/api/v1/tasks/{friday}/complete", headers=_as(COLLEAGUE), json=data).status_code == 200
    late = client.post(f"/api/v1/tasks/{friday}/complete", headers=_as(ME), json=data)
    assert late.status_code == 409 and late.json["task"] == {
        "id": friday, "state": "completed", "by": COLLEAGUE, "by_name": late.json["task"]["by_name"],
        "at": "2026-03-03T00:30:00+00:00"}
    assert late.json["message"] == f"该任务已由 {late.json['task']['by_name']} 于 2026-03-03 08:30 办结"  # a name


@pytest.fixture
def pages(huhua: Huhua, client: FlaskClient) -> FlaskClient:
    huhua.execute(SetPassword(ME, "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    browser = app.test_client()
    browser.post("/login", data={"username": ME, "password": "correct horse"})
    return browser


def test_the_pages_say_when_the_inbox_is_empty_and_who_finished_a_task(
        huhua: Huhua, client: FlaskClient, pages: FlaskClient) -> None:
    assert "暂无待办事项" in pages.get("/inbox").get_data(as_text=True)
    task = _start(huhua, "teacher_report", "zhuhui-s001")
    page = pages.get("/inbox?due=overdue").get_data(as_text=True)
    assert "没有符合筛选条件的任务" in page and "暂无待办事项" not in page
    client.post(f"/api/v1/tasks/{task}/complete", headers=_as(COLLEAGUE),
                json={"data": {"student": "小红", "visits": 1, "notes": "正常"}})
    page = pages.get(f"/inbox/tasks/{task}").get_data(as_text=True)
    colleague = huhua.queries.person_names([COLLEAGUE])[COLLEAGUE]
    assert f"该任务已由 {colleague} 于 2026-03-02 08:30 办结" in page and COLLEAGUE not in page  # a name, not an id
    assert "暂无待办事项" in pages.get("/inbox").get_data(as_text=True)
    assert "筛选条件有误" in pages.get("/inbox?due=someday").get_data(as_text=True)  # not a 500
    pages.post("/api/v1/saved-filters", json={"name": "逾期", "filters": {"due": "overdue"}})
    page = pages.get("/inbox").get_data(as_text=True)
    assert 'href="/inbox?due=overdue"' in page and "逾期" in page


def test_the_task_page_says_who_claimed_it_instead_of_offering_a_claim(
        huhua: Huhua, client: FlaskClient, pages: FlaskClient) -> None:
    task = _start(huhua, "teacher_report", "zhuhui-s001")
    assert 'id="claim"' in pages.get(f"/inbox/tasks/{task}").get_data(as_text=True)
    client.post(f"/api/v1/tasks/{task}/claim", headers=_as(COLLEAGUE))
    page = pages.get(f"/inbox/tasks/{task}").get_data(as_text=True)
    name = huhua.queries.users(ids=[COLLEAGUE])[0]["name"]
    assert f"该任务已由 {name} 认领办理" in page and 'id="claim"' not in page
    late = pages.post(f"/api/v1/tasks/{task}/claim")  # a page opened before the claim, clicked after it
    assert late.status_code == 409 and late.json["task"]["by_name"] == name


def test_the_done_view_lists_what_one_completed(huhua: Huhua, client: FlaskClient, pages: FlaskClient) -> None:
    task = _start(huhua, "teacher_report", "zhuhui-s001")
    pages.post(f"/api/v1/tasks/{task}/complete", json={"data": {"student": "小明", "visits": 2, "notes": "好"}})
    page = pages.get("/inbox?view=done").get_data(as_text=True)
    assert f'href="/inbox/tasks/{task}"' in page and "已办结" in page and "查看" in page
    assert "暂无待办事项" in pages.get("/inbox").get_data(as_text=True)


def test_a_zip_bomb_or_a_spoofed_name_is_not_taken_as_a_document(client: FlaskClient,
                                                                  three: tuple[int, int, int]) -> None:
    """An .odt whose 'mimetype' part inflates to 50 MB is refused without unpacking it; bidi overrides are dropped."""
    url = f"/api/v1/tasks/{three[0]}/attachments"
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", b"application/vnd.oasis.opendocument.text" + b" " * 50_000_000)
    assert len(bomb.getvalue()) < 200_000
    refused = client.post(url, headers=_as(ME), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(bomb.getvalue()), "计划.odt")})
    assert refused.status_code == 400 and "不支持此类文件" in refused.json["message"]
    spoofed = client.post(url, headers=_as(ME), content_type="multipart/form-data",
                          data={"file": (io.BytesIO(PDF), "report\u202efdp.exe.pdf")})
    assert spoofed.status_code == 201 and spoofed.json["name"] == "reportfdp.exe.pdf"


def test_files_go_only_to_an_open_task_from_whoever_may_work_on_it(huhua: Huhua, client: FlaskClient,
                                                                    three: tuple[int, int, int]) -> None:
    thursday, friday, _notice = three

    def upload(task_id: int, user: str) -> object:
        return client.post(f"/api/v1/tasks/{task_id}/attachments", headers=_as(user),
                           content_type="multipart/form-data", data={"file": (io.BytesIO(PDF), "记录.pdf")})

    officer = "zhuhui-zr"  # sees the instance from the county above, but the task is not theirs to work on
    assert client.get(f"/api/v1/tasks/{thursday}", headers=_as(officer)).status_code == 200
    assert upload(thursday, officer).status_code == 403
    assert upload(thursday, COLLEAGUE).status_code == 201  # offered to both teachers while unclaimed
    client.post(f"/api/v1/tasks/{thursday}/claim", headers=_as(ME))
    assert upload(thursday, COLLEAGUE).status_code == 403  # claimed by me now
    assert upload(thursday, ME).status_code == 201
    data = {"data": {"student": "小红", "visits": 1, "notes": "正常"}}
    client.post(f"/api/v1/tasks/{friday}/claim", headers=_as(ME))
    assert client.post(f"/api/v1/tasks/{friday}/complete", headers=_as(ME), json=data).status_code == 200
    closed = upload(friday, ME)
    assert closed.status_code == 409 and "已办结" in closed.json["message"]
    assert len(huhua.queries.attachments(thursday)) == 2 and huhua.queries.attachments(friday) == []


def test_a_stranger_learns_nothing_of_who_has_a_task(client: FlaskClient, three: tuple[int, int, int]) -> None:
    thursday, friday, _notice = three
    client.post(f"/api/v1/tasks/{thursday}/claim", headers=_as(COLLEAGUE))
    for path, body in ((f"{thursday}/claim", None), (f"{thursday}/unclaim", None),
                       (f"{thursday}/complete", {"data": {}}), (f"{thursday}/delegate", {"to": STRANGER}),
                       (f"{friday}/reassign", {"to": STRANGER})):
        answer = client.post(f"/api/v1/tasks/{path}", headers=_as(STRANGER), json=body)
        assert answer.status_code == 404, (path, answer.json)  # the same as a task that does not exist
        assert COLLEAGUE not in answer.get_data(as_text=True)


def test_text_that_is_not_valid_unicode_is_refused_by_name(client: FlaskClient) -> None:
    body = '{"name": "\\ud800", "filters": {"q": "x"}}'
    answer = client.post("/api/v1/saved-filters", headers={**_as(ME), "Content-Type": "application/json"}, data=body)
    assert answer.status_code == 400 and answer.json["problems"][0]["field"] == "name"
    nested = '{"name": "ok", "filters": {"q": "\\udc00"}}'
    answer = client.post("/api/v1/saved-filters", headers={**_as(ME), "Content-Type": "application/json"}, data=nested)
    assert answer.status_code == 400 and answer.json["problems"][0]["field"] == "filters.q"


def test_offers_are_marked_closed_when_their_task_leaves_the_inbox(huhua: Huhua, client: FlaskClient,
                                                                   three: tuple[int, int, int]) -> None:
    """Group inboxes read only offers still open (their index skips a role's finished offers): the mark must follow
    the task when it is completed and when its instance is terminated."""
    thursday, friday, notice = three
    c = tables.task_candidate

    def open_offers(task_id: int) -> set[bool]:
        with huhua.services.database.engine.connect() as connection:
            return set(connection.execute(select(c.c.task_open).where(c.c.task_id == task_id)).scalars())

    assert open_offers(thursday) == open_offers(notice) == {True}
    data = {"data": {"student": "小红", "visits": 1, "notes": "正常"}}
    assert client.post(f"/api/v1/tasks/{thursday}/complete", headers=_as(ME), json=data).status_code == 200
    assert open_offers(thursday) == {False}
    instance = huhua.queries.task(notice)["instance_id"]
    terminated = client.post(f"/api/v1/process-instances/{instance}/terminate", headers=_as("admin"), json={})
    assert terminated.status_code == 200
    assert open_offers(notice) == {False}
    assert open_offers(friday) == {True} and friday in _ids(client, view="offered")
