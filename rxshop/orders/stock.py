"""Stock records: hold units for a Checkout Session, give them back, sell them, count them.

A press of Buy holds its order's units of counted products BEFORE Stripe is asked (`reserve_batch`: one
short transaction, nothing at all written for products nobody counts), keyed by the order id, so the
idempotent retry of the same order holds nothing more. The hold lasts as long as the session (its
`expires_at`); it is given back when the session expires, fails, is cancelled or is never handed out
(`release`, `release_unless_open`, `sweep`), and becomes a sale when paid (`sell_orders`). A payment for
units no longer held takes free units if there are any, else it is recorded as oversold for the owner.

Functions with `session=` run one transaction and commit; functions taking a `connection` run inside the
caller's transaction (a status change and its stock change commit together). The statements are in
`rxshop.orders.stock_sql`; the rules in `rxshop.domain.stock`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from rxshop.core.models import InboxItem, utcnow
from rxshop.domain.catalog import PRODUCTS, get_product
from rxshop.domain.stock import (
    DEFAULT_LOW_THRESHOLD,
    Shortage,
    StockLevel,
    crossed_low,
    shortage_message,
)
from rxshop.domain.stock import ReservationStatus as R
from rxshop.orders import history
from rxshop.orders import stock_sql as sql
from rxshop.orders.history import EventKind, InboxKind
from rxshop.orders.records import transaction

logger = logging.getLogger(__name__)


class OutOfStock(ValueError):
    """A Buy wants more than is free; the message (for the buyer) names each product and what is left."""

    def __init__(self, shortages: Sequence[Shortage]) -> None:
        self.shortages = tuple(shortages)
        super().__init__(shortage_message(self.shortages))


@dataclass(frozen=True)
class HoldRequest:
    """What one planned order would hold: its lines (product id, quantity), until its session's expiry."""

    order_id: str
    lines: tuple[tuple[str, int], ...]
    expires_at: datetime


@dataclass(frozen=True)
class Hold:
    """What `reserve_batch` did for one order: `counted` if any of its products is counted (its hold must
    be given back if its session is never handed out), `took` if this call took units (tabs hear of it)."""

    order_id: str
    counted: bool = False
    took: bool = False


# --- Holding, for the Buy path -------------------------------------------------------------------------


def reserve_batch(*, session: Session, requests: list[HoldRequest], now: datetime) -> list[Hold | Exception]:
    """Hold the units of every request, in ONE transaction (group commit of a burst of Buys); a request
    short of any product holds nothing and gets OutOfStock. If the shared transaction fails (a lock), each
    request is tried again alone. Results in the order of `requests`; returns after the COMMIT."""
    try:
        with transaction(session):
            return _reserve(session.connection(), requests, now)
    except Exception:  # noqa: BLE001 (each request is decided again on its own below)
        logger.warning(
            "holding stock for %d checkouts failed; holding each alone", len(requests), exc_info=True
        )
    results: list[Hold | Exception] = []
    for request in requests:
        try:
            with transaction(session):
                results.extend(_reserve(session.connection(), [request], now))
        except Exception as err:  # noqa: BLE001 (handed to that Buy's caller)
            results.append(err)
    return results


