"""ISO-8601 instants and durations as models write them: a time without a zone is Beijing time.

SpiffWorkflow reads a zone-less date-time in the server's local zone; Huhua's business calendar is
Asia/Shanghai wherever the server runs, so timers and due dates are read here instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.clock import BUSINESS_TZ


def parse_instant(text: str) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC instant (zone-less values are Asia/Shanghai)."""
    value = text.strip()
    if "W" in value.upper() and not value.upper().startswith("P"):
        return TimerEventDefinition.parse_iso_week(value)  # week dates: rare enough to take as SpiffWorkflow does
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=BUSINESS_TZ)
    return instant.astimezone(UTC)


def due_from(text: str, now: datetime) -> datetime:
    """A due instant from an ISO duration (counted from ``now``) or an ISO date-time; ValueError if neither."""
    value = text.strip()
    if value.upper().startswith("P"):
        try:
            parsed = TimerEventDefinition.parse_iso_duration(value)
        except Exception as err:  # SpiffWorkflow raises a bare Exception for a bad duration
            raise ValueError(f"'{value}' is not an ISO-8601 duration") from err
        return now + TimerEventDefinition.get_timedelta_from_start(parsed, now)
    try:
        return parse_instant(value)
    except ValueError:
        raise ValueError(f"'{value}' is neither an ISO-8601 duration (P3D) nor a date-time") from None
