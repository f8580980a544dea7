"""Wiring: one call builds the engine's collaborators; nothing happens at import time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.bpmn.spec_cache import SpecCache
from engine.clock import Clock, SharedVirtualClock, SystemClock, VirtualClock
from engine.commands import HANDLERS, RETRY_ON_CONFLICT
from engine.commands.bus import CommandBus
from engine.commands.unit_of_work import Services
from engine.config import Settings, load_settings
from engine.connectors import load_connector_settings
from engine.notifications.settings import load_notification_settings
from engine.outbound import OutboundPolicy
from engine.queries import Queries
from engine.runtime.execution import Runtime
from engine.runtime.script_guards import ScriptLimits
from engine.store import migration
from engine.store.database import Database


@dataclass
class Huhua:
    """The engine as entry points see it: ``execute`` a command, or ask ``queries``."""

    services: Services
    bus: CommandBus
    queries: Queries

    def execute(self, command: Any) -> Any:
        return self.bus.execute(command)

    @property
    def clock(self) -> Clock:
        return self.services.clock

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def close(self) -> None:
        self.services.database.dispose()


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None, upgrade: bool = True) -> Huhua:
    """Build the engine for ``settings`` (from the environment by default), migrating the schema first."""
    settings = settings or load_settings()
    database = Database(settings.database_url)
    if upgrade:
        migration.upgrade(database)
    if clock is None and settings.virtual_clock_file is not None:
        clock = SharedVirtualClock(settings.virtual_clock_file)
    if clock is None:
        clock = VirtualClock(settings.virtual_clock_start) if settings.virtual_clock_start else SystemClock()
    limits = ScriptLimits(seconds=settings.script_seconds, max_elements=settings.script_max_elements,
                          max_memory_bytes=settings.script_max_memory_mb * 2**20)
    runtime = Runtime(clock, limits, settings.environment)
    services = Services(settings=settings, database=database, clock=clock, runtime=runtime,
                        specs=SpecCache(), outbound=OutboundPolicy.from_allow(settings.outbound_allow),
                        notifications=load_notification_settings(settings.notifications_file),
                        connectors=load_connector_settings(settings.connectors_file))
    bus = CommandBus(services, HANDLERS, RETRY_ON_CONFLICT)
    return Huhua(services=services, bus=bus, queries=Queries(database, settings.max_model_bytes,
                                                                  settings.schedules_file,
                                                                  services.connectors.registry))
