"""Schema upgrades through Alembic, callable from code (`huhua db upgrade`, tests, start-up)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from engine.store.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database: Database | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database is not None:
        config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


@cache
def head_revision() -> str:
    """The schema revision this code writes and reads (read from the migration scripts once per process)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations have a single head"
    return head


def is_known_revision(revision: str) -> bool:
    """Whether this code has the migration ``revision`` (a schema made by a newer release is not known)."""
    try:
        found = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:  # alembic's ResolutionError is one: no such revision here
        return False
    return found is not None and found.revision == revision  # not a prefix of one


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run again (an up-to-date schema is left as it is)."""
    config = alembic_config(database)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()

