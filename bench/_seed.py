"""Test data for the benchmarks, written into the apps' databases from outside (set-up, never timed).

rxshop: one order is made through rxshop's own order service (pending, lines priced from its catalog, a
Checkout Session attached), then cloned row by row with bulk INSERTs into the tables as the database
reflects them: thousands of real pending orders in a second, and no hand-written copy of the schema to
fall behind the app's migrations. The bare app: rows in its own two tables.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from _support import BARE_DIR, REPO

sys.path[:0] = [str(REPO), str(BARE_DIR)]
os.environ["RXSHOP_ENV_FILE"] = ""  # never a developer's .env


def engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def _template(url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One pending order with its Checkout Session, made by rxshop's order service; (order row, lines)."""
    from datetime import UTC, datetime

    from rxshop.core.db import get_engine, new_session
    from rxshop.core.models import new_order_id
    from rxshop.domain.cart import price_cart
    from rxshop.orders import buy

    expires_at = datetime.fromtimestamp(int(time.time()) + 1800, UTC)
    planned = buy.plan_checkout_order(
        order_id=new_order_id(),
        visitor_id=secrets.token_hex(16),
        cart=price_cart({"mug": 2, "notebook": 1}),
        session_expires_at=expires_at,
    )
    with new_session(get_engine(url)) as session:
        buy.settle_checkout(
            session=session,
            planned=planned,
            session_id="cs_test_" + secrets.token_hex(20),
            url="https://checkout.example.test/pay",
            expires_at=expires_at,
            now=datetime.now(UTC),
        )
    order = planned.order
    eng = engine(url)
    meta = sa.MetaData()
    table_orders = sa.Table("orders", meta, autoload_with=eng)
    table_lines = sa.Table("order_lines", meta, autoload_with=eng)
    with eng.connect() as conn:
        row = dict(conn.execute(sa.select(table_orders).where(table_orders.c.id == order.id)).one()._mapping)
        lines = [
            dict(r._mapping)
            for r in conn.execute(sa.select(table_lines).where(table_lines.c.order_id == order.id))
        ]
    eng.dispose()
    return row, lines


def rxshop_orders(
    url: str,
    n: int,
    *,
    visitor_id: str | None = None,
    status: str | None = None,
    spread_days: float = 0,
    batch: int = 5000,
    hold: bool = False,
) -> list[dict[str, Any]]:
    """`n` clones of a real pending order (new ids, visitors, session ids); their order rows, each with the
    `payment_intent` its payment has (`status="paid"`: paid by the return page, so the order has it too).
    `hold`: its units held, as Buy holds them for a counted product (sold if paid), the products counted."""
    template, lines = _template(url)
    eng = engine(url)
    meta = sa.MetaData()
    table_orders = sa.Table("orders", meta, autoload_with=eng)
    table_lines = sa.Table("order_lines", meta, autoload_with=eng)
    now = datetime.now(UTC).replace(tzinfo=None) if eng.dialect.name == "sqlite" else datetime.now(UTC)
    rows, line_rows = [], []
    for i in range(n):
        order_id = "ord_" + secrets.token_hex(12)
        session_id = "cs_test_" + secrets.token_hex(20)
        row = {
            **template,
            "id": order_id,
            "visitor_id": visitor_id or secrets.token_hex(16),
            "stripe_session_id": session_id,
            "checkout_url": f"https://checkout.example.test/pay/{session_id}",
        }
        if "number" in row:  # unique since migration 0004 (order numbers)
            row["number"] = "BN-" + secrets.token_hex(6).upper()
        row["payment_intent"] = "pi_" + secrets.token_hex(12)
        if status:
            row["status"] = status
        if status == "paid":
            row.update(payment_intent_id=row["payment_intent"], paid_at=now)
        if spread_days:
            row["created_at"] = row["updated_at"] = now - timedelta(days=spread_days * i / max(n, 1))
        rows.append(row)
        line_rows += [
            {**{k: v for k, v in line.items() if k != "id"}, "order_id": order_id} for line in lines
        ]
    with eng.begin() as conn:
        for start in range(0, len(rows), batch):
            conn.execute(table_orders.insert(), [_columns(r) for r in rows[start : start + batch]])
        for start in range(0, len(line_rows), batch):
            conn.execute(table_lines.insert(), line_rows[start : start + batch])
        if hold:
            _hold(conn, line_rows, "sold" if status == "paid" else "held", now)
    if eng.dialect.name == "postgresql":  # planner statistics, as autovacuum keeps them on a live database
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE orders")
            conn.exec_driver_sql("ANALYZE order_lines")
    eng.dispose()
    return rows


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "payment_intent"}


def _hold(conn: sa.Connection, line_rows: list[dict[str, Any]], status: str, now: datetime) -> None:
    """The reservations of these lines, and the products counted with plenty for sale (held ones reserved)."""
    expires = now + timedelta(minutes=30)
    conn.execute(
        sa.text(
            "INSERT INTO stock_reservations (order_id, product_id, quantity, status, expires_at, created_at,"
            " updated_at) VALUES (:order_id, :product_id, :quantity, :status, :expires, :now, :now)"
        ),
        [
            {
                **{k: line[k] for k in ("order_id", "product_id", "quantity")},
                "status": status,
                "expires": expires,
                "now": now,
            }
            for line in line_rows
        ],
    )
    held: dict[str, int] = {}
    for line in line_rows:
        held[line["product_id"]] = held.get(line["product_id"], 0) + (
            line["quantity"] if status == "held" else 0
        )
    for product, quantity in held.items():
        values = {"p": product, "q": quantity, "now": now, "big": 10**8}
        if conn.execute(sa.text("SELECT 1 FROM stock WHERE product_id = :p"), values).first() is None:
            conn.execute(
                sa.text(
                    "INSERT INTO stock (product_id, tracked, quantity, reserved, low_threshold, generation,"
                    " updated_at) VALUES (:p, true, :big, :q, 3, 0, :now)"
                ),
                values,
            )
        else:
            conn.execute(
                sa.text(
                    "UPDATE stock SET tracked = true, reserved = reserved + :q,"
                    " quantity = CASE WHEN quantity < :big THEN :big ELSE quantity END + :q"
                    " WHERE product_id = :p"
                ),
                values,
            )


def bare_orders(url: str, n: int, status: str = "pending") -> list[dict[str, Any]]:
    """`n` pending orders in the bare app's table, with the amount rxshop's template order has."""
    from bare.schema import SCHEMA

    eng = engine(url)
    rows = [
        {
            "id": secrets.token_hex(16),
            "session_id": "cs_test_" + secrets.token_hex(20),
            "status": status,
            "amount_total": 4850,
            "created_at": time.time(),
        }
        for _ in range(n)
    ]
    with eng.begin() as conn:
        for statement in SCHEMA:
            conn.exec_driver_sql(statement)
        conn.execute(
            sa.text(
                "INSERT INTO bare_orders (id, session_id, status, amount_total, created_at)"
                " VALUES (:id, :session_id, :status, :amount_total, :created_at)"
            ),
            rows,
        )
    eng.dispose()
    return [
        {**r, "stripe_session_id": r["session_id"], "currency": "usd", "payment_intent": "pi_" + r["id"][:24]}
        for r in rows
    ]


def count_paid(app: str, url: str) -> int:
    eng = engine(url)
    table = "orders" if app == "rxshop" else "bare_orders"
    with eng.connect() as conn:
        paid = conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE status = 'paid'").scalar_one()
    eng.dispose()
    return int(paid)
