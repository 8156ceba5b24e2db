"""What every connection of the app runs with: SQLite durable (WAL, synchronous=FULL: a COMMIT answered 2xx
survives a power loss) and waiting for locks; PostgreSQL with a statement timeout the server enforces and a
connect timeout; every call from async code within a deadline (tests/integration/test_database_hangs.py)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rxshop.core import db_deadline
from rxshop.core.db import SQLITE_BUSY_TIMEOUT_MS, get_engine


def test_every_database_call_has_a_bound() -> None:
    """A call ends within 15 s, a statement within 10 s, a connection attempt within 5 s, and there is one
    database thread per pooled connection (no thread waits for the pool)."""
    assert db_deadline.CALL_TIMEOUT_SECONDS <= 15
    assert db_deadline.STATEMENT_TIMEOUT_MS <= 10_000 and db_deadline.CONNECT_TIMEOUT_SECONDS <= 5
    assert db_deadline.THREADS == db_deadline.POOL_SIZE + db_deadline.MAX_OVERFLOW


def test_sqlite_commits_are_durable_and_writers_wait(sqlite_url: str) -> None:
    with get_engine(sqlite_url).connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert (pragma("journal_mode"), pragma("synchronous")) == ("wal", 2)  # 2: FULL
        assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS and pragma("foreign_keys") == 1


@pytest.mark.postgres
def test_postgres_ends_a_slow_statement_and_keeps_the_urls_options(postgres_url: str) -> None:
    with get_engine(postgres_url).connect() as connection:
        assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "10s"
        assert connection.exec_driver_sql("SHOW search_path").scalar().startswith("rxshop_test_")
        connection.exec_driver_sql("SET statement_timeout = 50")  # the server ends it, not the client
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            connection.exec_driver_sql("SELECT pg_sleep(1)")
