"""A database call from async code past its deadline: DatabaseTimeout at the deadline, its statement cut
(SQLite's interrupt, PostgreSQL's socket shut down), nothing of it committed, and the next call served at
once by the thread that came back. On SQLite and PostgreSQL, through `db.in_session` as the services call it."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from rxshop.core import db_deadline
from rxshop.core.db import get_engine, in_session
from rxshop.core.models import InboxItem
from rxshop.orders import history
from rxshop.orders.history import InboxKind
from tests.fixtures.app import AppEnv

DEADLINE = 0.4


def _slow_write(*, session, marker: str) -> None:
    """Write a row, then run a statement far longer than the deadline (never reached: COMMIT)."""
    history.flag(session, kind=InboxKind.UNPROCESSABLE, reference=marker, detail="written before the cut")
    connection = session.connection()
    if connection.dialect.name == "sqlite":  # a count to a billion: seconds of CPU
        connection.exec_driver_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000)"
            " SELECT count(*) FROM n"
        )
    else:
        connection.exec_driver_sql("SELECT pg_sleep(2)")  # ended by the server after the cut: 2 s
    session.commit()


def _count(*, session, marker: str) -> int:
    return len(session.exec(select(InboxItem).where(InboxItem.reference == marker)).all())


@pytest.fixture
def app(app_env: AppEnv, monkeypatch) -> str:
    monkeypatch.setattr(db_deadline, "CALL_TIMEOUT_SECONDS", DEADLINE)
    return app_env().database_url


async def test_a_call_past_its_deadline_is_cut_and_the_next_one_runs(app: str) -> None:
    started = time.monotonic()
    with pytest.raises(db_deadline.DatabaseTimeout):
        await in_session(_slow_write, marker="cut")
    assert time.monotonic() - started < DEADLINE + 0.5

    started = time.monotonic()
    assert await in_session(_count, marker="cut") == 0  # rolled back with its cut statement
    assert time.monotonic() - started < 1.0  # the thread was back, not still counting or sleeping
    assert get_engine(app).pool.checkedout() == 0
