"""What a simulated person types into a task's form: a valid answer drawn at random, field by field.

The person reads the form as the task page shows it (its form-js schema, parsed the way the server checks it) and
the data it opens with (the rows a checking sheet lists). Choices that send work back ("returned", "rectify") are
taken only when the person returns work; a choice that asks for one more round ("another") less often each time the
instance has been round, so every loop ends.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from typing import Any

from engine.forms import Field, Form

#: Option values that send the work back to whoever did the step before.
RETURNING = frozenset({"returned", "rectify", "failed", "incomplete", "appeal", "decline", "upheld", "makeup"})
#: Option values that ask for one more round of the same step.
ONE_MORE = frozenset({"another", "submit_more", "nominate_more"})
#: Texts that may fill a field with a pattern; the first that matches is typed.
_PATTERNED = ("{year}", "09:30", "08:00-11:30", "{year}-{next_year}", "{year}-{month:02d}", "0734-8123456")
#: How often a row of a checking sheet is excused (a teacher on sick leave).
EXCUSED_SHARE = 0.04


class Answerer:
    """Draws one answer to a form; ``rounds``: how often this step was already done in the instance."""

    def __init__(self, rng: random.Random, today: date, *, returns_work: bool, rounds: int) -> None:
        self.rng = rng
        self.today = today
        self.returns_work = returns_work
        self.rounds = rounds

    def answer(self, form: Form, opened_with: dict[str, Any]) -> dict[str, Any]:
        """A submission of ``form``: every field the person may fill in, nested by its dotted key."""
        answer: dict[str, Any] = {}
        for field in form.fields:
            if field.key in form.read_only:
                continue
            value = self._rows(field, opened_with) if field.rows is not None else self.value(field)
            if value is not None:
                _put(answer, field.key, value)
        return answer

    def value(self, field: Field) -> Any:
        """One field's value, within its rules; None where nothing valid can be drawn."""
        rng, rules = self.rng, field.rules
        if field.only_shows:
            return None
        if field.kind in ("select", "radio"):
            return self._choice(field.options or ())
        if field.kind in ("checklist", "taglist"):
            options = list(field.options or ())
            return rng.sample(options, rng.randint(1, len(options))) if options else None
        if field.kind == "checkbox":
            return rng.random() < 0.9
        if field.kind == "number":
            low = rules.get("min") if rules.get("min") is not None else 0
            high = rules.get("max") if rules.get("max") is not None else max(low, 0) + 20
            if isinstance(low, float) or isinstance(high, float):
                return round(rng.uniform(low, high), 1)
            return round(rng.triangular(low, high, high)) if high > low else low
        if field.kind == "datetime":
            low, high = field.dates.resolved(self.today) if field.dates else (self.today, self.today)
            start, end = max(low, self.today - timedelta(days=20)), min(high, self.today + timedelta(days=20))
            if start > end:
                start, end = low, high
            return (start + timedelta(days=rng.randint(0, max((end - start).days, 0)))).isoformat()
        return self._text(field)

    def _choice(self, options: tuple[Any, ...]) -> Any:
        if not options:
            return None
        returning = [o for o in options if o in RETURNING]
        more = [o for o in options if o in ONE_MORE]
        plain = [o for o in options if o not in RETURNING and o not in ONE_MORE]
        if returning and self.returns_work:
            return self.rng.choice(returning)
        if more and self.rng.random() < 0.5 / (1 + self.rounds):
            return self.rng.choice(more)
        plain = plain or list(options)
        return plain[0] if self.rng.random() < 0.6 else self.rng.choice(plain)

    def _text(self, field: Field) -> str | None:
        pattern = field.rules.get("pattern")
        if pattern:
            today = self.today
            for template in _PATTERNED:
                text = template.format(year=today.year, next_year=today.year + 1, month=today.month)
                if re.fullmatch(pattern, text):
                    return text
            return None
        text = f"{field.label}（模拟填写）"
        least, most = int(field.rules.get("minLength") or 0), int(field.rules.get("maxLength") or 200)
        text = text.ljust(least, "。")
        return text[:most]

    def _rows(self, field: Field, opened_with: dict[str, Any]) -> list[dict[str, Any]] | None:
        """A list's rows: the ones the process set (each filled in, a few excused), or one to three new ones."""
        given = _lookup(opened_with, field.key)
        if field.rows_from and isinstance(given, list):
            rows = []
            for row in given:
                if not isinstance(row, dict):
                    continue
                filled = dict(row)
                excused = field.excused_by and self.rng.random() < EXCUSED_SHARE
                for inner in field.rows or ():
                    if inner.key == field.row_key or inner.only_shows:
                        continue
                    if inner.key == field.excused_by:
                        filled[inner.key] = self.value(inner) if excused else None
                    elif not excused:
                        filled[inner.key] = self.value(inner)
                rows.append({k: v for k, v in filled.items() if k in {f.key for f in field.rows or ()}})
            return rows
        least = int(field.rules.get("minItems") or (1 if field.required else 0))
        count = max(least, self.rng.randint(1, 3))
        return [{inner.key: self.value(inner) for inner in field.rows or ()
                 if inner.key != field.excused_by and not inner.only_shows} for _ in range(count)]


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    *groups, last = dotted.split(".")
    for part in groups:
        target = target.setdefault(part, {})
    target[last] = value


def _lookup(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
