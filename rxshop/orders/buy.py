"""The Buy path's records: plan the order a press of Buy pays for, and settle what Stripe answered for it.

A burst of Buys must not queue on the database before its Stripe calls (measured: any database work in
front of the call costs 0.4-1.0 of p95 against a bare app, bench/RESULTS.md). So the order a press of Buy
pays for is planned without the database: its id, hence its idempotency key, is derived from (visitor,
cart, time window, generation), and every press for the same cart in one window sends Stripe the very
same request, which Stripe answers with the very same session (a second press, a second tab, a retry
after a timeout). What the database decides is settled in one transaction after Stripe has answered.
Functions with `session=` run one transaction and commit (as in `rxshop.orders.records`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from rxshop.core.models import new_order_number
from rxshop.domain.cart import Cart
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders import buy_sql as sql
from rxshop.orders.buy_sql import ORDER_COLUMNS, NewOrder
from rxshop.orders.records import as_utc, pending_order_values, reprice, transaction
from rxshop.orders.views import OrderLineView

logger = logging.getLogger(__name__)
T = TypeVar("T")

# How long an open Checkout Session must still live to be handed to the buyer again.
REUSE_MARGIN = timedelta(minutes=1)
# Open checkouts (pending orders with a live session) one visitor, or one client address, may hold.
MAX_OPEN_CHECKOUTS_PER_VISITOR = 5
MAX_OPEN_CHECKOUTS_PER_CLIENT = 20
LIMIT_MESSAGE = (
    "You have several checkouts open already. Finish one of them, or wait for them to expire "
    "(30 to 40 minutes), before starting another."
)


class CheckoutLimitReached(ValueError):
    """Too many open checkouts for this visitor or client; the message is for the buyer."""


MAX_CHECKOUT_GENERATIONS = 20


@dataclass(frozen=True)
class PlannedOrder:
    """The order one press of Buy asks Stripe for, not written yet (`plan_checkout_order`)."""

    order: NewOrder
    lines: tuple[OrderLineView, ...]


@dataclass(frozen=True)
class Settled:
    """What the database made of a press of Buy: the session to send the buyer to, or `burned`."""

    order_id: str | None = None
    url: str | None = None
    reused: bool = False  # True: an order (and session) this visitor had been given before
    burned: bool = False  # the planned order is no longer pending: ask again with the next generation
    # The session Stripe answered with belongs to no order (the key's first request failed before Stripe
    # saved its answer, and the order was given up): no one is sent to it, the caller expires it.
    orphan: bool = False


def checkout_order_ids(signing_key: bytes, visitor_id: str, fingerprint: str, window: int) -> list[str]:
    """The ids one visitor's cart may take in one window, by generation: unguessable, like new_order_id."""
    base = f"checkout-order:{visitor_id}:{fingerprint}:{window}:".encode()
    return [
        "ord_" + hmac.new(signing_key, base + str(g).encode(), hashlib.sha256).hexdigest()[:24]
        for g in range(MAX_CHECKOUT_GENERATIONS)
    ]


def plan_checkout_order(
    *,
    order_id: str,
    visitor_id: str,
    cart: Cart,
    session_expires_at: datetime,
    livemode: bool = False,
    client_ip: str | None = None,
) -> PlannedOrder:
    """The pending order for this cart, priced from the catalog, with a fixed id; no database work."""
    if not visitor_id:
        raise ValueError("visitor_id is required")
    priced = reprice(cart)
    if priced.is_empty:
        raise ValueError("An empty cart cannot be ordered.")
    values = pending_order_values(visitor_id, priced, as_utc(session_expires_at), livemode, client_ip)
    order = NewOrder(**{**values, "id": order_id})
    lines = tuple(OrderLineView(x.product_id, x.name, x.unit_amount, x.quantity) for x in priced.lines)
    return PlannedOrder(order, lines)


@dataclass(frozen=True)
class Answer:
    """What Stripe answered for a planned order: settle_checkout's arguments, for settle_checkouts."""

    planned: PlannedOrder
    session_id: str
    url: str
    expires_at: datetime | int
    now: datetime


