"""``huhua retention``: delete what the retention policy keeps no longer (finished jobs, superseded drafts' files,
notifications read long ago), batch by batch with progress; ``--dry-run`` counts. Run it daily (the systemd timer in
``deploy/systemd/``); like ``huhua backup`` it acts on the database as the operator who runs it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import click

from engine.cli.base import Context, emit, guard, json_option, main
from engine.commands import ApplyRetention


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@click.option("--batch", default=5_000, show_default=True, type=click.IntRange(1, 50_000),
              help="Rows of each kind deleted per transaction.")
@json_option
@click.pass_obj
def retention(obj: Context, dry_run: bool, batch: int, as_json: bool) -> None:
    """Apply the retention policy (HUHUA_RETAIN_JOB_DAYS, …_DRAFT_DAYS, …_NOTIFICATION_DAYS; 0 keeps forever)."""
    huhua = obj.huhua
    settings = huhua.settings
    totals: Counter[str] = Counter()
    policy = {"job_days": settings.retain_job_days, "draft_days": settings.retain_draft_days,
              "notification_days": settings.retain_notification_days}

    def run() -> None:
        while True:
            result = huhua.execute(ApplyRetention("system", **policy, dry_run=dry_run, batch=batch))
            totals.update(result["would_delete" if dry_run else "deleted"])
            if not result["more"]:
                break
            if not as_json:
                click.echo("  … " + ", ".join(f"{n:,} {kind}" for kind, n in totals.items()), err=True)

    guard(as_json, run)
    found: dict[str, Any] = {"dry_run": dry_run, "policy": policy, "would_delete" if dry_run else "deleted":
                             dict(totals)}
    emit(as_json, found, lambda f: ("would delete " if dry_run else "deleted ")
         + ", ".join(f"{n:,} {kind.replace('_', ' ')}" for kind, n in totals.items())
         + " (kept: " + ", ".join(f"{kind.split('_')[0]}s {days or 'forever'} days" for kind, days in policy.items())
         + ")")
