"""``huhua simulate``: a whole year of the library on the virtual clock, with simulated staff."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.cli.base import BAD_INPUT, emit, fail, json_option, main
from engine.config import load_settings, normalise_database_url
from engine.errors import HuhuaError


@main.command()
@click.option("--year", required=True, type=click.IntRange(2020, 2100), help="The calendar year to simulate.")
@click.option("--profile", type=click.Choice(["demo", "full"]), default="demo", show_default=True,
              help="The org directory: demo (13 units × 3 schools) or full (the whole city).")
@click.option("--seed", default=1, show_default=True, type=int, help="The same seed gives the same year.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
              help="End the year early, at the start of this day (Beijing time): a quick look at a month or two.")
@click.option("--database", help="An EMPTY database to run on (default: a new SQLite file in --out).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the report goes (default: ./simulation-YEAR-PROFILE-SEED).")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 16),
              help="Run the jobs in this many `huhua worker` processes (0: in the simulator).")
@click.option("--web", default=0, show_default=True, type=click.IntRange(0, 16),
              help="The people act over HTTP at this many gunicorn web processes (0: at the engine directly).")
@json_option
def simulate(year: int, profile: str, seed: int, until: datetime | None, database: str | None, out_dir: Path | None,
             workers: int, web: int, as_json: bool) -> None:
    """Run the programme's whole year on the virtual clock: the scheduler, workers and commands as in production,
    simulated people acting on their tasks (some late, some never, some sending work back); then report."""
    from engine.clock import BUSINESS_TZ
    from engine.simulation.rendering import summary
    from engine.simulation.run import simulate as run_year
    from engine.simulation.run import write_report

    out_dir = out_dir or Path(f"simulation-{year}-{profile}-{seed}")
    if database is None:
        path = out_dir / "simulation.db"
        if path.exists():
            click.echo(f"error: {path} exists: remove it or name another --out", err=True)
            raise SystemExit(BAD_INPUT)
        out_dir.mkdir(parents=True, exist_ok=True)
        database = f"sqlite:///{path.resolve()}"
    try:
        settings = replace(load_settings(), database_url=normalise_database_url(database),
                           data_dir=out_dir.resolve())
    except ValueError as err:
        click.echo(f"error: configuration: {err}", err=True)
        raise SystemExit(BAD_INPUT) from None

    def progress(figures: dict[str, Any]) -> None:
        click.echo(f"  {figures['now'][:16]}  {figures['instances']:>7,} instances  {figures['tasks']:>8,} tasks "
                   f"({figures['completed']:,} done, {figures['waiting']:,} waiting on people)  "
                   f"{figures['commands']:,} commands, {figures['rate']}/s", err=True)

    end = until.replace(tzinfo=BUSINESS_TZ) if until else None
    if end is not None and not datetime(year, 1, 1, tzinfo=BUSINESS_TZ) < end <= datetime(year + 1, 1, 1,
                                                                                            tzinfo=BUSINESS_TZ):
        click.echo(f"error: --until must fall within {year}", err=True)
        raise SystemExit(BAD_INPUT)
    try:
        report = run_year(settings, year, profile, seed, progress, end, workers, web)
    except HuhuaError as err:
        fail(err, as_json)
        return
    written = write_report(report, out_dir)
    emit(as_json, report, lambda r: summary(r) + f"\n  report: {written['html']} and {written['json']}")
