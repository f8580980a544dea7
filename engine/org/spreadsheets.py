"""The org directory as bureaus keep it: a workbook (单位 and 人员 sheets) or CSV files, in and out.

单位 (units): 单位编码, 单位名称, 单位类型, 上级单位编码. 人员 (people): 工号, 姓名, 单位编码, 角色, 手机, 邮箱 —
角色 lists the roles held at that unit (Chinese names or codes, separated by 、 or ,); a person with roles
at a second unit has a second row with the same 工号. Column headers may also be the English field
names. 手机 is a phone number — a mobile (11 digits, or + and a country code) or a landline with its area code
(only a mobile gets SMS) — 邮箱 an e-mail address; a file without
one of these columns keeps what the directory holds for each person. Reading reports every bad row with its
file, row number, column and reason; nothing is loaded unless every row is good. A CSV file holds one sheet:
units or people, told apart by its header; the other part of the directory is then kept as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook, load_workbook

from engine.errors import InvalidInput, Problem
from engine.org import contacts
from engine.org.directory import ROLES, UNIT_KINDS, Directory, Person, Role, Unit, check, role_code
from engine.phrases import Phrase
from engine.spreadsheet_text import inert_row, restored

UNIT_COLUMNS = {"单位编码": "id", "单位名称": "name", "单位类型": "kind", "上级单位编码": "parent"}
PEOPLE_COLUMNS = {"工号": "id", "姓名": "name", "单位编码": "unit", "角色": "roles", "手机": "phone", "邮箱": "email"}
#: Columns a file may leave out: no parent (a root), no roles, and contacts kept as they are.
OPTIONAL = {"parent", "roles", "phone", "email"}
KIND_BY_NAME = {name: kind for kind, (name, _) in UNIT_KINDS.items()}
MAX_ROWS = 200_000
MAX_PROBLEMS = 500
_SEPARATORS = re.compile(r"[、,，;；\s]+")


@dataclass
class Sheet:
    """Rows of one sheet as dicts of field name -> text, with where each came from."""

    file: str
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    columns: set[str] = field(default_factory=set)


def read_workbook(name: str, content: bytes) -> tuple[Sheet | None, Sheet | None]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as err:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput(Phrase("%(file)s is not an Excel workbook (.xlsx): %(why)s", file=name, why=str(err)),
                           [Problem(str(err), file=name)]) from None
    sheets = {title.strip(): book[title] for title in book.sheetnames}
    units = sheets.get("单位") or sheets.get("units")
    people = sheets.get("人员") or sheets.get("people")
    if units is None and people is None:
        raise InvalidInput(Phrase("%(file)s has neither a 单位 nor a 人员 sheet", file=name),
                           [Problem(Phrase("sheets named 单位 and 人员 are expected"), file=name)])
    return (_sheet(f"{name} 单位", units.iter_rows(values_only=True), UNIT_COLUMNS) if units else None,
            _sheet(f"{name} 人员", people.iter_rows(values_only=True), PEOPLE_COLUMNS) if people else None)


def read_csv(name: str, content: bytes) -> tuple[Sheet | None, Sheet | None]:
    text = None
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK unless told otherwise
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise InvalidInput(Phrase("%(file)s is neither UTF-8 nor GBK text", file=name),
                           [Problem(Phrase("cannot decode"), file=name)])
    rows = list(csv.reader(io.StringIO(text)))
    header = {_field(h, {**UNIT_COLUMNS, **PEOPLE_COLUMNS}) for h in (rows[0] if rows else [])}
    if "kind" in header or "parent" in header:
        return _sheet(name, rows, UNIT_COLUMNS), None
    if "roles" in header or "unit" in header:
        return None, _sheet(name, rows, PEOPLE_COLUMNS)
    raise InvalidInput(Phrase("%(file)s: the header is neither a units list (单位编码, 单位名称, 单位类型, "
                              "上级单位编码) nor a people list (工号, 姓名, 单位编码, 角色, 手机, 邮箱)", file=name),
                       [Problem(Phrase("unknown header"), file=name, line=1)])


def build(units: Sheet | None, people: Sheet | None, current: Directory) -> Directory:
    """The directory the sheets describe (a part not given is ``current``'s); InvalidInput lists every bad row."""
    problems: list[Problem] = []
    directory = Directory()
    unit_lines: list[tuple[str, int]] = []
    if units is not None:
        for line, row in units.rows:
            kind = KIND_BY_NAME.get(row.get("kind", ""), row.get("kind", ""))
            if kind not in UNIT_KINDS:
                problems.append(Problem(Phrase("unknown unit type '%(kind)s' (one of %(kinds)s)",
                                               kind=row.get("kind", ""), kinds=", ".join(KIND_BY_NAME)),
                                        file=units.file, line=line, field="单位类型"))
            directory.units.append(Unit(row.get("id", ""), row.get("name", ""), kind, row.get("parent") or None,
                                        len(directory.units)))
            unit_lines.append((units.file, line))
    else:
        directory.units = list(current.units)
    person_lines: list[tuple[str, int]] = []
    role_lines: list[tuple[str, int]] = []
    if people is not None:
        seen: dict[str, Person] = {}
        kept = {p.id: p for p in current.people}
        for line, row in people.rows:
            person_id, unit = row.get("id", ""), row.get("unit", "")
            if person_id not in seen:
                before = kept.get(person_id)
                phone = _contact(contacts.phone_number, row.get("phone")) if "phone" in people.columns else (
                    before.phone if before else None)
                email = _contact(contacts.email, row.get("email")) if "email" in people.columns else (
                    before.email if before else None)
                seen[person_id] = Person(person_id, row.get("name", ""), unit, phone, email)
                directory.people.append(seen[person_id])
                person_lines.append((people.file, line))
            elif row.get("name") and row["name"] != seen[person_id].name:
                problems.append(Problem(Phrase("the 工号 %(id)s has another name in an earlier row", id=person_id),
                                        file=people.file, line=line, field="姓名"))
            for name in (n for n in _SEPARATORS.split(row.get("roles", "")) if n):
                code = role_code(name)
                if code is None:
                    problems.append(Problem(Phrase("unknown role '%(role)s' (one of %(roles)s)", role=name,
                                                   roles="、".join(ROLES.values())),
                                            file=people.file, line=line, field="角色"))
                    continue
                directory.roles.append(Role(person_id, unit, code))
                role_lines.append((people.file, line))
    else:
        directory.people, directory.roles = list(current.people), list(current.roles)
    problems += _located(check(directory), unit_lines, person_lines, role_lines)
    if problems:
        problems = _deduplicated(problems)
        shown = problems[:MAX_PROBLEMS]
        raise InvalidInput(Phrase("%(count)s problem(s) (the first %(n)s are listed); nothing was loaded",
                                  count=len(problems), n=MAX_PROBLEMS) if len(problems) > MAX_PROBLEMS
                           else Phrase("%(count)s problem(s); nothing was loaded", count=len(problems)), shown)
    return directory


def export_rows(directory: Directory) -> tuple[list[list[str]], list[list[str]]]:
    """The 单位 and 人员 rows (each with its header) of the directory; the files write them inert (a name such as
    ``=1+1`` gets a leading quote, :func:`engine.spreadsheet_text.inert`) and reading takes it off again."""
    units = [list(UNIT_COLUMNS)] + [[u.id, u.name, UNIT_KINDS[u.kind][0], u.parent_id or ""] for u in directory.units]
    people = [list(PEOPLE_COLUMNS)]
    held: dict[str, dict[str, list[str]]] = {}  # person -> unit -> role names
    for role in directory.roles:
        held.setdefault(role.person_id, {}).setdefault(role.unit_id, []).append(ROLES[role.role])
    for person in directory.people:
        roles = held.get(person.id, {})
        for unit in [person.unit_id, *sorted(set(roles) - {person.unit_id})]:
            people.append([person.id, person.name, unit, "、".join(roles.get(unit, [])), person.phone or "",
                           person.email or ""])
    return units, people


def export_csv(directory: Directory) -> tuple[bytes, bytes]:
    """The units and the people as two CSV files (UTF-8 with a byte-order mark, as Excel opens it)."""
    files = []
    for rows in export_rows(directory):
        out = io.StringIO()
        csv.writer(out).writerows(inert_row(row) for row in rows)
        files.append(out.getvalue().encode("utf-8-sig"))
    return files[0], files[1]


def export_workbook(directory: Directory) -> bytes:
    """The directory as a workbook that :func:`read_workbook` reads back unchanged."""
    unit_rows, people_rows = export_rows(directory)
    book = Workbook()
    units = book.active
    units.title = "单位"
    for row in unit_rows:
        units.append(inert_row(row))
    people = book.create_sheet("人员")
    for row in people_rows:
        people.append(inert_row(row))
    for sheet, widths in ((units, (22, 28, 14, 22)), (people, (24, 10, 22, 36, 16, 30))):
        for column, width in zip("ABCDEF", widths, strict=False):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(file: str, rows: Iterable[Sequence[object]], columns: dict[str, str]) -> Sheet:
    iterator = iter(rows)
    header = [_field(str(h or ""), columns) for h in next(iterator, [])]
    wanted = set(columns.values()) - OPTIONAL
    missing = sorted(wanted - set(header))
    if missing:
        names = {v: k for k, v in columns.items()}
        raise InvalidInput(Phrase("%(file)s: the header lacks %(columns)s", file=file,
                                  columns=", ".join(names[m] for m in missing)),
                           [Problem(Phrase("missing column %(column)s", column=names[m]), file=file, line=1)
                            for m in missing])
    sheet = Sheet(file, columns=set(header) - {""})
    for number, values in enumerate(iterator, start=2):
        cells = ["" if v is None else restored(str(v)).strip() for v in values]  # as exported: see export_rows
        if not any(cells):
            continue
        if len(sheet.rows) >= MAX_ROWS:
            raise InvalidInput(Phrase("%(file)s has more than %(n)s rows", file=file, n=MAX_ROWS),
                               [Problem(Phrase("too many rows"), file=file)])
        sheet.rows.append((number, {name: cell for name, cell in zip(header, cells, strict=False) if name}))
    return sheet


def _contact(normal: Callable[[str | None], str | None], text: str | None) -> str | None:
    """The contact as stored; a bad one as written, for the directory check to report with its row and column."""
    try:
        return normal(text)
    except contacts.BadContact:
        return text


def _field(header: str, columns: dict[str, str]) -> str:
    header = header.strip()
    return columns.get(header) or (header if header in columns.values() else "")


_WHERE = re.compile(r"^(units|people|roles) row (\d+)(?:: (\w+))?$")
_COLUMN = {"units": {"id": "单位编码", "name": "单位名称", "kind": "单位类型", "parent": "上级单位编码"},
           "people": {"id": "工号", "name": "姓名", "unit": "单位编码", "phone": "手机", "email": "邮箱"},
           "roles": {"person": "工号", "unit": "单位编码", "role": "角色"}}


def _deduplicated(problems: list[Problem]) -> list[Problem]:
    """One problem per file row and column; rows of the directory kept as loaded are summed up, not listed."""
    seen, kept, unlisted = set(), [], 0
    for problem in problems:
        if problem.file is None and problem.field and _WHERE.match(problem.field):
            unlisted += 1  # a row of the part of the directory that no file replaced
            continue
        key = (problem.file, problem.line, problem.field)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    if unlisted:
        kept.append(Problem(Phrase("%(count)s row(s) of the directory as loaded now no longer fit (people at units "
                                   "the file leaves out, say); load the units and the people together",
                                   count=unlisted)))
    return kept


def _located(problems: list[Problem], *lines: list[tuple[str, int]]) -> list[Problem]:
    """The directory check's 'units row 3: parent' as the file, line and column the row came from."""
    by_part = dict(zip(("units", "people", "roles"), lines, strict=True))
    located = []
    for problem in problems:
        match = _WHERE.match(problem.field or "")
        if match and int(match.group(2)) <= len(by_part[match.group(1)]):
            file, line = by_part[match.group(1)][int(match.group(2)) - 1]
            column = _COLUMN[match.group(1)].get(match.group(3) or "", match.group(3))
            located.append(Problem(problem.message, file=file, line=line, field=column))
        else:
            located.append(problem)
    return located
