"""Persistence: SQLAlchemy models, the database connection, and Alembic migrations.

No business rules live here; :mod:`engine.commands` decides what to write.
"""
