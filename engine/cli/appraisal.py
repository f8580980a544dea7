"""`huhua appraisal`: the teacher appraisal ledger (教师考评台账) of a school, as a workbook.

It reads personal data about staff: each teacher's name and id, their monthly scores, bands, item scores and
the reasons they were not scored (病假 …), for the school's 职称评定、绩效考核、评优评先. It reads as the person
given with ``--as`` (the administrator unless told), under the same rule as the web (engine.appraisal_ledger).
"""

from __future__ import annotations

from pathlib import Path

import click

from engine.appraisal_ledger import ledger_sheets
from engine.cli.base import Context, emit, guard, json_option, main
from engine.documents.layout import workbook
from engine.errors import InvalidInput, Problem


@main.group("appraisal")
def appraisal_group() -> None:
    """教师考评台账: each teacher's monthly check scores (reads staff names and scores)."""


@appraisal_group.command("export")
@click.option("--school", required=True, help="The school's unit id, e.g. zhuhui-s001.")
@click.option("--year", required=True, type=int, help="The year, e.g. 2026.")
@click.option("--month", type=int, help="One month (1-12); the whole year when left out.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The .xlsx file to write.")
@click.option("--as", "actor", default="admin", show_default=True, help="Whose reading rights apply.")
@json_option
@click.pass_obj
def appraisal_export(obj: Context, school: str, year: int, month: int | None, out: Path, actor: str,
                     as_json: bool) -> None:
    """Write the school's ledger: a row per teacher and month (月度台账) and per teacher for the year (年度汇总).

    Reads each teacher's name, id, monthly scores, bands and reasons for not being scored.
    """

    def run() -> None:
        if out.suffix.lower() != ".xlsx":
            raise InvalidInput(f"--out must name an .xlsx file, not {out.name}", [Problem("not .xlsx", field="--out")])
        found = obj.huhua.queries.appraisal_ledger(actor, school, year, month)
        try:
            out.write_bytes(workbook(ledger_sheets(found)))
        except OSError as err:
            raise InvalidInput(f"cannot write {out}: {err.strerror}",
                               [Problem("cannot write", field="--out")]) from None
        emit(as_json, {"school": found["school"], "year": year, "month": month, "rows": len(found["rows"]),
                       "teachers": len(found["yearly"]), "out": str(out)},
             lambda r: f"{r['school']['name']} {year}{f'-{month:02d}' if month else ''}: "
                       f"{r['rows']} rows for {r['teachers']} teachers written to {r['out']}")

    guard(as_json, run)
