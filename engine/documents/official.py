"""Official documents (公文): content templates, the 文号, the Chinese date, and the PDF laid out as a 公文.

An official document is issued by a unit (发文机关: 衡阳市教育局, a county bureau, a school) under a number
(文号 ``代字〔年份〕序号号``, e.g. 衡教通〔2026〕12号) and goes out only after the responsible leader signed
it off. A process gets one by calling the reusable process ``official_document``
(processes/official_document.bpmn) with a ``bpmn:callActivity``; see processes/README.md, "Official
documents". In short, the caller sets one variable before the call::

    document_request = {
        "template": "circular",                   # a content template registered below
        "signer": "principal",                    # the leader who signs it off (role@tier, as a lane)
        "drafter": "programme_officer",           # who revises a draft the leader returned
        "issuer": "school",                       # optional: the issuing unit's tier (default: the instance's unit)
        "data": {...},                            # what the template writes the document from
    }

and gets back ``issued_document`` = ``{"number": "衡教通〔2026〕12号", "register_id": …, "documents": [ids],
"issued_at": …, "signed_by": …, "title": …}``. Inside, the draft is generated (a PDF marked 草稿 with no
number, linked from the sign-off task and drawn when opened), the leader signs it off (签发) or returns it with a
comment (退回修改) to the drafter, who may change the title, 主送, 抄送 or add a paragraph; on 签发 the number
is allocated and the final PDF made in one transaction (:mod:`engine.commands.official_documents`), so the
register of a unit, 代字 and year has no gaps and only issued documents carry a number.

**Templates.** A content template is a function ``(data, issuer) -> OfficialContent`` registered by name
with :func:`official_template`. A process family puts its templates in a module of
``engine/documents/official_templates/`` (every module there is imported on first use, so adding one
touches no shared file); ``circular.py`` holds the generic ``circular`` and the example
``programme_notice``. A template returns the title, 主送 and 抄送 addressees, the body as blocks
(``("h", "一、…")`` a heading, ``("p", text)`` a paragraph, ``("t", (header, rows))`` a table), 附件 lines, and
optional ``annex`` sheets that become an .xlsx annex (through :func:`engine.documents.layout.workbook`).
Raise :class:`engine.documents.rendered.DocumentError` for data the template cannot use.

The layout follows GB/T 9704 in a simplified form: the issuing body's name in red at the head (版头),
the 文号 under it and a red separator line, the title, 主送, the body, 附件, the 落款 (issuing body) and the
date in Chinese numerals (二〇二六年十月十五日) at the bottom right, and the 版记 (抄送, who printed it and
when) at the foot.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import HRFlowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from engine.documents.fonts import chinese_font
from engine.documents.layout import Sheet
from engine.documents.rendered import DocumentError

RED = colors.HexColor("#C00000")
MAX_CODE = 40
_DIGITS = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Issuer:
    """The issuing unit as a template sees it."""

    unit_id: str
    name: str  # full name: 衡阳市教育局, 珠晖区教育局, 珠晖区第一中学
    kind: str  # city | county | school | teaching_point


@dataclass(frozen=True)
class OfficialContent:
    """What a template writes; the facility adds the issuing body, the number and the date."""

    title: str
    main_to: tuple[str, ...]
    body: tuple[tuple[str, Any], ...]
    copy_to: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    annex: tuple[Sheet, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "main_to": list(self.main_to), "copy_to": list(self.copy_to),
                "body": [[kind, list(map(list, value)) if kind == "t" else value] for kind, value in self.body],
                "attachments": list(self.attachments),
                "annex": [[title, list(header), [list(r) for r in rows]] for title, header, rows in self.annex]}

    @staticmethod
    def from_json(value: dict[str, Any]) -> OfficialContent:
        body = tuple((kind, (tuple(v[0]), tuple(tuple(r) for r in v[1])) if kind == "t" else v)
                     for kind, v in value["body"])
        annex = tuple((t, tuple(h), tuple(tuple(r) for r in rows)) for t, h, rows in value.get("annex", ()))
        return OfficialContent(value["title"], tuple(value["main_to"]), body, tuple(value.get("copy_to", ())),
                               tuple(value.get("attachments", ())), annex)

    def revised(self, revision: dict[str, Any] | None) -> OfficialContent:
        """The content with the drafter's changes: a new title, 主送 or 抄送 (、-separated), a paragraph added."""
        revision = revision or {}
        title = _text(revision.get("title")) or self.title
        main_to = _names(revision.get("main_to")) or self.main_to
        copy_to = _names(revision.get("copy_to")) or self.copy_to
        note = _text(revision.get("note"))
        body = (*self.body, ("p", note)) if note else self.body
        return OfficialContent(title, main_to, body, copy_to, self.attachments, self.annex)


