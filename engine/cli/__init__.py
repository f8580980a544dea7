"""`huhua`: the command line. Every verb takes --json; bad input exits with code 2 and says why.

One module per family of verbs; each registers its verbs on the ``main`` group of :mod:`engine.cli.base`.
"""

from engine.cli import (  # noqa: F401 (they register the verbs)
    appraisal,
    backups,
    calendar_commands,
    diagrams,
    directory,
    notify_commands,
    processes,
    retention,
    running,
    schedule_commands,
    simulation,
)
from engine.cli.base import main

__all__ = ["main"]
