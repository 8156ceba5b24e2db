"""Stock records: hold units for a Checkout Session, give them back, count them.

A press of Buy holds its order's units of counted products BEFORE Stripe is asked (`reserve_batch`: one
short transaction, nothing at all written for products nobody counts), keyed by the order id, so the
idempotent retry of the same order holds nothing more. The hold lasts as long as the session (its
`expires_at`); it is given back when the session expires, fails, is cancelled or is never handed out
(`release`, `release_unless_open`, `sweep`), and becomes a sale when paid (rxshop.orders.stock_sales).

Functions with `session=` run one transaction and commit; functions taking a `connection` run inside the
caller's transaction (a status change and its stock change commit together). The statements are in
`rxshop.orders.stock_sql`; the rules in `rxshop.domain.stock`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from rxshop.core.models import StockReservation, utcnow
from rxshop.domain.catalog import PRODUCTS, get_product
from rxshop.domain.stock import (
    DEFAULT_LOW_THRESHOLD,
    Shortage,
    StockLevel,
    shortage_message,
)
from rxshop.domain.stock import ReservationStatus as R
from rxshop.orders import stock_sql as sql
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
    be given back if its session is never handed out), `took` if this call took units (tabs hear of it),
    `closed` if the order is paid or given up already (nothing held: the Buy takes the cart's next key)."""

    order_id: str
    counted: bool = False
    took: bool = False
    closed: bool = False


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
    in one order (no deadlock between two workers' batches on PostgreSQL). An order already paid or given
    up holds nothing (`closed`)."""
    ids = sorted({r.order_id for r in requests})
    products = sorted({product for r in requests for product, _q in r.lines})
    found = connection.execute(sql.HOLD_CONTEXT, {"ids": ids, "products": products}).all()
    closed = {row.name for row in found if row.what == "closed"}
    counted = {row.name for row in found if row.what == "counted"}
    results: list[Hold | Exception] = [Hold(r.order_id, closed=r.order_id in closed) for r in requests]
    wanted = {
        i: [(p, q) for p, q in sorted(r.lines) if p in counted]
        for i, r in enumerate(requests)
        if r.order_id not in closed
    }
    wanted = {i: lines for i, lines in wanted.items() if lines}
    if not wanted:
        return results
    order = sorted(wanted, key=lambda i: requests[i].order_id)
    for i in order:
        results[i] = Hold(requests[i].order_id, counted=True)  # held before (a retry of this order), or below
    written = _write_holds(connection, [(requests[i], wanted[i]) for i in order], now)
    new: dict[int, list[tuple[str, int]]] = {}
    for i in order:  # a key written once: the first press of the batch holds, a second one (same order) not
        fresh = [(p, q) for p, q in wanted[i] if (requests[i].order_id, p) in written]
        written.difference_update((requests[i].order_id, p) for p, _q in fresh)
        if fresh:
            new[i] = fresh
    taken, short = _take(connection, requests, new, now)
    for i in sorted(new):
        request = requests[i]
        if i not in short:
            results[i] = Hold(request.order_id, counted=True, took=bool(taken[i]))
            continue
        for product, quantity in taken[i]:
            connection.execute(sql.PUT_BACK, line_values(request.order_id, product, quantity, now))
        for product, quantity in new[i]:
            connection.execute(sql.FORGET_HOLD, line_values(request.order_id, product, quantity, now))
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
        takers = [(i, q) for i in sorted(new) for p, q in new[i] if p == product and i not in short]
        # The common case, one UPDATE for the whole batch: enough is free for every buyer of it.
        everyone = line_values("", product, sum(q for _i, q in takers), now)
        if connection.execute(sql.TAKE, everyone).rowcount == 1:
            for i, quantity in takers:
                taken[i].append((product, quantity))
            continue
        for i, quantity in takers:  # not enough for all: each in arrival order, as far as it goes
            values = line_values(requests[i].order_id, product, quantity, now)
            if connection.execute(sql.TAKE, values).rowcount == 1:
                taken[i].append((product, quantity))
            elif is_counted(connection, product):
                short.add(i)
            else:  # no longer counted (the owner, just now): nothing to hold
                connection.execute(sql.FORGET_HOLD, values)
    return taken, short


def _write_holds(
    connection: sa.Connection, holds: list[tuple[HoldRequest, list[tuple[str, int]]]], now: datetime
) -> set[tuple[str, str]]:
    """The reservation rows, in (order, product) order, as one multi-row INSERT; the (order, product) keys it
    wrote (a key already there is an earlier press of the same order: it holds nothing more)."""
    rows = [
        {
            "order_id": request.order_id,
            "product_id": product,
            "quantity": quantity,
            "status": R.HELD,
            "expires_at": request.expires_at,
            "created_at": now,
            "updated_at": now,
        }
        for request, lines in holds
        for product, quantity in lines
    ]
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    table = sql.RESERVATIONS
    statement = (
        insert(StockReservation)
        .on_conflict_do_nothing(index_elements=["order_id", "product_id"])
        .returning(table.c.order_id, table.c.product_id)
    )
    return {(row.order_id, row.product_id) for row in connection.execute(statement, rows)}


def line_values(order_id: str, product_id: str, quantity: int, now: datetime, **more: Any) -> dict[str, Any]:
    return {"order_id": order_id, "product_id": product_id, "quantity": quantity, "now": now, **more}


def is_counted(connection: sa.Connection, product_id: str) -> bool:
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
        connection.execute(sql.PUT_BACK, line_values("", product, per_product[product], now))


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


def describe(level: StockLevel) -> str:
    """One line for the command line and logs: 'mug  Morning Mug  12 for sale, 2 held, 10 free (low at 3)'."""
    name = get_product(level.product_id).name
    if not level.tracked:
        return f"{level.product_id}  {name}  not tracked"
    return (
        f"{level.product_id}  {name}  {level.quantity} for sale, {level.reserved} held, {level.free} free "
        f"(low at {level.low_threshold}): {level.status.label}"
    )
