"""The figures of a bench run (bench/), kept for the administrators' benchmark page as well as printed.

Each comparison is one row: Huhua's figure beside the reference measured in the same run (plain SpiffWorkflow
in memory, or the same query without its indexes). The run writes them to ``<data dir>/bench-results.json``;
``/admin/benchmarks`` draws them.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FILE_NAME = "bench-results.json"
SPIFF_IN_MEMORY = "SpiffWorkflow 内存中"  # the reference for the engine's own figures

_rows: list[dict[str, Any]] = []
_database = {"label": ""}


def on_database(label: str) -> None:
    """The database the figures that follow were measured on."""
    _database["label"] = label


def compare(part: str, figure: str, unit: str, huhua: float, reference: float,
            reference_name: str = SPIFF_IN_MEMORY) -> None:
    """One figure beside its reference; lower is better for times, higher for rates (``unit`` ending in /s)."""
    _rows.append({"database": _database["label"], "part": part, "figure": figure, "unit": unit,
                  "huhua": round(huhua, 3), "reference": round(reference, 3), "reference_name": reference_name,
                  "ratio": round(huhua / reference, 2) if reference else None,
                  "higher_is_better": unit.endswith("/s")})


def save(data_dir: Path) -> Path | None:
    """Write this run's figures beside the product's data (replacing the last run's); None when there are none."""
    if not _rows:
        return None
    data_dir.mkdir(parents=True, exist_ok=True)
    target = data_dir / FILE_NAME
    partial = target.with_name(f"{FILE_NAME}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                                   "cores": os.cpu_count(), "figures": _rows}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
    partial.replace(target)
    return target


def load(data_dir: Path) -> dict[str, Any] | None:
    """The last run's figures, or None when no bench has run here (or its file is unreadable)."""
    try:
        found = json.loads((data_dir / FILE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and isinstance(found.get("figures"), list) else None
