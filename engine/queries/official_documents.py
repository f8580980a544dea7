"""Official documents (公文): a unit's register of issued documents (发文登记簿) and who may read it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import policy
from engine.clock import BUSINESS_TZ
from engine.documents.layout import workbook
from engine.documents.official import OfficialContent, default_code, official_pdf
from engine.documents.rendered import PDF
from engine.errors import InvalidInput, NotFound, Problem
from engine.phrases import Phrase
from engine.queries.rows import iso
from engine.store import tables
from engine.store.database import Database

_o, _k, _u, _p = tables.official_document, tables.document_code, tables.org_unit, tables.person


def drawn_draft(session: Session, draft_id: int, content_type: str) -> bytes:
    """A draft's PDF, or its .xlsx annex, drawn from the content and the day it was drafted: the same file each
    time it is read (engine.commands.official_documents stores no bytes for a draft)."""
    draft = session.execute(select(_o.c.content, _o.c.issuer, _o.c.drafted_at).where(_o.c.id == draft_id)).one()
    content = OfficialContent.from_json(json.loads(draft.content))
    if content_type == PDF:
        return official_pdf(content, draft.issuer, None, draft.drafted_at.astimezone(BUSINESS_TZ).date())
    return workbook(content.annex)


class OfficialDocumentFamily:
    """The official-document questions of :class:`engine.queries.Queries`."""

    database: Database

    def may_read_register(self, user: str | None, unit_id: str) -> bool:
        """Whether ``user`` reads the unit's 发文登记簿 (engine.access.policy; False also for a missing unit)."""
        with self.database.read() as session:
            return policy.may_read_register(session, user, unit_id)

    def document_register(self, unit_id: str, year: int | str) -> dict[str, Any]:
        """The documents the unit issued in ``year``, in the order of their numbers, and the 代字 it numbers with now.

        Reads the register only: titles, numbers, dates and who signed — not the documents' content.
        """
        if not str(year).isdigit() or not 2000 <= int(year) <= 2100:
            raise InvalidInput(Phrase("year must be a year like 2026, not '%(year)s'", year=str(year)[:20]),
                               [Problem(Phrase("bad year"), field="year")])
        with self.database.read() as connection:
            unit = connection.execute(select(_u.c.id, _u.c.name, _u.c.kind, _u.c.path)
                                      .where(_u.c.id == unit_id)).first()
            if unit is None:
                raise NotFound(Phrase("unit %(unit)s does not exist", unit=unit_id[:100]),
                               [Problem(Phrase("no such unit"), field="unit")])
            code = connection.execute(select(_k.c.code).where(_k.c.unit_id == unit_id)).scalar()
            if not code:
                county = connection.execute(select(_u.c.name).where(
                    _u.c.kind == "county", _u.c.id.in_(_path_ids(unit.path)))).scalar()
                code = default_code(unit.name, unit.kind, county)
            rows = connection.execute(select(_o).where(_o.c.unit_id == unit_id, _o.c.state == "issued",
                                                       _o.c.year == int(year))
                                      .order_by(_o.c.code, _o.c.sequence)).all()
            signers = {r.signed_by for r in rows if r.signed_by}
            names = {p.id: p.name for p in connection.execute(select(_p.c.id, _p.c.name).where(
                _p.c.id.in_(signers)))} if signers else {}
        return {"unit": unit.id, "name": unit.name, "year": int(year), "code": code, "documents": [{
            "number": r.number, "code": r.code, "sequence": r.sequence, "title": r.title,
            "issued_at": iso(r.issued_at),
            "signed_by": r.signed_by, "signed_by_name": names.get(r.signed_by), "template": r.template,
            "instance_id": r.instance_id, "document_ids": json.loads(r.documents or "[]")} for r in rows]}


def official_of_documents(connection: Any, instance_id: int) -> dict[int, dict[str, Any]]:
    """For each document of the instance that is an official document or its draft: its 文号, when and by whom it
    was issued (the signer by id and name) (a draft: ``draft`` True and no number)."""
    found: dict[int, dict[str, Any]] = {}
    signer = tables.person
    for row in connection.execute(select(_o, signer.c.name.label("signer_name"))
                                  .outerjoin(signer, signer.c.id == _o.c.signed_by)
                                  .where(_o.c.instance_id == instance_id)):
        for document_id in json.loads(row.draft_documents or "[]"):
            found[document_id] = {"official": "draft", "title": row.title, "issuer": row.issuer}
        for document_id in json.loads(row.documents or "[]"):
            found[document_id] = {"official": "issued", "title": row.title, "issuer": row.issuer,
                                  "number": row.number, "issued_at": iso(row.issued_at), "signed_by": row.signed_by,
                                  "signed_by_name": row.signer_name}
    return found


def _path_ids(path: str) -> list[str]:
    return [step.split(":", 1)[1] for step in path.split("/") if ":" in step]
