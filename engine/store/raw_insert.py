"""INSERTs on the hot path, compiled once and run on SQLite's own cursor.

Every command that starts or completes an instance inserts its instance row and its events. Through
SQLAlchemy's execution layer each of those costs several times what SQLite takes to run it, which on
the embedded default is a large share of a short instance's whole life. The statement is compiled by
SQLAlchemy once per dialect and its values are processed by the columns' own types, so what is
written is what SQLAlchemy would write; on PostgreSQL the ordinary path is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.dml import Insert


class RawInsert:
    def __init__(self, statement: Insert, columns: Sequence[str]) -> None:
        self.statement = statement
        self.columns = list(columns)
        self._prepared: dict[str, tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]] = {}

    def _prepare(self, connection: Connection) -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]:
        dialect = connection.dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
            table = self.statement.table
            processors = {}
            for name in compiled.positiontup or ():
                column = table.c.get(name)  # type: ignore[attr-defined]
                processor = column.type.dialect_impl(dialect).bind_processor(dialect) if column is not None else None
                if processor is not None:
                    processors[name] = processor
            prepared = (compiled.string, tuple(compiled.positiontup or ()), processors, dict(compiled.params))
            self._prepared[dialect.name] = prepared
        return prepared

    def run(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """Insert ``rows`` on ``connection`` (already in its write transaction); returns RETURNING rows for one."""
        sql, order, processors, defaults = self._prepare(connection)

        def values(row: dict[str, Any]) -> tuple[Any, ...]:
            out = []
            for name in order:
                value = row[name] if name in row else defaults.get(name)
                processor = processors.get(name)
                out.append(processor(value) if processor is not None else value)
            return tuple(out)

        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if len(rows) == 1:
                cursor.execute(sql, values(rows[0]))
                return cursor.fetchall()
            cursor.executemany(sql, [values(row) for row in rows])
            return []
        finally:
            cursor.close()