def settle_checkouts(*, session: Session, answers: list[Answer]) -> list[Settled | Exception]:
    """Group commit for a burst of Buys: the common case of every answer in ONE transaction, then each
    other answer through `settle_checkout` in its own. Results in the order of `answers`; an answer whose
    own path failed gets its exception (CheckoutLimitReached included). Returns after the COMMIT.

    The common case: the planned order is new, under the caps, with no older open session of its cart:
    INSERT them bound (ON CONFLICT (id) DO NOTHING; one multi-row INSERT for the batch), one SELECT of the
    counts around each, the batch's lines (one executemany). Anything
    else is undone within the transaction (the new row deleted) and decided by settle_checkout. If the
    shared transaction fails (a taken order number, a lock), it is rolled back and every answer takes
    settle_checkout.
    """
    fast: list[Settled | None] = [None] * len(answers)
    try:
        with transaction(session):
            connection = session.connection()
            # In order id order: two workers' batches take their rows' locks in one order (on PostgreSQL a
            # deadlock would fail a whole batch, which then settles each answer alone).
            ordered = sorted(range(len(answers)), key=lambda i: answers[i].planned.order.id)
            written = _insert_new(connection, [answers[i] for i in ordered])
            # Last first: counts as if written one by one (see _settle_new). An id twice: one of them here.
            for i in reversed(ordered):
                if answers[i].planned.order.id in written:
                    written.discard(answers[i].planned.order.id)
                    fast[i] = _settle_new(connection, answers[i])
            _insert_lines(connection, *(answers[i].planned for i in ordered if fast[i] is not None))
    except Exception:  # noqa: BLE001 (each answer is decided again on its own below)
        logger.warning(
            "group settle of %d checkouts failed; settling each alone", len(answers), exc_info=True
        )
        fast = [None] * len(answers)
    results: list[Settled | Exception] = []
    for answer, settled in zip(answers, fast, strict=True):
        if settled is None:
            try:
                settled = settle_checkout(
                    session=session,
                    planned=answer.planned,
                    session_id=answer.session_id,
                    url=answer.url,
                    expires_at=answer.expires_at,
                    now=answer.now,
                )
            except Exception as err:  # noqa: BLE001 (handed to that Buy's caller)
                results.append(err)
                continue
        results.append(settled)
    return results


def _insert_new(connection: sa.Connection, answers: list[Answer]) -> set[str]:
    """Every answer's planned order as a new row, bound to its session, in one multi-row INSERT that skips
    an id written before (bind, hand back or burn it: settle_checkout); the ids it wrote."""
    rows = []
    for answer in answers:
        values = {name: getattr(answer.planned.order, name) for name in ORDER_COLUMNS}
        values.update(
            stripe_session_id=answer.session_id,
            checkout_url=answer.url,
            session_expires_at=as_utc(answer.expires_at),
        )
        rows.append(values)
    written = connection.execute(sql.INSERT_NEW_ORDERS[connection.dialect.name], rows) if rows else ()
    return {row.id for row in written}


def _settle_new(connection: sa.Connection, answer: Answer) -> Settled | None:
    """settle_checkout's common case for an order `_insert_new` just wrote, in the caller's transaction (its
    lines follow for the whole batch), or None (the row deleted again) for the rest.

    The counts see the batch's rows not deleted yet (settle_checkouts decides the last first), so the
    outcome is that of writing the batch one answer at a time."""
    order = answer.planned.order
    around = connection.execute(
        sql.AROUND_NEW,
        {
            **_cart_of(order),
            "client_ip": order.client_ip,
            "now": answer.now,
            "reuse": answer.now + REUSE_MARGIN,
            "id": order.id,
        },
    ).one()
    over_cap = around.by_visitor > MAX_OPEN_CHECKOUTS_PER_VISITOR or (
        order.client_ip is not None and around.by_client > MAX_OPEN_CHECKOUTS_PER_CLIENT
    )
    if over_cap or around.older:  # the new row counts itself: over the cap means above it
        connection.execute(sql.DELETE_NEW, {"id": order.id})
        return None
    if around.unattached:
        _expire_other_unattached(connection, order, answer.now)
    return Settled(order.id, answer.url)


