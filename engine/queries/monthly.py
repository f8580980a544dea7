"""一月一查 above the school: the oversight figures of a month (engine.monthly_oversight) and a school's teacher
appraisal ledger (engine.appraisal_ledger), each within what the caller may read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import appraisal_ledger, monthly_oversight
from engine.access import policy
from engine.errors import Forbidden
from engine.store.database import Database


class MonthlyFamily:
    """The monthly-check questions of :class:`engine.queries.Queries`."""

    database: Database

    def _oversight_scope(self, user: str) -> policy.DashboardScope:
        with self.database.read() as session:
            try:
                return policy.dashboard_scope(session, user)
            except policy.NoDashboard as err:
                raise Forbidden(str(err)) from None

    def monthly_oversight(self, user: str, now: datetime, month: str | None = None) -> dict[str, Any]:
        """Per county the caller oversees: the month's completion and score distribution of its schools."""
        return monthly_oversight.counties(self.database, self._oversight_scope(user), now,
                                          monthly_oversight.parse_month(month, now))

    def monthly_oversight_county(self, user: str, now: datetime, county: str,
                                 month: str | None = None) -> dict[str, Any]:
        """One county's schools for the month (404 for a county outside the caller's scope)."""
        return monthly_oversight.county(self.database, self._oversight_scope(user), now, county,
                                        monthly_oversight.parse_month(month, now))

    def appraisal_ledger(self, user: str | None, school: str, year: int, month: int | None = None) -> dict[str, Any]:
        """A school's teacher appraisal ledger for a year or a month (404 for a school the caller may not read)."""
        return appraisal_ledger.ledger(self.database, user, school, year, month)

    def may_read_ledger(self, user: str | None, school: str) -> bool:
        """Whether ``user`` may read the school's teacher appraisal ledger."""
        return appraisal_ledger.may_read(self.database, user, school)

    def ledger_schools(self, user: str | None) -> list[dict[str, str]]:
        """The schools whose ledger ``user`` may read."""
        return appraisal_ledger.readable_schools(self.database, user)