def _reserve(connection: sa.Connection, requests: list[HoldRequest], now: datetime) -> list[Hold | Exception]:
    """One read for the common case (nothing counted: nothing written). Then the holds, in (order, product)
    order, and the units taken product by product, buyers in arrival order: every writer locks stock rows
    in one order (no deadlock between two workers' batches on PostgreSQL)."""
    products = sorted({product for r in requests for product, _q in r.lines})
    counted = {row.product_id for row in connection.execute(sql.TRACKED_AMONG, {"ids": products})}
    results: list[Hold | Exception] = [Hold(r.order_id) for r in requests]
    wanted = {i: [(p, q) for p, q in sorted(r.lines) if p in counted] for i, r in enumerate(requests)}
    wanted = {i: lines for i, lines in wanted.items() if lines}
    if not wanted:
        return results
    new: dict[int, list[tuple[str, int]]] = {}
    for i in sorted(wanted, key=lambda i: requests[i].order_id):
        request = requests[i]
        results[i] = Hold(request.order_id, counted=True)  # held before (a retry of this order), or below
        for product, quantity in wanted[i]:
            values = _line(request.order_id, product, quantity, now, expires_at=request.expires_at)
            if connection.execute(sql.HOLD, values).rowcount == 1:
                new.setdefault(i, []).append((product, quantity))
    taken, short = _take(connection, requests, new, now)
    for i in sorted(new):
        request = requests[i]
        if i not in short:
            results[i] = Hold(request.order_id, counted=True, took=bool(taken[i]))
            continue
        for product, quantity in taken[i]:
            connection.execute(sql.PUT_BACK, _line(request.order_id, product, quantity, now))
        for product, quantity in new[i]:
            connection.execute(sql.FORGET_HOLD, _line(request.order_id, product, quantity, now))
        results[i] = OutOfStock(_shortages(connection, wanted[i]))
    return results


def _take(
    connection: sa.Connection,
    requests: list[HoldRequest],
    new: dict[int, list[tuple[str, int]]],
    now: datetime,
) -> tuple[dict[int, list[tuple[str, int]]], set[int]]:
    """Take the newly held units from stock: (what each request took, the requests short of something)."""
    taken: dict[int, list[tuple[str, int]]] = defaultdict(list)
    short: set[int] = set()
    for product in sorted({p for lines in new.values() for p, _q in lines}):
        for i in sorted(new):  # arrival order
            quantity = next((q for p, q in new[i] if p == product), 0)
            if not quantity or i in short:
                continue
            values = _line(requests[i].order_id, product, quantity, now)
            if connection.execute(sql.TAKE, values).rowcount == 1:
                taken[i].append((product, quantity))
            elif _counted(connection, product):
                short.add(i)
            else:  # no longer counted (the owner, just now): nothing to hold
                connection.execute(sql.FORGET_HOLD, values)
    return taken, short


def _line(order_id: str, product_id: str, quantity: int, now: datetime, **more: Any) -> dict[str, Any]:
    return {"order_id": order_id, "product_id": product_id, "quantity": quantity, "now": now, **more}


def _counted(connection: sa.Connection, product_id: str) -> bool:
    row = connection.execute(sql.LEVEL, {"product_id": product_id}).first()
    return bool(row is not None and row.tracked)


def _shortages(connection: sa.Connection, lines: list[tuple[str, int]]) -> list[Shortage]:
    found = []
    for product, quantity in lines:
        row = connection.execute(sql.LEVEL, {"product_id": product}).first()
        if row is not None and row.tracked and row.quantity - row.reserved < quantity:
            found.append(Shortage(product, quantity, max(0, row.quantity - row.reserved)))
    return found


def release(connection: sa.Connection, order_ids: Sequence[str], now: datetime) -> bool:
    """Give back what these orders hold (inside the caller's transaction); True if anything was held."""
    if not order_ids:
        return False
    returned = connection.execute(sql.RELEASE, {"ids": list(order_ids), "now": now}).all()
    _put_back(connection, ((row.product_id, row.quantity) for row in returned), now)
    return bool(returned)


def _put_back(connection: sa.Connection, lines: Iterable[tuple[str, int]], now: datetime) -> None:
    per_product: dict[str, int] = defaultdict(int)
    for product, quantity in lines:
        per_product[product] += quantity
    for product in sorted(per_product):  # one lock order for every writer
        connection.execute(sql.PUT_BACK, _line("", product, per_product[product], now))


