"""DriverStatement (the webhook fast path's writes on the driver's cursor) stores what SQLAlchemy stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from rxshop.core.driver_sql import DriverStatement
from rxshop.core.models import UTCDateTime
from rxshop.orders.history import EventKind

_SQL = "INSERT INTO order_events (order_id, at, kind, detail, actor) VALUES (:order_id, :at, :kind, :detail, :actor)"
_READ = sa.text("SELECT at, kind, detail, actor FROM order_events WHERE order_id = :order_id").columns(
    at=UTCDateTime()
)
# Whole seconds, microseconds, another time zone: each stored as the ORM stores it, read back the same.
TIMES = [
    datetime(2026, 12, 7, 13, 0, 0, tzinfo=UTC),
    datetime(2026, 12, 7, 13, 0, 0, 1234, tzinfo=UTC),
    datetime(2026, 12, 7, 15, 30, 5, 999999, tzinfo=timezone(timedelta(hours=2))),
]


def _row(order_id: str, at: datetime) -> dict:
    return {
        "order_id": order_id,
        "at": at,
        "kind": EventKind.STATUS,
        "detail": "50% off: a -> b",
        "actor": "x",
    }


@pytest.mark.parametrize("at", TIMES)
def test_a_row_written_on_the_driver_reads_back_as_the_orms_and_compares_equal(session: Session, at) -> None:
    connection = session.connection()
    typed = sa.text(_SQL).bindparams(sa.bindparam("at", type_=UTCDateTime()))
    connection.execute(typed, _row("by-sqlalchemy", at))
    assert DriverStatement(_SQL, datetimes=["at"]).rowcount(connection, _row("by-driver", at)) == 1

    orm = connection.execute(_READ, {"order_id": "by-sqlalchemy"}).one()
    driver = connection.execute(_READ, {"order_id": "by-driver"}).one()
    assert tuple(driver) == tuple(orm) == (at.astimezone(UTC), "status", "50% off: a -> b", "x")
    # The stored values compare as equal in SQL too (SQLite keeps text: the same format, to the microsecond).
    same = sa.text("SELECT count(*) FROM order_events a JOIN order_events b ON a.at = b.at AND a.id < b.id")
    assert connection.execute(same).scalar() == 1


def test_naive_datetimes_are_refused_and_rowcount_counts_conflicts(session: Session) -> None:
    connection = session.connection()
    statement = DriverStatement(_SQL, datetimes=["at"])
    with pytest.raises(ValueError, match="naive"):
        statement.rowcount(connection, _row("naive", datetime(2026, 12, 7, 13, 0)))
    record = DriverStatement(
        "INSERT INTO stripe_events (id, type, outcome, received_at) VALUES (:id, 't', 'o', :at)"
        " ON CONFLICT (id) DO NOTHING",
        datetimes=["at"],
    )
    now = datetime.now(UTC)
    assert [record.rowcount(connection, {"id": "evt_1", "at": now}) for _ in range(2)] == [1, 0]
