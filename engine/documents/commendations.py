"""The documents of the case collection and the showcase: the case volume and the two commendation circulars.

The volume (汇编) prints what a reader of the cases needs — the full texts, their authors and the award —
and no scores: a score is the panel's working, not part of the published collection. The circulars
(通报) are written from the process's own figures, in the order a bureau's 公文 reads: 文号, addressees,
what was done and by whom, the decision, what is asked of everyone, the issuing body and the date, and
the list of those commended attached. They are drafts until the responsible leader signs them in the
process's sign-off task.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clock import BUSINESS_TZ
from engine.documents import PDF, XLSX, DocumentError, Rendered
from engine.documents.layout import report_pdf, workbook
from engine.store.database import Database

NOTICE = "《关于进一步提升全市中小学班主任工作素养加强中小学生生命健康教育工作的实施方案》（衡教通〔2019〕41号）"
SHOWCASE_TITLES = {"advanced_unit": "先进单位", "excellent_class_teacher": "优秀班主任",
                   "advanced_individual": "先进个人"}
MAX_ENTRIES = 5000


def case_volume(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """优秀案例汇编: a contents table, then each case in full (category, author, post and class, school)."""
    cases = _entries(params, "cases")
    title = _text(params, "title", 100)
    order = {"一等奖": 0, "二等奖": 1, "三等奖": 2}
    ordered = sorted(cases, key=lambda c: (str(c.get("category", "")), order.get(str(c.get("award", "")), 9)))
    header = ["序号", "类别", "题目", "作者", "岗位", "任教班级", "学校", "县市区", "等次"]
    rows = [[n, c.get("category", ""), c.get("title", ""), c.get("author", ""), c.get("author_post", ""),
             c.get("author_class", ""), c.get("school", ""), c.get("county", ""), c.get("award", "")]
            for n, c in enumerate(ordered, start=1)]
    blocks: list[tuple[str, Any]] = [("h", "目录"), ("t", (header, rows))]
    for n, case in enumerate(ordered, start=1):
        byline = "，".join(str(part) for part in (case.get("author"), case.get("author_post"),
                                                  case.get("author_class"), case.get("school")) if part)
        blocks += [("h", f"{n}. {case.get('title', '')}"), ("p", f"{case.get('category', '')}　{byline}"),
                   ("p", f"【摘要】{case.get('summary') or ''}")]
        blocks += [("p", paragraph) for paragraph in str(case.get("full_text") or "").splitlines() if paragraph.strip()]
    files = [Rendered(f"{title}.pdf", PDF, report_pdf(title, blocks)),
             Rendered(f"{title}目录.xlsx", XLSX, workbook([("目录", header, rows)]))]
    return files, {"cases": len(rows)}


def case_commendation(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """关于表彰优秀案例的通报 of a city or a county bureau, with the list of winners attached."""
    winners = _entries(params, "winners")
    year, issuer = _text(params, "year", 4), _text(params, "issuer", 100)
    counts = {level: sum(1 for w in winners if w.get("award") == level) for level in ("一等奖", "二等奖", "三等奖")}
    submitted = params.get("submitted")
    body = [
        f"为贯彻落实{NOTICE}要求，{issuer}于{year}年下半年组织开展了优秀班主任工作案例和优秀心理健康教育及辅导案例"
        f"征集展示活动。" + (f"共收到报送案例{submitted}篇，" if isinstance(submitted, int) else "")
        + f"经专家评审，评出一等奖{counts['一等奖']}篇、二等奖{counts['二等奖']}篇、三等奖{counts['三等奖']}篇。"
          "现将获奖案例予以通报表彰，并颁发荣誉证书。",
        "希望受到表彰的教师珍惜荣誉，再接再厉，发挥示范引领作用；各单位要组织教师学习交流获奖案例，"
        "推动班主任工作和心理健康教育及辅导工作常态化、规范化。",
    ]
    header = ["序号", "类别", "案例题目", "作者", "学校", "等次"]
    rows = [[n, w.get("category", ""), w.get("title", ""), w.get("author", ""), w.get("school", ""), w.get("award", "")]
            for n, w in enumerate(winners, start=1)]
    title = f"关于表彰{year}年度心育护花优秀案例的通报"
    return _circular(title, params, issuer, now, body, [("附件：获奖案例名单", header, rows)]), {
        "title": title, "number": params.get("number"), "winners": len(rows)}


def showcase_commendation(database: Database, params: dict[str, Any], now: datetime) -> tuple[list[Rendered], dict]:
    """关于表彰先进单位、优秀班主任和先进个人的通报, naming the exchange event and listing those commended."""
    awards = _entries(params, "awards")
    year, issuer = _text(params, "year", 4), _text(params, "issuer", 100)
    event = params.get("event") if isinstance(params.get("event"), dict) else {}
    counts = {title: sum(1 for a in awards if a.get("honour") == title) for title in SHOWCASE_TITLES.values()}
    held = ""
    if event.get("date") and event.get("venue"):
        held = (f"{str(event['date'])[:10]}在{event['venue']}举办了优秀班主任工作案例和成果交流展示活动，"
                f"{event.get('presented', 0)}项案例和成果作了交流展示。")
    body = [
        f"为贯彻落实{NOTICE}要求，{issuer}于{year}年9—11月组织开展了优秀班主任工作案例和成果交流展示及评优活动，"
        + held + "经学校推荐、逐级初选、专家评审和公示，"
        + "、".join(f"{title}{count}{'个' if title == '先进单位' else '名'}"
                   for title, count in counts.items() if count)
        + "，现予以通报表彰，并颁发荣誉证书。",
        "希望受到表彰的单位和个人珍惜荣誉，发挥示范引领作用；各地各校要以先进为榜样，"
        "进一步提升班主任工作素养，扎实做好学生生命健康教育工作。",
    ]
    header = ["序号", "荣誉称号", "单位或姓名", "所在单位"]
    rows = [[n, a.get("honour", ""), a.get("recipient", ""), a.get("unit", "")] for n, a in enumerate(
        sorted(awards, key=lambda a: list(SHOWCASE_TITLES.values()).index(a["honour"])
               if a.get("honour") in SHOWCASE_TITLES.values() else 9), start=1)]
    title = f"关于表彰{year}年度心育护花行动先进单位、优秀班主任和先进个人的通报"
    return _circular(title, params, issuer, now, body, [("附件：表彰名单", header, rows)]), {
        "title": title, "number": params.get("number"), "awards": len(rows)}


def _circular(title: str, params: dict[str, Any], issuer: str, now: datetime, body: list[str],
              annexes: list[tuple[str, list[str], list[list[Any]]]]) -> list[Rendered]:
    """The circular as a PDF (文号, 主送, body, requirements, 落款) and its annex as a workbook."""
    number, addressees = _text(params, "number", 60), _text(params, "addressees", 200)
    requirements = str(params.get("requirements") or "")[:2000]
    day = now.astimezone(BUSINESS_TZ)
    blocks: list[tuple[str, Any]] = [("h", number), ("h", f"{addressees}：")]
    blocks += [("p", text) for text in body]
    blocks += [("p", line) for line in requirements.splitlines() if line.strip()]
    blocks += [("h", issuer), ("h", f"{day.year}年{day.month}月{day.day}日")]
    for heading, header, rows in annexes:
        blocks += [("h", heading), ("t", (header, rows))]
    sheets = [(heading.removeprefix("附件："), header, rows) for heading, header, rows in annexes]
    return [Rendered(f"{title}.pdf", PDF, report_pdf(title, blocks)),
            Rendered(f"{title}（名单）.xlsx", XLSX, workbook(sheets))]


def _entries(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = params.get(name)
    if not isinstance(value, list) or not value or len(value) > MAX_ENTRIES:
        raise DocumentError(f"the document needs a non-empty list '{name}' (at most {MAX_ENTRIES:,})")
    if not all(isinstance(entry, dict) for entry in value):
        raise DocumentError(f"every entry of '{name}' must be an object")
    return value


def _text(params: dict[str, Any], name: str, length: int) -> str:
    value = str(params.get(name) or "").strip()
    if not value or len(value) > length:
        raise DocumentError(f"the document needs '{name}' (text of at most {length} characters)")
    return value
