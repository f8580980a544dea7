"""The tables of the programme's own records beside the engine's: each teacher's monthly score (教师考评台账), each
school's counselling-room register, training attendance, and the register and numbering of official documents.
They share the engine's declarative base (:mod:`engine.store.models`), so one metadata holds every table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base, Id, UtcDateTime


class TrainingAttendance(Base):
    """One person's standing in a training's attendance register (attended, excused with a reason, absent,
    pending), kept with the instance that keeps the register: coverage counts attendance, not answers."""

    __tablename__ = "training_attendance"
    __table_args__ = (Index("ix_training_attendance_person", "person_id"),)
    instance_id: Mapped[int] = mapped_column(Id, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: pending | attended | excused | absent
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TeacherAppraisal(Base):
    """教师考评台账: one teacher's score in one month's check at their school (or the reason they were not
    scored), kept for 职称评定、绩效考核、评优评先 beyond the instance and the directory: the name and the school
    are kept as they were that month. Written with the monthly check's instance (engine.commands.appraisal)."""

    __tablename__ = "teacher_appraisal"
    __table_args__ = (UniqueConstraint("instance_id", "person_id", "role", name="uq_teacher_appraisal_instance_person"),
                      Index("ix_teacher_appraisal_school_month", "school_id", "month"),
                      Index("ix_teacher_appraisal_person_month", "person_id", "month"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int] = mapped_column(Id)
    school_id: Mapped[str] = mapped_column(String(100))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    person_id: Mapped[str] = mapped_column(String(100))
    person_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))  # class_teacher | mh_teacher
    score: Mapped[float | None] = mapped_column(Float)
    band: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))  # why not scored this month (病假, …)
    item_scores: Mapped[str | None] = mapped_column(Text)  # JSON: the score of each rubric item
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OfficialDocument(Base):
    """An official document (公文) of a unit: a draft awaiting its leader's sign-off, then the issued document.

    The content (title, 主送, body, 抄送) is kept as the leader signed it, so the issued PDF says exactly what
    was approved. ``number`` (文号, e.g. 衡教通〔2026〕12号) is set only when the document is issued.
    """

    __tablename__ = "official_document"
    __table_args__ = (Index("ix_official_document_instance", "instance_id"),
                      Index("ix_official_document_register", "unit_id", "year", "sequence"),
                      UniqueConstraint("unit_id", "code", "year", "sequence", name="uq_official_document_number"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    instance_id: Mapped[int | None] = mapped_column(Id)
    unit_id: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(200))  # the unit's full name when drafted
    template: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)  # JSON: the OfficialContent the draft was made from
    state: Mapped[str] = mapped_column(String(20))  # draft | superseded | issued
    signer_role: Mapped[str | None] = mapped_column(String(200))
    drafted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    draft_documents: Mapped[str | None] = mapped_column(Text)  # JSON list of document ids
    code: Mapped[str | None] = mapped_column(String(40))  # 发文机关代字
    year: Mapped[int | None] = mapped_column(Integer)
    sequence: Mapped[int | None] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(100))  # 文号
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    signed_by: Mapped[str | None] = mapped_column(String(100))
    documents: Mapped[str | None] = mapped_column(Text)  # JSON list of the issued files' document ids


class DocumentSequence(Base):
    """The last 文号 sequence a unit allocated under a 代字 in a year: the gap-free counter of its register."""

    __tablename__ = "document_sequence"
    unit_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class DocumentCode(Base):
    """A unit's 发文机关代字 as an administrator set it (a unit without a row uses the derived default)."""

    __tablename__ = "document_code"
    unit_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    set_by: Mapped[str] = mapped_column(String(100))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CounsellingRoom(Base):
    """A school's counselling room register for one school year (衡教通〔2019〕41号 §四.5): its rooms, opening
    hours outside class time with the duty roster, whether it meets the standard, and the new students' visit.

    Written from the school's ``counselling_room_school`` instance (engine.commands.counselling_rooms) in the
    instance's transaction; appointments, supervision and the county's list read it here.
    """

    __tablename__ = "counselling_room"
    __table_args__ = (UniqueConstraint("school_id", "school_year"),)  # also the index "by school" reads
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(100))
    school_year: Mapped[str] = mapped_column(String(20))  # e.g. 2026-2027
    instance_id: Mapped[int] = mapped_column(Id)
    rooms: Mapped[str | None] = mapped_column(Text)  # JSON: [{room_name, location, area, functions}]
    opening_hours: Mapped[str | None] = mapped_column(Text)  # JSON: [{weekday, start, end, duty_teacher}]
    class_hours: Mapped[str | None] = mapped_column(Text)  # JSON: {morning, afternoon}
    largest_area: Mapped[float | None] = mapped_column(Float)
    parent_access: Mapped[bool | None] = mapped_column(Boolean)
    standard_met: Mapped[bool | None] = mapped_column(Boolean)
    shortfalls: Mapped[str | None] = mapped_column(Text)  # JSON list of what fell short when first recorded
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())  # the county accepted the register
    orientation: Mapped[str | None] = mapped_column(Text)  # JSON: the new students' visit
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
