"""Official documents (公文): drafting, issuing under a gap-free 文号, and a unit's 代字.

The ``official_document`` service task (processes/official_document.bpmn) runs here rather than in a worker's
connector: a draft is composed and registered with the release of its task (its PDF is drawn when read), and on
签发 the number is allocated, the final PDF made and the task released **in one transaction**, so a number exists
exactly when its document was issued (nothing issued, nothing allocated: the register of a unit, 代字 and year has
no gaps). The counter row (``document_sequence``) is the only thing two issues of one unit share: on PostgreSQL
the UPDATE holds its row lock to the commit, on SQLite the command holds the database's one write lock.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import desc, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from engine.clock import BUSINESS_TZ
from engine.commands.instance_state import require_label
from engine.commands.instances import held_job, release_held_job, store_documents
from engine.commands.requests import RunOfficialDocumentStep, SetDocumentCode
from engine.commands.unit_of_work import UnitOfWork
from engine.documents.layout import workbook
from engine.documents.official import (
    Issuer,
    OfficialContent,
    check_code,
    compose,
    default_code,
    document_number,
    official_pdf,
)
from engine.documents.rendered import PDF, XLSX, DocumentError, Rendered
from engine.errors import InvalidInput, NotFound, Problem
from engine.org.directory import TIER_OF_KIND
from engine.store import tables

_o, _s, _k, _u = tables.official_document, tables.document_sequence, tables.document_code, tables.org_unit
_d = tables.document
_t = tables.human_task
SIGN_TASK = "od_sign"
ISSUING_KINDS = ("city", "county", "school", "teaching_point")


def run_official_document_step(command: RunOfficialDocumentStep, uow: UnitOfWork) -> dict[str, Any]:
    """Draft or issue, as the service task's ``action`` says, and release the task with the result."""
    held = held_job(uow, command.job_id, command.actor)
    if isinstance(held, dict):
        return held
    job, loaded = held
    params = (json.loads(job.payload or "{}") or {}).get("params") or {}
    action = params.get("action")
    if action == "draft":
        result = _draft(uow, job, loaded.record.org_scope, params)
    elif action == "issue":
        result = _issue(uow, job, params)
    else:
        raise DocumentError(f"an official_document task's action is 'draft' or 'issue', not {action!r}")
    return release_held_job(uow, job, loaded, result, command.actor)


def set_document_code(command: SetDocumentCode, uow: UnitOfWork) -> dict[str, Any]:
    """An administrator sets a unit's 代字; numbers already issued keep theirs, the next one uses the new 代字."""
    require_label(command.actor, "actor", 100)
    unit = uow.read(select(_u.c.id, _u.c.kind).where(_u.c.id == command.unit_id)).first()
    if unit is None:
        raise NotFound(f"unit {command.unit_id[:100]} does not exist", [Problem("no such unit", field="unit")])
    if unit.kind not in ISSUING_KINDS:
        raise InvalidInput(f"unit {unit.id} ({unit.kind}) issues no documents; set a 代字 for a bureau or a school",
                           [Problem("not an issuing unit", field="unit")])
    try:
        code = check_code(command.code)
    except DocumentError as err:
        raise InvalidInput(str(err), [Problem("bad 代字", field="code")]) from None
    values = {"code": code, "set_by": command.actor, "set_at": uow.now}
    if uow.execute(update(_k).where(_k.c.unit_id == unit.id).values(**values)).rowcount == 0:
        uow.execute(_insert(uow, _k).values(unit_id=unit.id, **values))
    return {"unit": unit.id, "code": code}


def _draft(uow: UnitOfWork, job: Any, org_scope: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """Compose the draft and register it; its PDF (and annex) are drawn when read (engine.queries.instances):
    most signers read the draft on the sign-off page, and a draft superseded or signed unopened is never drawn."""
    request = params.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("template"), str):
        raise DocumentError("document_request must be a dict naming its 'template'")
    issuer = _issuer(uow, org_scope, request.get("issuer"))
    content = compose(request["template"], request.get("data") or {}, issuer).revised(params.get("revision"))
    previous = params.get("previous")
    if isinstance(previous, int):
        uow.execute(update(_o).where(_o.c.id == previous, _o.c.instance_id == job.instance_id,
                                     _o.c.state == "draft").values(state="superseded"))
    draft_id = uow.execute(_o.insert().values(
        instance_id=job.instance_id, unit_id=issuer.unit_id, issuer=issuer.name, template=request["template"][:100],
        title=content.title, content=json.dumps(content.to_json(), ensure_ascii=False, default=str), state="draft",
        signer_role=str(request.get("signer") or "")[:200] or None, drafted_at=uow.now,
    ).returning(_o.c.id)).scalar_one()
    files = [(f"{content.title[:80]}（草稿）.pdf", PDF)]
    if content.annex:
        files.append((f"{content.title[:80]}（附件·草稿）.xlsx", XLSX))
    stored = [{"id": uow.execute(insert(_d).values(
        instance_id=job.instance_id, name=name[:300], kind="official_draft", content_type=content_type,
        created_at=uow.now, draft_of=draft_id).returning(_d.c.id)).scalar_one(), "name": name}
        for name, content_type in files]
    uow.execute(update(_o).where(_o.c.id == draft_id).values(draft_documents=json.dumps([d["id"] for d in stored])))
    uow.record("documents_made", instance_id=job.instance_id, element_id=job.element_id, documents=stored,
               draft=draft_id)
    return {"draft_id": draft_id, "title": content.title, "issuer": issuer.name, "documents": stored}


