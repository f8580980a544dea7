"""A database made ready for a simulated year: empty, then the directory of a profile, the library and the shipped
schedules loaded, the virtual clock at the first moment of the year (Beijing time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ, SharedVirtualClock, VirtualClock
from engine.commands import DeployShippedProcesses, LoadDirectory, LoadShippedSchedules, PlanNotificationSweep
from engine.config import Settings
from engine.errors import InvalidInput
from engine.org.profiles import generate
from engine.phrases import Phrase
from engine.simulation.stopwatch import Stopwatch
from engine.store import tables


def prepared(settings: Settings, year: int, profile: str,
             clock_file: Path | None = None) -> tuple[Huhua, VirtualClock | SharedVirtualClock, Stopwatch]:
    """The engine on ``settings``' database, which must hold no instance yet (a simulation never writes over real
    work), with everything the year needs loaded, on a virtual clock at 1 January of ``year`` (kept in
    ``clock_file`` when other processes share it)."""
    start = datetime(year, 1, 1, tzinfo=BUSINESS_TZ)
    clock = SharedVirtualClock(clock_file, start) if clock_file is not None else VirtualClock(start)
    huhua = bootstrap(settings, clock=clock)
    with huhua.services.database.engine.connect() as connection:
        started = connection.scalar(select(func.count()).select_from(tables.process_instance))
    if started:
        huhua.close()
        raise InvalidInput(Phrase("the database already holds %(n)s process instance(s): a simulation needs an empty "
                                  "one (a new SQLite file, or a new PostgreSQL database)", n=started))
    stopwatch = Stopwatch(huhua.bus)
    huhua = replace(huhua, bus=stopwatch)  # type: ignore[arg-type]
    huhua.execute(LoadDirectory(generate(profile), "admin", source=f"simulation:{profile}"))
    huhua.execute(DeployShippedProcesses(str(settings.processes_dir)))
    huhua.execute(LoadShippedSchedules(str(settings.schedules_file)))
    huhua.execute(PlanNotificationSweep())  # the working mornings' reminders and digests, as a server plans them
    return huhua, clock, stopwatch
