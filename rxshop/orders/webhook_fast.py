"""The webhook's fast path: the events Stripe sends every day, in prebuilt statements on the batch's
connection instead of the ORM path (`apply_stripe_event`, about ten statements built per event).

Every checkout.session.* event (completed paid or unpaid, async succeeded/failed, expired) for its own
order, whatever the order's status (pending, or paid already by the return page: the common case), and
charge.refunded for an order found by its payment intent. The decisions are fulfillment's (`mismatch`,
`target_of`, `move_order`, `move_params`, OUTCOME_FOR_STATUS) and the refund's (`refund_update`,
`refund_outcome`); the rows are the same (stripe_events, the timeline's `status_row`, the outbox's
messages); stock is sold or given back by the batch afterwards (`Followups`), in one lock order.
Anything else (a mismatch, a stranger, an order bound to another session, a refund by order id, a race
lost between the read and the UPDATE) answers None: the caller rolls the step back and the full path
decides, flags and records exactly as for a single delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel import col

from rxshop.core.driver_sql import DriverStatement
from rxshop.core.models import Order, utcnow
from rxshop.domain.lifecycle import OUTCOME_FOR_STATUS, Outcome, sources_of
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.mail import outbox
from rxshop.orders import history, stock, stock_sales
from rxshop.orders.fulfillment import OrderTerms, mismatch, move_params, move_sql, target_of
from rxshop.orders.stripe_events import EventResult, refund_outcome, refund_update
from rxshop.payments.wire import Event


class _Order(NamedTuple):
    visitor_id: str
    status: str
    currency: str
    amount_subtotal: int
    livemode: bool
    shipping_offer: str | None
    stripe_session_id: str | None
    amount_refunded: int


class _Refunded(NamedTuple):
    id: str
    visitor_id: str
    status: str
    currency: str
    amount_refunded: int


# Every statement of an event runs on the driver's cursor (rxshop.core.driver_sql): SQLAlchemy's execute
# cost as much Python as the rest of the step.
_READ = DriverStatement(f"SELECT {', '.join(_Order._fields)} FROM orders WHERE id = :id")
_BY_INTENT = DriverStatement(
    f"SELECT {', '.join(_Refunded._fields)} FROM orders WHERE payment_intent_id = :intent"
)
_SEEN = DriverStatement("SELECT 1 FROM stripe_events WHERE id = :id")
_RECORD = DriverStatement(
    "INSERT INTO stripe_events (id, type, session_id, order_id, stripe_created, outcome, received_at)"
    " VALUES (:id, :type, :session_id, :order_id, :created, :outcome, :received_at)"
    " ON CONFLICT (id) DO NOTHING",
    datetimes=["received_at"],
)
_OUTCOME = sa.text("UPDATE stripe_events SET outcome = :outcome WHERE id = :id")
# Paid only while nothing was refunded first (then the full path's CASE decides refunded or partially).
_MOVES = {
    S.PAID: DriverStatement(move_sql(S.PAID, also_where="amount_refunded = 0"), datetimes=["now"]),
    **{
        target: DriverStatement(move_sql(target), datetimes=["now"])
        for target in (S.PROCESSING, S.FAILED, S.EXPIRED)
    },
}
_ADD_EVENT = DriverStatement(
    "INSERT INTO order_events (order_id, at, kind, detail, actor) VALUES (:order_id, :at, :kind, :detail, :actor)",
    datetimes=["at"],
)
# PostgreSQL: the stock rows a batch both sells and gives back, locked first in one order (two workers'
# batches would otherwise take them sale-first then release-first and could deadlock).
_LOCK_STOCK = sa.text(
    "SELECT product_id FROM stock WHERE product_id IN"
    " (SELECT product_id FROM order_lines WHERE order_id IN :ids) ORDER BY product_id FOR UPDATE"
).bindparams(sa.bindparam("ids", expanding=True))


@dataclass
class Followups:
    """What the batch does once every event's step is done: the paid orders' units sold, the failed and
    expired orders' holds given back (product by product for the whole batch: one lock order)."""

    sell: list[str] = field(default_factory=list)
    release: list[str] = field(default_factory=list)

    def run(self, connection: sa.Connection, now: datetime) -> None:
        """Inside the batch's transaction, after its steps."""
        if self.sell and self.release and connection.dialect.name == "postgresql":
            connection.execute(_LOCK_STOCK, {"ids": self.sell + self.release}).all()
        stock_sales.sell_orders(connection, self.sell, now)
        stock.release(connection, self.release, now)


def fast_step(connection: sa.Connection, event: Event, source: str, after: Followups) -> EventResult | None:
    """One event on the fast path (inside the caller's savepoint); None: the full path decides."""
    if event.checkout is not None:
        return _checkout_step(connection, event, source, after)
    if event.charge is not None:
        return _refund_step(connection, event, source)
    return None


