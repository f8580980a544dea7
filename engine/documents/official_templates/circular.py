"""Two templates for everyone: ``circular`` (a 通知 or 通报 written from the data as given) and
``programme_notice`` (the February notice ``launch_programme`` issues with the year's implementation plan,
印发实施方案的通知)."""

from __future__ import annotations

from typing import Any

from engine.documents.official import Issuer, OfficialContent, official_template
from engine.documents.rendered import DocumentError

#: Whom a unit's circular goes to by default, by the kind of unit that issues it.
DEFAULT_MAIN_TO = {"city": ("各县市区教育局", "市直各中小学校"), "county": ("各中小学校",),
                   "school": ("校内各处室", "各年级组", "全体班主任")}
DEFAULT_COPY_TO = {"county": ("衡阳市教育局",)}
MAX_BLOCKS = 400


@official_template("circular")
def circular(data: dict[str, Any], issuer: Issuer) -> OfficialContent:
    """A 通知/通报 as the process wrote it: ``title``; ``main_to`` and ``copy_to`` (lists, or text split at 、);
    ``body`` (``[["h", "一、…"], ["p", "…"], ["t", [header, rows]]]``) or ``paragraphs`` (texts); ``attachments``;
    ``annex`` (``[[sheet title, header, rows]]`` for an .xlsx annex). Addressees default by the issuer's tier."""
    title = _required_text(data, "title")
    body = data.get("body")
    if body is None:
        paragraphs = data.get("paragraphs")
        if not isinstance(paragraphs, list) or not paragraphs:
            raise DocumentError("a circular needs 'body' blocks or a non-empty list of 'paragraphs'")
        body = [["p", str(p)] for p in paragraphs]
    return OfficialContent(
        title=title,
        main_to=_names(data.get("main_to")) or DEFAULT_MAIN_TO.get(issuer.kind, ("各有关单位",)),
        body=_blocks(body),
        copy_to=_names(data.get("copy_to")) or DEFAULT_COPY_TO.get(issuer.kind, ()),
        attachments=_names(data.get("attachments")),
        annex=_annex(data.get("annex")),
    )


@official_template("programme_notice")
def programme_notice(data: dict[str, Any], issuer: Issuer) -> OfficialContent:
    """关于印发《…实施方案》的通知: the plan issued to the tier below, with the leading group as a table and an
    .xlsx annex, from the fields of the launch form (``year``, ``plan_title``, ``plan_points``, ``group_leader``,
    ``deputy_leader``, ``member_departments``, ``group_office``)."""
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise DocumentError(f"programme_notice needs the 'year' of the programme (like 2026), not {year!r}")
    plan = str(data.get("plan_title") or "关于进一步提升全市中小学班主任工作素养加强中小学生生命健康教育工作的实施方案")
    members = data.get("member_departments") or []
    group = [["组长", str(data.get("group_leader") or ""), "局长"],
             ["副组长", str(data.get("deputy_leader") or ""), "分管副局长"]]
    group += [["成员", "", f"{m}负责人"] for m in members if isinstance(m, str)]
    body: list[tuple[str, Any]] = [
        ("p", f"{year}年是全市中小学教育“心育护花行动”年。现将《{plan}》印发给你们，请结合实际，认真贯彻执行。"),
        ("h", "一、组织领导"),
        ("p", f"{issuer.name}成立“心育护花行动”工作领导小组，领导小组办公室设在"
              f"{data.get('group_office') or '基础教育科'}，负责日常工作。"
              "各单位要成立相应的工作机构，单位“一把手”为第一责任人，确定专人负责。"),
        ("t", (("职务", "姓名", "岗位"), tuple(tuple(row) for row in group))),
        ("h", "二、工作要求"),
        ("p", str(data.get("plan_points") or "各单位要制定详细工作方案，组织开展日常工作，确保工作取得实效。")),
    ]
    return OfficialContent(
        title=f"关于印发《{plan}》的通知",
        main_to=DEFAULT_MAIN_TO.get(issuer.kind, ("各有关单位",)),
        body=tuple(body),
        copy_to=_names(data.get("copy_to")),
        attachments=(plan,),
        annex=(("领导小组", ("职务", "姓名", "岗位"), tuple(tuple(row) for row in group)),),
    )


def _required_text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 300:
        raise DocumentError(f"the document needs '{name}' as text of 1 to 300 characters")
    return value.strip()


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace("，", "、").split("、")
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v).strip()[:100] for v in value if str(v).strip())[:50]


def _blocks(body: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(body, list) or not body or len(body) > MAX_BLOCKS:
        raise DocumentError(f"a document body is a list of 1 to {MAX_BLOCKS} blocks")
    blocks: list[tuple[str, Any]] = []
    for index, block in enumerate(body, start=1):
        if not isinstance(block, list | tuple) or len(block) != 2 or block[0] not in ("h", "p", "t"):
            raise DocumentError(f"block {index} of the body must be [\"h\"|\"p\"|\"t\", content]")
        kind, value = block
        if kind == "t":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise DocumentError(f"table block {index} must be [header, rows]")
            header, rows = value
            blocks.append(("t", (tuple(map(str, header)), tuple(tuple(r) for r in rows))))
        else:
            blocks.append((kind, str(value)))
    return tuple(blocks)


def _annex(value: Any) -> tuple[tuple[str, tuple[str, ...], tuple[tuple[Any, ...], ...]], ...]:
    if not value:
        return ()
    if not isinstance(value, list):
        raise DocumentError("an annex is a list of [sheet title, header, rows]")
    sheets = []
    for index, sheet in enumerate(value, start=1):
        if not isinstance(sheet, list | tuple) or len(sheet) != 3:
            raise DocumentError(f"annex sheet {index} must be [title, header, rows]")
        title, header, rows = sheet
        sheets.append((str(title), tuple(map(str, header)), tuple(tuple(r) for r in rows)))
    return tuple(sheets)
