"""What an inbox filter is: the one definition the inbox query, the API and saved filters all parse with.

A filter arrives as loose strings (a query string, a saved filter's JSON) and leaves as a checked
:class:`TaskFilter`; a bad value is refused naming its field, so a saved filter can never hold
something the inbox query would choke on later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from engine.errors import InvalidInput, Problem
from engine.phrases import Phrase

#: Which of a person's tasks: all open ones theirs or offered to them, only theirs, only those offered to them
#: (unclaimed, by name or through a role), or those they completed.
VIEWS = ("open", "mine", "offered", "done")
#: Due-date filters: overdue, due today (Beijing date), due within ``within_days`` working days, no due date.
DUES = ("overdue", "today", "within", "none")
SORTS = ("due", "due_desc", "newest")
MAX_WITHIN_DAYS = 60
MAX_TEXT = 100


@dataclass(frozen=True)
class TaskFilter:
    view: str = "open"
    process: str = ""
    unit: str = ""
    due: str = ""
    within_days: int = 3
    q: str = ""
    sort: str = "due"

    def to_dict(self) -> dict[str, Any]:
        """Only what differs from the defaults (what a saved filter stores and a link carries)."""
        default = TaskFilter()
        return {k: v for k, v in asdict(self).items()
                if v != getattr(default, k) or (k == "within_days" and self.due == "within")}

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (so an empty answer means 'nothing matches', not 'nothing to do')."""
        return bool(self.process or self.unit or self.due or self.q or self.view != "open")

    def words(self) -> list[str]:
        return self.q.split()


def parse_filter(values: Mapping[str, Any]) -> TaskFilter:
    """A checked filter from a query string or a saved filter; unknown keys are ignored, bad values refused."""
    problems: list[Problem] = []

    def text(name: str) -> str:
        value = values.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            problems.append(Problem(Phrase("expected a string"), field=name))
            return ""
        value = value.strip()
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            problems.append(Problem(Phrase("control characters are not allowed"), field=name))
            return ""
        if len(value) > MAX_TEXT:
            problems.append(Problem(Phrase("at most %(n)s characters", n=MAX_TEXT), field=name))
            return ""
        return value

    def choice(name: str, allowed: tuple[str, ...], default: str) -> str:
        value = text(name) or default
        if value not in allowed:
            problems.append(Problem(Phrase("must be one of %(options)s", options=", ".join(allowed)), field=name))
            return default
        return value

    view = choice("view", VIEWS, "open")
    due = text("due")
    if values.get("overdue") in ("1", "true", True) and not due:  # the inbox's older one-box filter
        due = "overdue"
    if due and due not in DUES:
        problems.append(Problem(Phrase("must be one of %(options)s", options=", ".join(DUES)), field="due"))
        due = ""
    within = values.get("within_days", 3)
    if isinstance(within, str) and within.strip().isdigit():
        within = int(within.strip())
    if isinstance(within, bool) or not isinstance(within, int) or not 1 <= within <= MAX_WITHIN_DAYS:
        problems.append(Problem(Phrase("a whole number from 1 to %(n)s", n=MAX_WITHIN_DAYS),
                                field="within_days"))
        within = 3
    if due != "within":
        within = 3  # the count only means something with 'due within'
    found = TaskFilter(view=view, process=text("process"), unit=text("unit"), due=due, within_days=within,
                       q=text("q"), sort=choice("sort", SORTS, "due"))
    if problems:
        listed = [Phrase("%(field)s: %(problem)s", field=p.field, problem=p.message) for p in problems]
        raise InvalidInput(Phrase("the task filter is not valid: %(problems)s", problems=listed), problems)
    return found