def _checkout_step(
    connection: sa.Connection, event: Event, source: str, after: Followups
) -> EventResult | None:
    """A checkout.session.* event for the order it names (client_reference_id, metadata agreeing)."""
    checkout = event.checkout
    assert checkout is not None
    reference = checkout.client_reference_id or None
    meta_id = checkout.metadata.get("order_id") or None
    if reference is None or (meta_id is not None and meta_id != reference) or checkout.line_items is not None:
        return None
    found = _READ.first(connection, {"id": reference})
    row = None if found is None else _Order._make(found)
    if row is None or row.stripe_session_id not in (None, checkout.id):
        return seen_before(connection, event)
    terms = OrderTerms(reference, bool(row.livemode), row.currency, row.amount_subtotal, row.shipping_offer)
    target = target_of(checkout, event.type == "checkout.session.async_payment_failed")
    if target is None or mismatch(terms, (), checkout) is not None:  # events carry no line items
        return seen_before(connection, event)
    if S(row.status) not in sources_of(target):
        return _unmoved(connection, event, row, target, after)
    if target == S.PAID and row.amount_refunded:
        return seen_before(connection, event)
    return _move(connection, event, row, terms, target, source, after)


def _unmoved(
    connection: sa.Connection, event: Event, row: _Order, target: S, after: Followups
) -> EventResult | None:
    """Nothing to move (paid by the return page already, a repeat of a move): what the order is says it all."""
    checkout, status, reference = event.checkout, S(row.status), _reference(event)
    assert checkout is not None
    if row.stripe_session_id != checkout.id:
        return seen_before(connection, event)
    outcome = OUTCOME_FOR_STATUS[status]
    if not _record(connection, event, reference, outcome, utcnow()):
        return EventResult(Outcome.DUPLICATE)
    if target in (S.FAILED, S.EXPIRED) and status in (S.FAILED, S.EXPIRED):
        after.release.append(reference)  # a hold missed earlier ends here, as on the full path
    return EventResult(outcome, order_id=reference, visitor_id=row.visitor_id)


def _move(
    connection: sa.Connection,
    event: Event,
    row: _Order,
    terms: OrderTerms,
    target: S,
    source: str,
    after: Followups,
) -> EventResult | None:
    """fulfillment's conditional UPDATE from the status read, its timeline row and emails."""
    checkout, status, reference, now = event.checkout, S(row.status), terms.id, utcnow()
    assert checkout is not None
    outcome = Outcome.FULFILLED if target == S.PAID else Outcome(target)
    if not _record(connection, event, reference, outcome, now):
        return EventResult(Outcome.DUPLICATE)
    if _MOVES[target].rowcount(connection, move_params(terms, checkout, now, status)) != 1:
        # The order moved between the read and the UPDATE (another delivery, the return page): the
        # savepoint takes the event row back out, so the full path records it with whatever it decides.
        return None
    _ADD_EVENT.rowcount(connection, history.status_row(reference, status, target, actor=source, at=now))
    outbox.order_moved(connection, reference, target, now)  # its emails, in this transaction
    if target == S.PAID:
        after.sell.append(reference)
    elif target in (S.FAILED, S.EXPIRED):
        after.release.append(reference)
    return EventResult(outcome, order_id=reference, visitor_id=row.visitor_id)


def _refund_step(connection: sa.Connection, event: Event, source: str) -> EventResult | None:
    """charge.refunded for the order its payment intent paid, in its own currency: the full path's
    compare-and-set UPDATE, timeline row and email. A refund found only by order id takes the full path."""
    charge = event.charge
    assert charge is not None
    found = _BY_INTENT.first(connection, {"intent": charge.payment_intent}) if charge.payment_intent else None
    row = None if found is None else _Refunded._make(found)
    if row is None or (charge.currency and charge.currency != row.currency):
        return seen_before(connection, event)
    now = utcnow()
    if not _record(connection, event, row.id, Outcome.REFUND_RECORDED, now):
        return EventResult(Outcome.DUPLICATE)
    status = row.status
    if row.amount_refunded < charge.amount_refunded:
        moved = connection.execute(
            refund_update(charge, row.id, row.status, False, now).returning(col(Order.status))
        ).first()
        if moved is None:  # moved meanwhile: the full path reads it again and decides
            return None
        status = moved.status
        if status != row.status:
            _ADD_EVENT.rowcount(
                connection, history.status_row(row.id, row.status, status, actor=source, at=now)
            )
        if status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
            reported = charge.amount_refunded
            outbox.refunded(connection, row.id, reported - row.amount_refunded, reported, now)
    outcome = refund_outcome(status)
    if outcome != Outcome.REFUND_RECORDED:
        connection.execute(_OUTCOME, {"id": event.id, "outcome": outcome})
    return EventResult(outcome, order_id=row.id, visitor_id=row.visitor_id)


def _record(connection: sa.Connection, event: Event, order_id: str, outcome: Outcome, now: datetime) -> bool:
    """The event's de-duplication row with its outcome; False: recorded before (a repeat)."""
    values = {
        "id": event.id,
        "type": event.type,
        "session_id": event.checkout.id if event.checkout else None,
        "order_id": order_id,
        "created": event.created,
        "outcome": outcome,
        "received_at": now,
    }
    return _RECORD.rowcount(connection, values) == 1


def _reference(event: Event) -> str:
    """The order a checkout event names (checked by `_checkout_step`)."""
    assert event.checkout is not None and event.checkout.client_reference_id
    return event.checkout.client_reference_id


def seen_before(connection: sa.Connection, event: Event) -> EventResult | None:
    """A repeat is `duplicate` here, as the full path would answer; else None. An event recorded by a
    transaction not yet committed is not seen here: the full path's INSERT then waits for it and finds
    the duplicate."""
    seen = _SEEN.first(connection, {"id": event.id}) is not None
    return EventResult(Outcome.DUPLICATE) if seen else None