def settle_checkout(
    *,
    session: Session,
    planned: PlannedOrder,
    session_id: str,
    url: str,
    expires_at: datetime | int,
    now: datetime,
) -> Settled:
    """Write what Stripe answered for a planned order, once; one transaction of prebuilt statements.

    The planned order exists and is pending: bind it (a first answer) or hand it back (Stripe replayed
    the same session). It is no longer pending: `burned`. It does not exist: hand back an older open
    session of the same cart if there is one (the new session is then never shown to anyone and expires
    unused), else check the caps of open checkouts (CheckoutLimitReached) and insert it, bound.
    """
    order = planned.order

    def decide(connection: sa.Connection, row: Any) -> Settled:
        if row is not None:
            return _settle_existing(connection, row, order, session_id, url, expires_at, now)
        older = connection.execute(
            sql.REUSABLE, {**_cart_of(order), "reuse": now + REUSE_MARGIN, "id": order.id}
        ).first()
        if older is not None:
            return Settled(older.id, older.checkout_url, reused=True)
        _check_caps(connection, order, now)
        _insert_planned(
            connection,
            planned,
            stripe_session_id=session_id,
            checkout_url=url,
            session_expires_at=as_utc(expires_at),
        )
        return Settled(order.id, url)

    return _around_planned_row(session, planned, now, decide)


def reusable_checkout(*, session: Session, planned: PlannedOrder, now: datetime) -> Settled | None:
    """An older open session of the planned order's cart (the same visitor's), to hand back instead of a
    refusal: a Buy short of stock may be this buyer coming back for the checkout that holds their units."""
    order = planned.order
    with transaction(session):
        older = (
            session.connection()
            .execute(sql.REUSABLE, {**_cart_of(order), "reuse": now + REUSE_MARGIN, "id": order.id})
            .first()
        )
    return Settled(older.id, older.checkout_url, reused=True) if older is not None else None


def record_failed_checkout(
    *, session: Session, planned: PlannedOrder, now: datetime, same_key_may_succeed: bool
) -> Settled | None:
    """Stripe's request for a planned order failed: write the order so that the next press knows.

    Returns None (the caller reports the failure) after writing the order unattached and pending (a
    timeout: the same key may still succeed, so the next press asks again with it) or given up (a 5xx,
    which Stripe replays under that key). If the order had been given up before, this failure is that
    replay: `burned`, and the caller asks with the next generation at once. If it is bound already (an
    earlier press got its session), that session is handed back.
    """
    order = planned.order

    def decide(connection: sa.Connection, row: Any) -> Settled | None:
        if row is None:
            order.status = S.PENDING if same_key_may_succeed else S.EXPIRED
            _insert_planned(connection, planned)
            return None
        if row.status != S.PENDING:
            return Settled(burned=True)
        if row.stripe_session_id is not None:
            return Settled(order.id, row.checkout_url, reused=True)
        if not same_key_may_succeed:
            connection.execute(
                sql.GIVE_UP, {"id": order.id, "expired": S.EXPIRED, "pending": S.PENDING, "now": now}
            )
        return None

    return _around_planned_row(session, planned, now, decide)


def _around_planned_row(
    session: Session, planned: PlannedOrder, now: datetime, decide: Callable[[sa.Connection, Any], T]
) -> T:
    """`decide(connection, the planned order's row or None)` in one transaction, after giving up the other
    unattached orders of its cart (an UPDATE first: SQLite takes its write lock at once).

    Retried on a unique-key conflict: another press (a second tab) wrote this order first, and the next
    pass decides against it; or, about once in a hundred million orders, a taken order number: draw another.
    """
    order = planned.order
    for _attempt in range(3):
        try:
            with transaction(session):
                connection = session.connection()
                _expire_other_unattached(connection, order, now)
                return decide(connection, connection.execute(sql.PLANNED, {"id": order.id}).first())
        except IntegrityError:
            order.number = new_order_number()
    raise RuntimeError(f"could not write the planned order {order.id}")


