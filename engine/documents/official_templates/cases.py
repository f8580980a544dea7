"""The commendation circulars of the case collection (§四.7) and the showcase (§四.2), at city and county level.

Each is written from the process's own figures in the order a bureau's 通报 reads: why (the notice), what was
done and how it was judged, the decision, what is asked of everyone, and the list of those commended as a
table in the text and as an .xlsx annex. The issuing body, the 文号 and the date are the facility's
(:mod:`engine.documents.official`): a city's circular goes to 各县市区教育局、市直各中小学校, a county's to its
schools with 抄送 衡阳市教育局.
"""

from __future__ import annotations

from typing import Any

from engine.documents.official import Issuer, OfficialContent, official_template
from engine.documents.official_templates.circular import DEFAULT_COPY_TO, DEFAULT_MAIN_TO
from engine.documents.rendered import DocumentError

NOTICE = "《关于进一步提升全市中小学班主任工作素养加强中小学生生命健康教育工作的实施方案》（衡教通〔2019〕41号）"
CASE_LEVELS = ("一等奖", "二等奖", "三等奖")
SHOWCASE_TITLES = ("先进单位", "优秀班主任", "先进个人")
MAX_ENTRIES = 5000


@official_template("case_commendation")
def case_commendation(data: dict[str, Any], issuer: Issuer) -> OfficialContent:
    """关于表彰优秀案例的通报: ``year``, ``submitted`` (how many cases were judged), ``winners`` (category, title,
    author, school, award) and optional ``requirements``."""
    year, winners = _year(data), _entries(data, "winners")
    counts = {level: sum(1 for w in winners if w.get("award") == level) for level in CASE_LEVELS}
    submitted = data.get("submitted")
    judged = f"共评审案例{submitted}篇，" if isinstance(submitted, int) and not isinstance(submitted, bool) else ""
    header = ("序号", "类别", "案例题目", "作者", "学校", "等次")
    rows = tuple((n, _cell(w, "category"), _cell(w, "title"), _cell(w, "author"), _cell(w, "school"),
                  _cell(w, "award")) for n, w in enumerate(winners, start=1))
    body: list[tuple[str, Any]] = [
        ("p", f"为贯彻落实{NOTICE}要求，{issuer.name}于{year}年下半年组织开展了优秀班主任工作案例和优秀心理健康教育及"
              f"辅导案例征集展示活动。{judged}经专家评审，评出一等奖{counts['一等奖']}篇、二等奖{counts['二等奖']}篇、"
              f"三等奖{counts['三等奖']}篇。现予以通报表彰，并颁发荣誉证书。"),
        ("p", "希望受到表彰的教师珍惜荣誉，再接再厉，发挥示范引领作用。各单位要组织教师学习交流获奖案例，"
              "推动班主任工作和心理健康教育及辅导工作常态化、规范化。"),
        *_requirements(data),
        ("h", "获奖案例名单"), ("t", (header, rows)),
    ]
    return _content(f"关于表彰{year}年度心育护花优秀案例的通报", issuer, body, "获奖案例名单", header, rows)


@official_template("showcase_commendation")
def showcase_commendation(data: dict[str, Any], issuer: Issuer) -> OfficialContent:
    """关于表彰先进单位、优秀班主任和先进个人的通报: ``year``, ``event`` (date, venue, participants, presented),
    ``awards`` (recipient, honour — a title without grade — and unit) and optional ``requirements``."""
    year, awards = _year(data), _entries(data, "awards")
    event = data.get("event") if isinstance(data.get("event"), dict) else {}
    held = ""
    if event.get("date") and event.get("venue"):
        held = (f"{str(event['date'])[:10]}在{str(event['venue'])[:100]}举办了交流展示活动，"
                f"{int(event.get('presented') or 0)}项优秀班主任工作案例和成果作了交流展示。")
    counts = [(title, sum(1 for a in awards if a.get("honour") == title)) for title in SHOWCASE_TITLES]
    named = "、".join(f"{title}{count}{'个' if title == '先进单位' else '名'}" for title, count in counts if count)
    ordered = sorted(awards, key=lambda a: SHOWCASE_TITLES.index(a["honour"]) if a.get("honour") in SHOWCASE_TITLES
                     else len(SHOWCASE_TITLES))
    header = ("序号", "荣誉称号", "单位或姓名", "所在单位")
    rows = tuple((n, _cell(a, "honour"), _cell(a, "recipient"), _cell(a, "unit")) for n, a in enumerate(ordered, 1))
    body: list[tuple[str, Any]] = [
        ("p", f"为贯彻落实{NOTICE}要求，{issuer.name}于{year}年9—11月组织开展了优秀班主任工作案例和成果交流展示及"
              f"评优活动。{held}经学校推荐、逐级评选、专家评审和公示，评出{named}，现予以通报表彰，并颁发荣誉证书。"),
        ("p", "希望受到表彰的单位和个人珍惜荣誉，发挥示范引领作用。各地各校要以先进为榜样，进一步提升班主任工作素养，"
              "扎实做好学生生命健康教育工作。"),
        *_requirements(data),
        ("h", "表彰名单"), ("t", (header, rows)),
    ]
    return _content(f"关于表彰{year}年度心育护花行动先进单位、优秀班主任和先进个人的通报", issuer, body, "表彰名单",
                    header, rows)


def _content(title: str, issuer: Issuer, body: list[tuple[str, Any]], annex_title: str, header: tuple[str, ...],
             rows: tuple[tuple[Any, ...], ...]) -> OfficialContent:
    return OfficialContent(title=title, main_to=DEFAULT_MAIN_TO.get(issuer.kind, ("各有关单位",)), body=tuple(body),
                           copy_to=DEFAULT_COPY_TO.get(issuer.kind, ()), attachments=(annex_title,),
                           annex=((annex_title, header, rows),))


def _requirements(data: dict[str, Any]) -> list[tuple[str, Any]]:
    text = data.get("requirements")
    if not isinstance(text, str):
        return []
    return [("p", line.strip()) for line in text[:2000].splitlines() if line.strip()]


def _year(data: dict[str, Any]) -> str:
    year = str(data.get("year") or "")
    if not (year.isdigit() and 2000 <= int(year) <= 2100):
        raise DocumentError(f"a commendation needs the 'year' (like 2026), not {data.get('year')!r}")
    return year


def _entries(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name)
    if not isinstance(value, list) or not value or len(value) > MAX_ENTRIES:
        raise DocumentError(f"a commendation needs a non-empty list '{name}' (at most {MAX_ENTRIES:,})")
    if not all(isinstance(entry, dict) for entry in value):
        raise DocumentError(f"every entry of '{name}' must be an object")
    return value


def _cell(entry: dict[str, Any], name: str) -> str:
    return str(entry.get(name) or "")[:200]
