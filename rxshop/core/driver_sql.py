"""Prebuilt write statements run straight on the database driver's cursor, inside the caller's transaction.

For the webhook's fast path, which runs five such statements for each event under a burst. There the worker
is bound by the GIL, and SQLAlchemy's `Connection.execute` costs about as much Python per statement as
SQLite's own work on these one-row writes: the execution context, parameter processing and result set-up.
The cursor of the same connection (`Connection.connection.driver_connection`) joins the same transaction,
so a savepoint or rollback of the caller covers these statements as it covers its own. Listeners of
SQLAlchemy's `before_cursor_execute` (a query log, a test counting statements) are still called.

A statement is written once with `:name` parameters. SQLite's driver takes that style as it is, and
PostgreSQL's driver (psycopg) gets it rewritten as `%(name)s`. Values must be what both drivers take
unchanged: str (a str enum too), int, bool, None. Datetimes are named in `datetimes` and stored exactly as
`UTCDateTime` stores them: naive UTC text on SQLite (SQLAlchemy's own format, so that reads and comparisons
agree), `timestamptz` on PostgreSQL. A naive datetime is refused, as there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _stored(value: datetime | None, dialect: str) -> datetime | str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: use datetime.now(UTC)")
    value = value.astimezone(UTC)
    if dialect != "sqlite":
        return value
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")  # SQLAlchemy's format: six digits


class DriverStatement:
    """One statement, prebuilt for SQLite and PostgreSQL. `rowcount` runs it and says how many rows it
    changed (an INSERT ... ON CONFLICT DO NOTHING: 0 when the row was there); `first` runs a query and
    returns its first row as a tuple (None if none), columns in the order of the SELECT."""

    def __init__(self, sql: str, *, datetimes: Iterable[str] = ()) -> None:
        self._datetimes = tuple(datetimes)
        self._by_dialect = {"sqlite": sql, "postgresql": _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))}

    def rowcount(self, connection: sa.Connection, values: Mapping[str, Any] | None = None) -> int:
        cursor = self._run(connection, values)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def first(
        self, connection: sa.Connection, values: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        cursor = self._run(connection, values)
        try:
            row = cursor.fetchone()
            return None if row is None else tuple(row)
        finally:
            cursor.close()

    def _run(self, connection: sa.Connection, values: Mapping[str, Any] | None) -> Any:
        dialect = connection.dialect.name
        params: Mapping[str, Any] = values or {}
        if self._datetimes:
            params = dict(params)
            for name in self._datetimes:
                params[name] = _stored(params[name], dialect)
        sql = self._by_dialect[dialect]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for listener in connection.dispatch.before_cursor_execute:  # query logs and tests see it too
                listener(connection, cursor, sql, params, None, False)
            cursor.execute(sql, params)
        except BaseException:
            cursor.close()
            raise
        return cursor
