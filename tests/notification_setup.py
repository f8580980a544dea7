"""A small directory and an engine configured to reach the test's receivers (config/notifications.toml as an
administrator writes it), shared by the notification delivery tests and the bench."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import update

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import LoadDirectory
from engine.config import Settings
from engine.org.directory import Directory, Person, Role, Unit
from engine.store import tables

SCHOOL = "s1"


def teachers(count: int) -> list[str]:
    return [f"t{n:03d}" for n in range(1, count + 1)]


def mobile(person_id: str) -> str:
    return f"139{int(person_id[1:]):08d}"


def load_school(huhua: Huhua, count: int = 40) -> list[str]:
    """A city, a county and one school with ``count`` class teachers, each with a mobile number and an e-mail
    address (the directory import does not carry e-mail addresses yet, so they are written beside it)."""
    people = teachers(count)
    huhua.execute(LoadDirectory(Directory(
        units=[Unit("city", "市教育局", "city"), Unit("c1", "示范县教育局", "county", "city"),
               Unit(SCHOOL, "第一中学", "school", "c1")],
        people=[Person(p, f"老师{p[1:]}", SCHOOL, mobile(p)) for p in people],
        roles=[Role(p, SCHOOL, "class_teacher") for p in people]), "admin"))
    with huhua.services.database.engine.begin() as connection:
        for person in people:
            connection.execute(update(tables.person).where(tables.person.c.id == person)
                               .values(email=f"{person}@school.example.cn"))
    return people


def configured(settings: Settings, clock: VirtualClock | None, directory: Path, toml: str) -> Huhua:
    """An engine on the test's database whose config/notifications.toml is ``toml``."""
    path = directory / "notifications.toml"
    path.write_text(toml, encoding="utf-8")
    return bootstrap(replace(settings, notifications_file=path), clock=clock, upgrade=False)
