"""Errors that cross the command boundary, each with a stable code and an HTTP status.

Entry points turn these into exit code 2 (CLI) or a 4xx JSON body (HTTP); anything else is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    message: str
    file: str | None = None
    line: int | None = None
    element_id: str | None = None
    field: str | None = None
    #: Where exactly, for programs (a DMN cell: decision, rule and column ids) and what is wrong (``reason``).
    location: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file + (f":{self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        if self.element_id:
            where.append(f"element {self.element_id}")
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass
class HuhuaError(Exception):
    """Base of every error a user can cause; ``code`` is machine-readable, ``message`` is for people."""

    message: str
    problems: list[Problem] = field(default_factory=list)
    code: str = "error"
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {p}" for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class InvalidInput(HuhuaError):
    """The caller sent something malformed: fix the input and try again."""

    code: str = "invalid_input"
    status: int = 400


@dataclass
class InvalidModel(HuhuaError):
    """A BPMN or DMN file was refused; nothing of it was stored."""

    code: str = "invalid_model"
    status: int = 422


@dataclass
class NotFound(HuhuaError):
    code: str = "not_found"
    status: int = 404


@dataclass
class Conflict(HuhuaError):
    """Someone else changed the same thing first; reload and try again."""

    code: str = "conflict"
    status: int = 409


@dataclass
class StaleVersion(Conflict):
    """The instance changed between this command's read and its write; nothing was applied."""


@dataclass
class Forbidden(HuhuaError):
    code: str = "forbidden"
    status: int = 403


@dataclass
class Unauthorized(HuhuaError):
    """Nobody is logged in and no valid API token came with the call."""

    code: str = "unauthorized"
    status: int = 401


@dataclass
class TooLarge(HuhuaError):
    """An upload is bigger than the configured limit; nothing was stored."""

    code: str = "too_large"
    status: int = 413


@dataclass
class StorageFull(HuhuaError):
    """The database, or the disk it is on, is full: nothing of the change was stored. An administrator must make room
    (free disk space, or raise the database's size limit) before changes can be stored again; reading still works."""

    code: str = "storage_full"
    status: int = 507


@dataclass
class TaskTaken(Conflict):
    """Someone else completed or claimed the task first; ``task`` says who and when, for the page to show.

    Its code stays ``conflict``: callers that handle any conflict keep working and may read ``task``.
    """

    task: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "task": self.task}


@dataclass
class NotNewestVersion(Conflict):
    """An edit was based on a process version that is no longer its newest; nothing was deployed.

    ``newest`` names the version to edit instead (definition id and version), for the editor to link to;
    the code stays ``conflict``.
    """

    newest: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "newest": self.newest}
