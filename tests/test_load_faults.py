"""The load test of bench/load.py, bounded short: the real server (gunicorn, two ``huhua worker``, ``huhua
scheduler``) on a PostgreSQL cluster of the test's own, ten simulated people working over the API for half a
minute, and PostgreSQL stopped and started again at half time. What the people were told must be true: no 5xx but
in the outage, every 503 with Retry-After, every completion and start answered success in the database exactly
once, nothing answered 503 applied all the same, no process lost, and /metrics (read with prometheus-client's
parser) counting the work. Loopback only; the run stops by itself."""

from __future__ import annotations

import pytest

from bench.load import LoadOptions, LoadResult, report, run_load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def restarted() -> LoadResult:
    return run_load(LoadOptions(staff=10, seconds=30, fault="pg-restart", web=2, outage_seconds=5,
                                recovery_seconds=5), progress=lambda _text: None)


def test_the_outage_answers_503_with_retry_after_and_nothing_else_fails(restarted: LoadResult) -> None:
    result = restarted
    assert len(result.windows) == 1, report(result)
    window = result.windows[0]
    in_outage = [s for s in result.samples if window.overlaps(s)]
    assert any(s.status == 503 for s in in_outage), report(result)  # the people did meet the outage
    assert result.missing_retry_after == 0, report(result)
    assert result.errors_outside == [], report(result)
    assert not [s for s in result.samples if s.status == 0], report(result)  # the web processes never hung up
    assert any(s.status == 200 and s.sent > window.restored for s in result.samples), report(result)
    assert result.dead == [], report(result)  # workers and the scheduler lived through it
    assert result.jobs_due_at_end == 0, report(result)
    schedule = result.schedule  # the minutely schedule: each occurrence once, none lost to the outage
    assert not (schedule.duplicate_fires or schedule.duplicate_starts or schedule.unstarted or schedule.skipped)


def test_every_success_the_people_saw_is_in_the_database_once(restarted: LoadResult) -> None:
    ledger = restarted.ledger
    assert ledger.completions > 0 and ledger.starts > 0, report(restarted)
    assert ledger.violations == [], report(restarted)
    assert ledger.refused_yet_applied == [], report(restarted)


def test_metrics_parse_and_count_the_work(restarted: LoadResult) -> None:
    before, during, after = ({s.moment: s for s in restarted.scrapes}[m] for m in ("before", "during", "after"))
    assert before.error is None and during.error is None and after.error is None, report(restarted)
    assert during.total("huhua_database_up") == 0 and after.total("huhua_database_up") == 1
    assert after.total("huhua_commands_total", outcome="ok") > during.total("huhua_commands_total", outcome="ok") \
        > before.total("huhua_commands_total", outcome="ok")
    assert after.total("huhua_commands_total", command="CompleteTask", outcome="ok") >= restarted.ledger.completions
    assert after.total("huhua_http_requests_total", status="503") > 0