Template = Callable[[dict[str, Any], Issuer], OfficialContent]
_TEMPLATES: dict[str, Template] = {}
_LOADED: list[bool] = []


def official_template(name: str) -> Callable[[Template], Template]:
    """Register a content template under ``name`` (the ``template`` of a ``document_request``)."""
    def register(function: Template) -> Template:
        if name in _TEMPLATES and _TEMPLATES[name] is not function:
            raise ValueError(f"two official document templates are named '{name}'")
        _TEMPLATES[name] = function
        return function
    return register


def templates() -> dict[str, Template]:
    """Every registered template, after importing each module of ``engine.documents.official_templates``."""
    if not _LOADED:
        from engine.documents import official_templates
        for module in pkgutil.iter_modules(official_templates.__path__):
            importlib.import_module(f"{official_templates.__name__}.{module.name}")
        _LOADED.append(True)
    return _TEMPLATES


def compose(template: str, data: Any, issuer: Issuer) -> OfficialContent:
    """The content ``template`` writes from ``data``; DocumentError naming the template when it cannot."""
    known = templates()
    if template not in known:
        raise DocumentError(f"there is no official document template '{template}' (known: {', '.join(sorted(known))})")
    if not isinstance(data, dict):
        raise DocumentError(f"the data of official document template '{template}' must be a dict")
    content = known[template](data, issuer)
    if not content.title or len(content.title) > 300:
        raise DocumentError(f"template '{template}' gave a title of {len(content.title)} characters (1 to 300)")
    if not content.main_to:
        raise DocumentError(f"template '{template}' named no 主送 addressee")
    return content


def chinese_date(day: date) -> str:
    """二〇二六年十月十五日: the year digit by digit, month and day as numbers in words."""
    year = "".join(_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_small_number(day.month)}月{_small_number(day.day)}日"


def _small_number(n: int) -> str:
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _DIGITS[ones]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else "")


def document_number(code: str, year: int, sequence: int) -> str:
    """The 文号: 衡教通〔2026〕12号 (六角括号, the sequence without leading zeros)."""
    return f"{code}〔{year}〕{sequence}号"


def check_code(code: str) -> str:
    """A 代字 as given, trimmed; DocumentError when it is empty, too long or holds brackets or digits."""
    code = (code or "").strip()
    if not code or len(code) > MAX_CODE or re.search(r"[\s〔〕\[\]()（）0-9]", code):
        raise DocumentError(f"a 代字 is 1 to {MAX_CODE} characters without spaces, brackets or digits, "
                            f"like 衡教通, not '{code[:60]}'")
    return code


def default_code(name: str, kind: str, county_name: str | None = None) -> str:
    """A sensible 代字 derived from the unit's name, until an administrator sets one.

    The city bureau 衡阳市教育局 → 衡教通; a county bureau 珠晖区教育局 → 珠晖教通; a school 珠晖区第一中学 →
    珠一中发 (the county's first character, the school's short name, 发).
    """
    place = name.removesuffix("教育局")
    if kind == "city":
        return f"{place[:1]}教通"
    if kind == "county":
        stem = place[:-1] if len(place) > 2 and place[-1] in "区县市" else place
        return f"{stem[:2]}教通"
    prefix = (county_name or "").removesuffix("教育局")
    short = name.removeprefix(prefix) if prefix else name
    numbered = re.fullmatch(r"第([一二三四五六七八九十]+)(中学|小学)", short)
    if numbered:
        short = numbered.group(1) + numbered.group(2)[0]
    else:
        short = re.sub(r"^第", "", re.sub(r"(学校|中学|小学|教学点)$", "", short))[:4] or short[:4]
    return f"{prefix[:1]}{short}发"