def first_open_generation(*, session: Session, order_ids: list[str]) -> int | None:
    """The first of a cart's ids (by generation) with no order yet or a pending one; None if all are used."""
    with transaction(session):
        statuses: dict[str, str] = dict(session.connection().execute(sql.STATUSES, {"ids": order_ids}).all())
    for generation, order_id in enumerate(order_ids):
        if statuses.get(order_id, S.PENDING) == S.PENDING:
            return generation
    return None


def _cart_of(order: NewOrder) -> dict[str, Any]:
    return {"visitor": order.visitor_id, "fingerprint": order.cart_fingerprint, "pending": S.PENDING}


def _expire_other_unattached(connection: sa.Connection, order: NewOrder, now: datetime) -> None:
    connection.execute(
        sql.EXPIRE_OTHER_UNATTACHED, {**_cart_of(order), "expired": S.EXPIRED, "now": now, "id": order.id}
    )


def _settle_existing(
    connection: sa.Connection,
    row: Any,
    order: NewOrder,
    session_id: str,
    url: str,
    expires_at: datetime | int,
    now: datetime,
) -> Settled:
    if row.status != S.PENDING:
        return Settled(burned=True, orphan=row.stripe_session_id != session_id)
    if row.stripe_session_id == session_id:
        return Settled(order.id, row.checkout_url, reused=True)
    if row.stripe_session_id is not None:
        # Bound to another session (the key's replay window of 24 hours has passed): never two sessions
        # for one order.
        logger.warning("order %s is bound to another session than %s", order.id, session_id)
        return Settled(burned=True)
    bound = connection.execute(
        sql.ATTACH,
        {
            "id": order.id,
            "pending": S.PENDING,
            "session_id": session_id,
            "url": url,
            "expires_at": as_utc(expires_at),
            "now": now,
        },
    )
    return Settled(order.id, url) if bound.rowcount == 1 else Settled(burned=True)


def _check_caps(connection: sa.Connection, order: NewOrder, now: datetime) -> None:
    """A soft cap (concurrent presses may pass it by one or two): it stops a script, not a buyer."""
    counted = {"pending": S.PENDING, "now": now}
    by_visitor = connection.execute(sql.OPEN_BY_VISITOR, {**counted, "visitor": order.visitor_id})
    if by_visitor.scalar_one() >= MAX_OPEN_CHECKOUTS_PER_VISITOR:
        raise CheckoutLimitReached(LIMIT_MESSAGE)
    if order.client_ip:
        by_client = connection.execute(sql.OPEN_BY_CLIENT, {**counted, "client_ip": order.client_ip})
        if by_client.scalar_one() >= MAX_OPEN_CHECKOUTS_PER_CLIENT:
            raise CheckoutLimitReached(LIMIT_MESSAGE)


def _insert_planned(connection: sa.Connection, planned: PlannedOrder, **bound: Any) -> None:
    """The planned order's rows, as two prebuilt INSERTs in the caller's transaction."""
    values = {name: getattr(planned.order, name) for name in ORDER_COLUMNS}
    values.update(bound)
    connection.execute(sql.INSERT_ORDER, values)
    _insert_lines(connection, planned)


def _insert_lines(connection: sa.Connection, *orders: PlannedOrder) -> None:
    """The lines of these planned orders, in one executemany (psycopg pipelines it: one round trip)."""
    fields = ("product_id", "name", "unit_amount", "quantity")
    rows = [
        {"order_id": planned.order.id, **{f: getattr(x, f) for f in fields}}
        for planned in orders
        for x in planned.lines
    ]
    if rows:
        connection.execute(sql.INSERT_LINE, rows)
