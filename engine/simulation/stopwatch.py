"""Times every command the engine runs during a simulation, by kind: the slowest commands of the report."""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from typing import Any


class Stopwatch:
    """Stands in front of the command bus (the simulated people's commands and the workers' alike)."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.count = 0

    def execute(self, command: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.bus.execute(command)
        finally:
            self.durations[type(command).__name__].append((time.perf_counter() - started) * 1000)
            self.count += 1

    def slowest(self, limit: int = 12) -> list[dict[str, Any]]:
        """The command kinds by their 99th percentile, slowest first: count, p50, p95, p99 and the longest, in ms."""
        rows = []
        for kind, values in self.durations.items():
            ordered = sorted(values)
            cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered * 99
            rows.append({"command": kind, "count": len(ordered), "p50_ms": round(cuts[49], 2),
                         "p95_ms": round(cuts[94], 2), "p99_ms": round(cuts[98], 2), "max_ms": round(ordered[-1], 2)})
        return sorted(rows, key=lambda row: row["p99_ms"], reverse=True)[:limit]
