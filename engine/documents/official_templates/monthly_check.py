"""The school's own monthly circular (校内月度通报) of 一月一查, as an official document: who scored what, whom to
praise, who must improve, the problems found and the requirements — written from the month's checking sheets,
signed off by the principal, numbered and issued by the school (the official-document facility).

The monthly check hands the template the month's appraisal rows and figures (``monthly_school_check.bpmn#
ask_circular``), so the circular says exactly what the ledger keeps.
"""

from __future__ import annotations

from typing import Any

from engine.documents.official import Issuer, OfficialContent, official_template
from engine.documents.rendered import DocumentError

ROLE_NAMES = {"class_teacher": "班主任", "mh_teacher": "心理健康教育教师"}
#: The most teachers one school's circular lists (a large school has some 80 class teachers).
MAX_TEACHERS = 2_000
HEADER = ("类别", "姓名", "得分", "等级", "不评分原因", "扣分说明")


@official_template("school_monthly_circular")
def school_monthly_circular(data: dict[str, Any], issuer: Issuer) -> OfficialContent:
    """关于某校某月班主任工作和心理健康教育及辅导工作检查情况的通报, with the score sheet as an .xlsx annex."""
    month = str(data.get("month") or "")
    if len(month) != 7 or not month[:4].isdigit() or month[4] != "-" or not month[5:].isdigit():
        raise DocumentError(f"month must look like 2026-10, not '{month}'")
    school = data.get("school") if isinstance(data.get("school"), dict) else {}
    appraisal = data.get("appraisal")
    if not isinstance(appraisal, list) or len(appraisal) > MAX_TEACHERS \
            or not all(isinstance(a, dict) for a in appraisal):
        raise DocumentError(f"the circular needs the month's appraisal rows (at most {MAX_TEACHERS})")
    figures = data.get("figures") if isinstance(data.get("figures"), dict) else {}
    findings = data.get("findings") if isinstance(data.get("findings"), dict) else {}
    year, number = int(month[:4]), int(month[5:])
    name = str(school.get("name") or issuer.name)
    rows = [(ROLE_NAMES.get(str(a.get("role")), str(a.get("role"))), str(a.get("name") or ""),
             a.get("score") if a.get("score") is not None else "", str(a.get("band") or ""),
             str(a.get("reason") or ""), str(a.get("note") or "")) for a in appraisal]
    praised = [r for r, a in zip(rows, appraisal, strict=True) if a.get("band") in (figures.get("praised_bands") or [])]
    improve = [r for r, a in zip(rows, appraisal, strict=True) if a.get("band") in (figures.get("improve_bands") or [])]
    teachers = figures.get("teachers") if isinstance(figures.get("teachers"), dict) else {}
    title = f"关于{name}{year}年{number}月班主任工作和心理健康教育及辅导工作检查情况的通报"
    weak = [f"{ROLE_NAMES.get(str(w.get('role')), '')}“{w.get('label')}”平均{w.get('average')}分"
            f"（满分{w.get('points')}分）" for w in figures.get("weak_items") or [] if isinstance(w, dict)]
    blocks: list[tuple[str, Any]] = [
        ("p", f"按照衡教通〔2019〕41号“一月一查一通报一总结”的要求，学校对{year}年{number}月班主任工作和心理健康教育"
              f"及辅导工作进行了检查，量化计分。应查教师{teachers.get('total', len(rows))}人，已计分"
              f"{teachers.get('scored', '')}人，因故不评分{teachers.get('excused', '')}人；平均分"
              f"{figures.get('total') if figures.get('total') is not None else '—'}分，等级"
              f"{figures.get('band') or '—'}。现将检查情况通报如下。"),
        ("h", "一、检查计分情况"),
        ("t", (HEADER, tuple(rows))),
        ("h", "二、予以表扬"),
        ("p", "、".join(f"{r[1]}（{r[0]}，{r[2]}分）" for r in praised) or "无"),
        ("h", "三、需要改进"),
        ("p", "、".join(f"{r[1]}（{r[0]}，{r[2]}分）" for r in improve) or "无"),
        ("h", "四、存在的主要问题"),
        ("p", f"班主任工作：{findings.get('class_problems') or '无'}"),
        ("p", f"心理健康教育及辅导工作：{findings.get('mh_problems') or '无'}"),
        ("p", f"失分较多的项目：{'；'.join(weak)}。" if weak else "失分较多的项目：无。"),
        ("h", "五、工作要求"),
        ("p", f"班主任工作：{findings.get('class_requirements') or '无'}"),
        ("p", f"心理健康教育及辅导工作：{findings.get('mh_requirements') or '无'}"),
        ("p", "检查结果记入教师考评台账，纳入学校对教师的考评，与职称评定、绩效考核、评优评先挂钩。"),
    ]
    return OfficialContent(title=title, main_to=("全体班主任", "全体心理健康教育教师"), body=tuple(blocks),
                           copy_to=("学校领导班子",), attachments=(f"{year}年{number}月一月一查计分表",),
                           annex=((f"{month}计分表", HEADER, tuple(rows)),))
