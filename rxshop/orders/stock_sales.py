"""Stock at payment and refund: a paid order's held units become a sale; units paid for after their hold
ended come from the free ones, or are recorded as oversold for the owner (with a one-click refund); a sale
that takes a product down to its low-stock mark tells the owner; a refund may put the units back.

`sell_orders` runs inside the transaction that pays the orders (fulfillment, the webhook's fast path), so the
status and the stock commit together. Holding and giving back are in rxshop.orders.stock.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from rxshop.core.models import InboxItem, UTCDateTime, utcnow
from rxshop.domain.catalog import get_product
from rxshop.domain.stock import ReservationStatus as R
from rxshop.domain.stock import crossed_low
from rxshop.orders import history
from rxshop.orders import stock_sql as sql
from rxshop.orders.history import EventKind, InboxKind
from rxshop.orders.records import transaction
from rxshop.orders.stock import is_counted, line_values

logger = logging.getLogger(__name__)


@dataclass
class _Sale:
    oversold: dict[str, list[tuple[str, int]]] = field(default_factory=lambda: defaultdict(list))
    low: list[tuple[str, int, int, int]] = field(default_factory=list)  # product, left, threshold, generation
    changed: bool = False


def sell_orders(connection: sa.Connection, order_ids: Sequence[str], now: datetime) -> bool:
    """These orders were just paid (inside the transaction that paid them): their held units become sales;
    units no longer held are taken from the free ones, or recorded as oversold (the owner's inbox, with a
    refund). A sale that takes a product down to its low-stock threshold tells the owner once per restock.
    Product by product (one lock order). One read and nothing more when nothing of them is counted.
    Returns True when the stock changed."""
    if not order_ids:
        return False
    rows = connection.execute(sql.TO_SELL, {"ids": list(order_ids)}).all()
    sale = _Sale()
    held = _mark_sold(connection, [r for r in rows if r.held == R.HELD], now)
    by_product: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_product[row.product_id].append(row)
    for product in sorted(by_product):  # one lock order for every writer
        lines = sorted(by_product[product], key=lambda r: r.order_id)
        marked = [
            line_values(r.order_id, product, r.quantity, now) for r in lines if (r.order_id, product) in held
        ]
        _sell_marked(connection, product, marked, now, sale)
        for row in lines:
            if (row.order_id, product) not in held and row.held in (None, R.RELEASED, R.HELD):
                # (HELD: released by someone else meanwhile)
                _sell_unheld(connection, line_values(row.order_id, product, row.quantity, now), sale)
    for order_id, lines in sale.oversold.items():
        _flag_oversold(connection, order_id, lines, now)
    for product, left, threshold, generation in sale.low:
        _flag(
            connection,
            kind=InboxKind.LOW_STOCK,
            reference=f"{product}:{generation}",
            detail=f"{get_product(product).name}: {left} left for sale (low at {threshold}). "
            "Restock it on the Inventory page.",
            at=now,
        )
    return sale.changed


def _mark_sold(connection: sa.Connection, rows: list[Any], now: datetime) -> set[tuple[str, str]]:
    """Every held line of these rows becomes sold (one statement: a batch of paid orders is one UPDATE);
    the (order, product) lines that were still held."""
    if not rows:
        return set()
    if len(rows) == 1:
        values = line_values(rows[0].order_id, rows[0].product_id, rows[0].quantity, now)
        return (
            {(rows[0].order_id, rows[0].product_id)}
            if connection.execute(sql.MARK_SOLD, values).rowcount
            else set()
        )
    ids, products = sorted({r.order_id for r in rows}), sorted({r.product_id for r in rows})
    marked = connection.execute(_MARK_ALL_SOLD, {"ids": ids, "products": products, "now": now}).all()
    return {(r.order_id, r.product_id) for r in marked}


# MARK_SOLD for every held line of a batch's orders (held lines of products no longer counted included).
# `status || ''`: found by the key (order, product), never by the status index, which SQLite's planner
# would otherwise pick and walk every open checkout's hold.
_MARK_ALL_SOLD = sa.text(
    f"UPDATE stock_reservations SET status = '{R.SOLD}', updated_at = :now WHERE order_id IN :ids"
    f" AND product_id IN :products AND status || '' = '{R.HELD}' RETURNING order_id, product_id"
).bindparams(
    sa.bindparam("ids", expanding=True),
    sa.bindparam("products", expanding=True),
    sa.bindparam("now", type_=UTCDateTime()),
)


def _sell_marked(
    connection: sa.Connection, product: str, lines: list[dict[str, Any]], now: datetime, sale: _Sale
) -> None:
    """The held units of one product's lines become sales: one UPDATE for them all when enough is left,
    else line by line (the ones that no unit is left for are oversold)."""
    if len(lines) > 1:
        values = line_values("", product, sum(v["quantity"] for v in lines), now)
        after = connection.execute(sql.SELL_HELD, values).first()
        if after is not None:
            sale.changed = True
            if after.tracked:
                _note_low(values, after, sale)
            return
    for values in lines:
        _sell_held(connection, values, sale)


def _sell_held(connection: sa.Connection, values: dict[str, Any], sale: _Sale) -> None:
    after = connection.execute(sql.SELL_HELD, values).first()
    sale.changed = True
    if after is None:  # fewer left than were held (the owner lowered the count): no unit to take
        connection.execute(sql.PUT_BACK, values)
        connection.execute(sql.SET_OUTCOME, {**values, "status": R.OVERSOLD})
        sale.oversold[values["order_id"]].append((values["product_id"], values["quantity"]))
    elif after.tracked:
        _note_low(values, after, sale)


def _sell_unheld(connection: sa.Connection, values: dict[str, Any], sale: _Sale) -> None:
    after = connection.execute(sql.SELL_FREE, values).first()
    if after is not None:
        connection.execute(sql.SET_OUTCOME, {**values, "status": R.SOLD})
        sale.changed = True
        _note_low(values, after, sale)
    elif is_counted(connection, values["product_id"]):
        connection.execute(sql.SET_OUTCOME, {**values, "status": R.OVERSOLD})
        sale.oversold[values["order_id"]].append((values["product_id"], values["quantity"]))


def _note_low(values: dict[str, Any], after: Any, sale: _Sale) -> None:
    if crossed_low(after.quantity + values["quantity"], after.quantity, after.low_threshold):
        sale.low.append((values["product_id"], after.quantity, after.low_threshold, after.generation))


def _flag_oversold(
    connection: sa.Connection, order_id: str, lines: list[tuple[str, int]], now: datetime
) -> None:
    amount = connection.execute(sql.ORDER_AMOUNT, {"order_id": order_id}).first()
    items = ", ".join(f"{q} × {get_product(p).name}" for p, q in lines)
    logger.warning("order %s was paid for %s not in stock any more: oversold", order_id, items)
    _flag(
        connection,
        kind=InboxKind.OVERSOLD,
        reference=order_id,
        order_id=order_id,
        amount=amount.amount_total if amount else None,
        currency=amount.currency if amount else None,
        detail=f"Paid for {items} after the checkout's hold on them had ended, with none left to sell. "
        "The payment is kept: refund it in one click, or restock and ship it.",
        at=now,
    )


def _flag(connection: sa.Connection, **values: Any) -> None:
    """history.flag's insert, on the caller's connection (the webhook's fast path has no ORM session)."""
    values["created_at"] = values.pop("at")
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(InboxItem).values(**values).on_conflict_do_nothing(index_elements=["kind", "reference"])
    )


def restock_order(
    *, session: Session, order_id: str, actor: str = "owner", now: datetime | None = None
) -> str:
    """Put a refunded order's sold units back for sale, once ("" if there was nothing to put back; units
    paid while out of stock were never taken). Returns what was put back, as text for the owner."""
    now = now or utcnow()
    with transaction(session):
        connection = session.connection()
        returned = connection.execute(sql.RESTOCK_ORDER, {"order_id": order_id, "now": now}).all()
        lines = sorted((row.product_id, row.quantity) for row in returned)
        for product, quantity in lines:
            connection.execute(sql.PUT_ON_SHELF, line_values(order_id, product, quantity, now))
        text = ", ".join(f"{q} × {get_product(p).name}" for p, q in lines)
        if text:
            history.add_event(session, order_id, EventKind.RESTOCKED, text, actor=actor, at=now)
    return text
