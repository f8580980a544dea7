"""The organisation the engine serves: its directory, roles, task assignment and calendars.

Only the working-day calendar lives here so far (:mod:`engine.org.calendar`). Like ``engine/runtime``,
this package answers questions from data it is handed and does no I/O of its own.
"""
