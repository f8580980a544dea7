"""FEEL values back to process data: what JSON holds and scripts read (``Decimal`` → ``int`` when integral,
else ``float``; dates, times and durations → ISO text)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from engine.feel import DaysTimeDuration, Function, Range, YearsMonthsDuration, to_text


def to_python(value: Any) -> Any:
    """A FEEL value as JSON-able Python."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Decimal):
        if value.is_nan() or value.is_infinite():
            return None
        integral = value == value.to_integral_value()
        return int(value) if integral else float(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (DaysTimeDuration, YearsMonthsDuration, Range, Function)):
        return to_text(value)
    if isinstance(value, list):
        return [to_python(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_python(item) for key, item in value.items()}
    return to_text(value)
