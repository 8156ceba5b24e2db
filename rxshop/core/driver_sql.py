"""Prebuilt write statements run straight on the database driver's cursor, inside the caller's transaction.

For the webhook's fast path, which runs five such statements for each event under a burst. There the worker
is bound by the GIL, and SQLAlchemy's `Connection.execute` costs about as much Python per statement as
SQLite's own work on these one-row writes: the execution context, parameter processing and result set-up.
The cursor of the same connection (`Connection.connection.driver_connection`) joins the same transaction,
so a savepoint or rollback of the caller covers these statements as it covers its own. Listeners of
SQLAlchemy's `before_cursor_execute` (a query log, a test counting statements) are still called.

A statement is written once with `:name` parameters. SQLite's driver takes that style as it is, and
PostgreSQL's driver (psycopg) gets it rewritten as `%(name)s`. Values must be what both drivers take
unchanged: str, int, bool, None (a str enum is passed as its value). Datetimes are named in `datetimes` and stored exactly as
`UTCDateTime` stores them: naive UTC text on SQLite (SQLAlchemy's own format, so that reads and comparisons
agree), `timestamptz` on PostgreSQL. A naive datetime is refused, as there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa

# SQLAlchemy's SQLite DATETIME storage format (always six digits of microseconds).
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def _stored(value: datetime | None, dialect: str) -> datetime | str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: use datetime.now(UTC)")
    value = value.astimezone(UTC)
    return value.strftime(_SQLITE_DATETIME) if dialect == "sqlite" else value


class DriverStatement:
    """One statement, prebuilt for SQLite and PostgreSQL; `rowcount` runs it and says how many rows it
    changed (an INSERT ... ON CONFLICT DO NOTHING: 0 when the row was there)."""

    def __init__(self, sql: str, *, datetimes: Iterable[str] = ()) -> None:
        self.sql = sql
        self._datetimes = tuple(datetimes)
        self._by_dialect = {"sqlite": sql, "postgresql": _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))}

    def rowcount(self, connection: sa.Connection, values: Mapping[str, Any] | None = None) -> int:
        dialect = connection.dialect.name
        params = {k: v.value if isinstance(v, Enum) else v for k, v in (values or {}).items()}
        for name in self._datetimes:
            params[name] = _stored(params[name], dialect)
        sql = self._by_dialect[dialect]
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for listener in connection.dispatch.before_cursor_execute:  # query logs and tests see it too
                listener(connection, cursor, sql, params, None, False)
            cursor.execute(sql, params)
            return int(cursor.rowcount)
        finally:
            cursor.close()
