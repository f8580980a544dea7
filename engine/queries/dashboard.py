"""The dashboard: whose it is and over which counties, and its figures (rollouts, monthly checks, overdue
tasks, counselling counts), each answered by engine.dashboard or engine.counselling_figures within that scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine import dashboard
from engine.access import policy
from engine.counselling_figures import counselling_counts
from engine.errors import Forbidden
from engine.store.database import Database


class DashboardFamily:
    """The dashboard questions of :class:`engine.queries.Queries`."""

    database: Database

    def dashboard_scope(self, user: str) -> policy.DashboardScope:
        """The counties ``user`` may see on the dashboard (None: all); Forbidden for anyone without a dashboard."""
        with self.database.read() as session:
            try:
                return policy.dashboard_scope(session, user)
            except policy.NoDashboard as err:
                raise Forbidden(str(err)) from None

    def has_dashboard(self, user: str) -> bool:
        """Whether ``user`` has a dashboard (the header's link)."""
        with self.database.read() as session:
            return policy.has_dashboard(session, user)

    def dashboard_rollouts(self, user: str) -> list[dict[str, Any]]:
        """The tiered rollouts ``user`` may follow, with their completion (engine.dashboard)."""
        return dashboard.rollouts(self.database, self.dashboard_scope(user))

    def dashboard_rollout(self, user: str, instance_id: int, unit: str | None = None) -> dict[str, Any]:
        """One drill-down level of a rollout's coverage: counties, a county's schools, or a school's people."""
        return dashboard.rollout_level(self.database, self.dashboard_scope(user), instance_id, unit)

    def dashboard_monthly_checks(self, user: str, now: datetime, county: str | None = None,
                                 month: str | None = None) -> dict[str, Any]:
        """一月一查 per month: submission on time, late and missing, and the scores' distribution; and one month's
        scores compared per county (or per school of a county)."""
        return dashboard.monthly_checks(self.database, self.dashboard_scope(user), now, county, month)

    def dashboard_overdue(self, user: str, now: datetime, county: str | None = None,
                          process: str | None = None) -> dict[str, Any]:
        """Overdue open tasks per county, or per school within a county, by process."""
        return dashboard.overdue(self.database, self.dashboard_scope(user), now, county, process)

    def dashboard_counselling(self, user: str, county: str | None = None) -> dict[str, Any]:
        """Counselling cases by risk level per county (or school of ``county``) and the crisis escalations
        (engine.counselling_figures): what the bureaus see of a service whose records they do not read."""
        return counselling_counts(self.database, self.dashboard_scope(user), user, county)