def release_unless_open(*, session: Session, order_id: str, now: datetime) -> bool:
    """After a Buy whose order was not handed out (refused, given up, burned, or another order's session
    handed back): give back its hold, unless its order is waiting for payment after all (a retry of it)."""
    with transaction(session):
        connection = session.connection()
        status = connection.execute(sql.OPEN_ORDER, {"order_id": order_id}).scalar()
        if status in ("pending", "processing"):
            return False
        return release(connection, [order_id], now)


def sweep(*, session: Session, now: datetime) -> list[str]:
    """Give back every hold nobody can pay any more (run after `records.expire_stale_orders`); the ids of
    the orders whose holds ended. Catches what an event did not: a hold of an order given up by the Buy
    path, or of a Buy whose process stopped before its order was written."""
    with transaction(session):
        connection = session.connection()
        returned = connection.execute(sql.SWEEP, {"now": now}).all()
        _put_back(connection, ((row.product_id, row.quantity) for row in returned), now)
    return sorted({row.order_id for row in returned})


# --- Selling, for fulfillment and the webhook's fast path ---------------------------------------------


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
    for row in sorted(rows, key=lambda r: (r.product_id, r.order_id)):
        values = _line(row.order_id, row.product_id, row.quantity, now)
        if row.held == R.HELD and connection.execute(sql.MARK_SOLD, values).rowcount == 1:
            _sell_held(connection, values, sale)
        elif row.held in (None, R.RELEASED, R.HELD):  # (HELD: released by someone else meanwhile)
            _sell_unheld(connection, values, sale)
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
    elif _counted(connection, values["product_id"]):
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


# --- Reading and counting: the shop's tabs, the owner ------------------------------------------------------


def levels(*, session: Session) -> tuple[StockLevel, ...]:
    """Every product's stock, in catalog order (a product without a row is untracked): one query."""
    with transaction(session):
        rows = {row.product_id: row for row in session.connection().execute(sql.LEVELS)}
    found = []
    for product in PRODUCTS:
        row = rows.get(product.id)
        found.append(
            StockLevel(product.id, bool(row.tracked), row.quantity, row.reserved, row.low_threshold)
            if row is not None
            else StockLevel(product.id)
        )
    return tuple(found)


def set_stock(
    *,
    session: Session,
    product_id: str,
    tracked: bool | None = None,
    quantity: int | None = None,
    low_threshold: int | None = None,
    now: datetime | None = None,
) -> StockLevel:
    """The owner's count (`quantity`: units for sale now, units held by open checkouts included), whether
    it is counted at all, and its low-stock threshold; None keeps what is there. Checked by the callers
    (rxshop.domain.stock.parse_count); the product must be in the catalog."""
    product = get_product(product_id)
    values = {
        "product_id": product.id,
        "tracked": tracked,
        "quantity": quantity,
        "new_count": quantity is not None,
        "low_threshold": low_threshold,
        "default_threshold": DEFAULT_LOW_THRESHOLD,
        "now": now or utcnow(),
    }
    with transaction(session):
        session.connection().execute(sql.SET_STOCK, values)
    logger.info(
        "stock of %s set: tracked=%s quantity=%s low=%s", product.id, tracked, quantity, low_threshold
    )
    return next(level for level in levels(session=session) if level.product_id == product.id)


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
            connection.execute(sql.PUT_ON_SHELF, _line(order_id, product, quantity, now))
        text = ", ".join(f"{q} × {get_product(p).name}" for p, q in lines)
        if text:
            history.add_event(session, order_id, EventKind.RESTOCKED, text, actor=actor, at=now)
    return text


def describe(level: StockLevel) -> str:
    """One line for the command line and logs: 'mug  Morning Mug  12 for sale, 2 held, 10 free (low at 3)'."""
    name = get_product(level.product_id).name
    if not level.tracked:
        return f"{level.product_id}  {name}  not tracked"
    return (
        f"{level.product_id}  {name}  {level.quantity} for sale, {level.reserved} held, {level.free} free "
        f"(low at {level.low_threshold}): {level.status.label}"
    )