def official_pdf(content: OfficialContent, issuer: str, number: str | None, day: date) -> bytes:
    """The document as a PDF; a draft (``number`` None) says 草稿 and leaves the 文号 to the sign-off."""
    font = chinese_font()
    style = _styles(font)
    story: list[Any] = []
    if number is None:
        story.append(Paragraph("（草稿·待签发）", style["draft"]))
    story += [Paragraph(_escape(f"{issuer}文件"), style["head"]),
              Paragraph(_escape(number or "〔签发后编号〕"), style["number"]),
              HRFlowable(width="100%", thickness=2, color=RED, spaceBefore=1 * mm, spaceAfter=8 * mm),
              Paragraph(_escape(content.title), style["title"]),
              Paragraph(_escape("、".join(content.main_to) + "："), style["main_to"])]
    for kind, value in content.body:
        if kind == "t":
            header, rows = value
            data = [[Paragraph(_escape(str(v)), style["cell"]) for v in header]]
            data += [[Paragraph(_escape(str(v)), style["cell"]) for v in row] for row in rows]
            table = Table(data, repeatRows=1)
            table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.black)]))
            story += [Spacer(1, 2 * mm), table, Spacer(1, 3 * mm)]
        elif kind == "h":
            story.append(Paragraph(_escape(str(value)), style["h"]))
        else:
            story.append(Paragraph(_escape(str(value)), style["p"]))
    if content.attachments:
        lines = list(content.attachments)
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph(_escape("附件：" + (f"1．{lines[0]}" if len(lines) > 1 else lines[0])),
                               style["attachment"]))
        for n, line in enumerate(lines[1:], start=2):
            story.append(Paragraph(_escape(f"{n}．{line}"), style["attachment_more"]))
    story.append(KeepTogether([Spacer(1, 14 * mm), Paragraph(_escape(issuer), style["signature"]),
                               Paragraph(_escape(chinese_date(day)), style["signature"])]))
    footer = []
    if content.copy_to:
        footer.append(Paragraph(_escape("抄送：" + "，".join(content.copy_to) + "。"), style["record"]))
    footer.append(Paragraph(_escape(f"{issuer}　　　　{day.year}年{day.month}月{day.day}日印发"), style["record"]))
    story.append(KeepTogether([Spacer(1, 16 * mm), HRFlowable(width="100%", thickness=1, color=colors.black),
                               *_between(footer, lambda: HRFlowable(width="100%", thickness=0.5,
                                                                    color=colors.black)),
                               HRFlowable(width="100%", thickness=1, color=colors.black)]))
    out = io.BytesIO()
    # a draft is drawn whenever it is read: without the time of drawing and a random file id, each time the same file
    SimpleDocTemplate(out, pagesize=A4, title=content.title, author=issuer, leftMargin=28 * mm, rightMargin=26 * mm,
                      topMargin=37 * mm, bottomMargin=35 * mm, invariant=number is None).build(story)
    return out.getvalue()


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "draft": ParagraphStyle("draft", fontName=font, fontSize=12, leading=16, alignment=2, textColor=RED),
        "head": ParagraphStyle("head", fontName=font, fontSize=30, leading=40, alignment=1, textColor=RED,
                               spaceAfter=6 * mm),
        "number": ParagraphStyle("number", fontName=font, fontSize=14, leading=20, alignment=1),
        "title": ParagraphStyle("title", fontName=font, fontSize=20, leading=30, alignment=1, spaceAfter=6 * mm),
        "main_to": ParagraphStyle("main_to", fontName=font, fontSize=14, leading=24),
        "h": ParagraphStyle("h", fontName=font, fontSize=14, leading=24, firstLineIndent=28),
        "p": ParagraphStyle("p", fontName=font, fontSize=14, leading=24, firstLineIndent=28),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=10, leading=13),
        "attachment": ParagraphStyle("attachment", fontName=font, fontSize=14, leading=24, leftIndent=28),
        "attachment_more": ParagraphStyle("attachment_more", fontName=font, fontSize=14, leading=24, leftIndent=70),
        "signature": ParagraphStyle("signature", fontName=font, fontSize=14, leading=24, alignment=2,
                                    rightIndent=16 * mm),
        "record": ParagraphStyle("record", fontName=font, fontSize=12, leading=20, leftIndent=4 * mm),
    }


def _between(items: Sequence[Any], separator: Callable[[], Any]) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(items):
        if index:
            out.append(separator())
        out.append(item)
    return out


def _text(value: Any) -> str:
    return str(value).strip()[:2000] if isinstance(value, str) and value.strip() else ""


def _names(value: Any) -> tuple[str, ...]:
    text = _text(value)
    return tuple(part.strip() for part in re.split(r"[、，,；;\n]", text) if part.strip()) if text else ()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