def _issue(uow: UnitOfWork, job: Any, params: dict[str, Any]) -> dict[str, Any]:
    draft = uow.read(select(_o).where(_o.c.id == params.get("draft"), _o.c.instance_id == job.instance_id)).first()
    if draft is None or draft.state != "draft":
        raise DocumentError(f"draft {params.get('draft')!r} of this instance is not waiting to be issued")
    content = OfficialContent.from_json(json.loads(draft.content))
    code = _code_of(uow, draft.unit_id)
    today = uow.now.astimezone(BUSINESS_TZ).date()
    sequence = _allocate(uow, draft.unit_id, code, today.year)  # the write lock is held from here to the commit
    number = document_number(code, today.year, sequence)
    files = [Rendered(f"{number}{content.title[:80]}.pdf", PDF, official_pdf(content, draft.issuer, number, today))]
    if content.annex:
        files.append(Rendered(f"{number}附件.xlsx", XLSX, workbook(content.annex)))
    stored = store_documents(uow, job.instance_id, "official", files)
    signed_by = uow.read(select(_t.c.completed_by).where(
        _t.c.instance_id == job.instance_id, _t.c.element_id == SIGN_TASK, _t.c.state == "completed")
        .order_by(desc(_t.c.completed_at), desc(_t.c.id)).limit(1)).scalar()
    uow.execute(update(_o).where(_o.c.id == draft.id).values(
        state="issued", code=code, year=today.year, sequence=sequence, number=number, issued_at=uow.now,
        signed_by=signed_by, documents=json.dumps([d["id"] for d in stored])))
    uow.record("document_issued", instance_id=job.instance_id, element_id=job.element_id, number=number,
               register_id=draft.id, signed_by=signed_by, documents=stored)
    return {"register_id": draft.id, "number": number, "title": content.title, "issuer": draft.issuer,
            "issued_at": uow.now.isoformat(), "signed_by": signed_by, "documents": stored}


def _allocate(uow: UnitOfWork, unit_id: str, code: str, year: int) -> int:
    """The next number of the unit's register for ``code`` and ``year``, counted in this transaction."""
    uow.execute(_insert(uow, _s).values(unit_id=unit_id, code=code, year=year, last_number=0)
                .on_conflict_do_nothing())
    return int(uow.execute(update(_s).where(_s.c.unit_id == unit_id, _s.c.code == code, _s.c.year == year)
                           .values(last_number=_s.c.last_number + 1).returning(_s.c.last_number)).scalar_one())


def _insert(uow: UnitOfWork, table: Any) -> Any:
    return (sqlite_insert if uow.services.database.is_sqlite else postgres_insert)(table)


def _code_of(uow: UnitOfWork, unit_id: str) -> str:
    """The unit's 代字: the one an administrator set, else the default derived from its name."""
    chosen = uow.read(select(_k.c.code).where(_k.c.unit_id == unit_id)).scalar()
    if chosen:
        return str(chosen)
    chain = _chain(uow, unit_id)
    own = chain[0]
    county = next((name for _, name, kind in chain if kind == "county"), None)
    return default_code(own[1], own[2], county)


def _issuer(uow: UnitOfWork, org_scope: str | None, wanted: Any) -> Issuer:
    """The issuing unit: the instance's own, or the unit of its chain at tier ``wanted`` (city, county, school)."""
    if org_scope is None:
        org_scope = uow.read(select(_u.c.id).where(_u.c.kind == "city").order_by(_u.c.id).limit(1)).scalar()
    chain = _chain(uow, org_scope) if org_scope else []
    if not chain:
        raise DocumentError("an official document needs an instance at a unit of the org directory")
    if wanted in (None, ""):
        found = chain[0]
    else:
        found = next((u for u in chain if wanted in (u[0], TIER_OF_KIND.get(u[2]))), None)
        if found is None:
            raise DocumentError(f"the instance's unit {org_scope} has no issuing unit '{wanted}' above it")
    if found[2] not in ISSUING_KINDS:
        raise DocumentError(f"unit {found[0]} ({found[2]}) issues no documents")
    return Issuer(found[0], found[1], found[2])


def _chain(uow: UnitOfWork, unit_id: str) -> list[tuple[str, str, str]]:
    """(id, name, kind) from the unit up to the city."""
    path = uow.read(select(_u.c.path).where(_u.c.id == unit_id)).scalar()
    ids = [step.split(":", 1)[1] for step in (path or "").split("/") if ":" in step]
    rows = {r.id: r for r in uow.read(select(_u.c.id, _u.c.name, _u.c.kind).where(_u.c.id.in_(ids)))}
    return [(rows[i].id, rows[i].name, rows[i].kind) for i in reversed(ids) if i in rows]
