"""Order service: pending orders, ONE idempotent fulfillment for return page and webhooks, refunds, listings.

Every function takes the database session as the keyword `session=`, runs one transaction and commits.
Concurrency is left to the database: a unique Checkout Session id per order, a primary key per Stripe
event, and conditional UPDATEs (`... WHERE status IN (<states allowed to move>)`). No in-process locks:
the return page and Stripe's webhooks may hit different workers or hosts at the same moment.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from rxshop.cart import Cart, price_cart
from rxshop.catalog import format_money
from rxshop.models import Order, OrderLine, StripeEvent, utcnow
from rxshop.payments import CheckoutSession, SessionLine

logger = logging.getLogger(__name__)

# --- Order lifecycle ------------------------------------------------------------------------------------

PENDING = "pending"
PROCESSING = "processing"
PAID = "paid"
FAILED = "failed"
EXPIRED = "expired"
PARTIALLY_REFUNDED = "partially_refunded"
REFUNDED = "refunded"

STATUSES: tuple[str, ...] = (PENDING, PROCESSING, PAID, FAILED, EXPIRED, PARTIALLY_REFUNDED, REFUNDED)

# The one statement of which status may follow which. Anything not listed is a no-op, never an error:
# Stripe delivers events late, twice and out of order.
TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({PROCESSING, PAID, FAILED, EXPIRED}),
    PROCESSING: frozenset({PAID, FAILED}),
    PAID: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    PARTIALLY_REFUNDED: frozenset({PARTIALLY_REFUNDED, REFUNDED}),
    REFUNDED: frozenset(),
    FAILED: frozenset(),
    # Stripe never expires a completed session, but expire_stale_orders() works from our own clock and a
    # completion webhook may arrive after it ran (Stripe retries for days): money received always wins.
    EXPIRED: frozenset({PROCESSING, PAID}),
}

PAID_STATUSES = frozenset({PAID, PARTIALLY_REFUNDED, REFUNDED})
# What My Orders lists: orders the buyer actually placed (an abandoned or expired checkout is not one).
LISTED_STATUSES = frozenset({PROCESSING, PAID, FAILED, PARTIALLY_REFUNDED, REFUNDED})
# A pending order that never got its Checkout Session (Stripe was down) is given up after this long.
UNATTACHED_ORDER_LIFETIME = timedelta(hours=1)

STATUS_LABELS: dict[str, str] = {
    PENDING: "Awaiting payment",
    PROCESSING: "Payment processing",
    PAID: "Paid",
    FAILED: "Payment failed",
    EXPIRED: "Expired",
    PARTIALLY_REFUNDED: "Partially refunded",
    REFUNDED: "Refunded",
}

STATUS_DESCRIPTIONS: dict[str, str] = {
    PENDING: "The order is waiting for payment at Stripe Checkout.",
    PROCESSING: "Checkout is complete; the payment method takes a while to confirm. We'll update this order.",
    PAID: "Payment received. Thank you!",
    FAILED: "The payment did not go through. Nothing was charged; you can order again.",
    EXPIRED: "The checkout page expired before payment. Nothing was charged.",
    PARTIALLY_REFUNDED: "Paid; part of the amount has been refunded.",
    REFUNDED: "The full amount has been refunded.",
}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def sources_of(target: str) -> tuple[str, ...]:
    """The statuses an order may be in to move to `target` (the WHERE of every conditional UPDATE)."""
    return tuple(s for s in STATUSES if target in TRANSITIONS[s])


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def describe_status(status: str) -> str:
    """One buyer-facing sentence about an order in this status."""
    return STATUS_DESCRIPTIONS.get(status, status_label(status))


def transition_table_markdown() -> str:
    """The lifecycle as a Markdown table, for the README (generated, so it cannot drift from the code)."""
    rows = ["| Status | Label | May become |", "| --- | --- | --- |"]
    for status in STATUSES:
        targets = ", ".join(f"`{t}`" for t in STATUSES if t in TRANSITIONS[status]) or "— (final)"
        rows.append(f"| `{status}` | {STATUS_LABELS[status]} | {targets} |")
    return "\n".join(rows)


# --- Outcomes --------------------------------------------------------------------------------------------

FULFILLED = "fulfilled"  # this call moved the order to paid
ALREADY_PAID = "already_paid"  # someone else (webhook, another tab, a retry) had done it
NOT_PAID = "not_paid"  # session still open and unpaid: nothing written
NOT_FOUND = "not_found"  # no such order, another visitor's, or bound to another session: reveal nothing
MISMATCH = "mismatch"  # Stripe's amount/currency/lines differ from the order: logged, nothing written
# ... plus PROCESSING, FAILED, EXPIRED: the order's status after the call.

DUPLICATE = "duplicate"  # this Stripe event id was processed before
IGNORED = "ignored"  # an event type the shop does not act on
UNKNOWN_SESSION = "unknown_session"  # a Checkout Session the shop has no order for
UNKNOWN_ORDER = "unknown_order"  # a refund for a payment the shop has no order for
REFUND_RECORDED = "refund_recorded"  # refund amount kept on an order not paid (yet); applied when it is
# ... plus PARTIALLY_REFUNDED, REFUNDED for charge.refunded.

_OUTCOME_FOR_STATUS = {
    PENDING: NOT_PAID,
    PROCESSING: PROCESSING,
    FAILED: FAILED,
    EXPIRED: EXPIRED,
    PAID: ALREADY_PAID,
    PARTIALLY_REFUNDED: ALREADY_PAID,
    REFUNDED: ALREADY_PAID,
}

# How long an open Checkout Session must still live to be handed to the buyer again.
REUSE_MARGIN = timedelta(minutes=1)
# Stripe's shortest Checkout Session lifetime (expires_at at least this far ahead when it is created).
MIN_SESSION_LIFETIME = timedelta(minutes=30)


# --- Plain views (no ORM object leaves this module) -------------------------------------------------------


@dataclass(frozen=True)
class OrderLineView:
    product_id: str
    name: str
    unit_amount: int
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class OrderView:
    id: str
    visitor_id: str
    status: str
    currency: str
    amount_total: int
    amount_refunded: int
    lines: tuple[OrderLineView, ...]
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    stripe_session_id: str | None
    checkout_url: str | None
    session_expires_at: datetime | None
    payment_intent_id: str | None
    customer_email: str | None

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def is_paid(self) -> bool:
        return self.status in PAID_STATUSES

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def total_text(self) -> str:
        return format_money(self.amount_total, self.currency)

    @property
    def refunded_text(self) -> str:
        return format_money(self.amount_refunded, self.currency)


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[OrderView, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.orders) < self.total


@dataclass(frozen=True)
class Fulfillment:
    outcome: str
    order: OrderView | None


@dataclass(frozen=True)
class EventResult:
    """What a webhook delivery did, and whose tabs to update (visitor_id) about which order."""

    outcome: str
    order_id: str | None = None
    visitor_id: str | None = None
    order: OrderView | None = None


# --- Helpers ---------------------------------------------------------------------------------------------


@contextmanager
def _transaction(session: Session) -> Iterator[None]:
    """Commit on success; on any error roll back (the event row too) and let the error propagate."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _load(session: Session, *where: Any) -> Order | None:
    # populate_existing: a reused Session must not answer from its identity map after a Core UPDATE.
    statement = select(Order).where(*where).execution_options(populate_existing=True)
    return session.exec(statement).first()


def _lines_of(session: Session, order_ids: list[str]) -> dict[str, list[OrderLineView]]:
    lines: dict[str, list[OrderLineView]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return lines
    rows = session.exec(select(OrderLine).where(OrderLine.order_id.in_(order_ids)).order_by(OrderLine.id))
    for row in rows:
        lines[row.order_id].append(OrderLineView(row.product_id, row.name, row.unit_amount, row.quantity))
    return lines


def _view(order: Order, lines: list[OrderLineView]) -> OrderView:
    return OrderView(
        id=order.id,
        visitor_id=order.visitor_id,
        status=order.status,
        currency=order.currency,
        amount_total=order.amount_total,
        amount_refunded=order.amount_refunded,
        lines=tuple(lines),
        created_at=order.created_at,
        updated_at=order.updated_at,
        paid_at=order.paid_at,
        stripe_session_id=order.stripe_session_id,
        checkout_url=order.checkout_url,
        session_expires_at=order.session_expires_at,
        payment_intent_id=order.payment_intent_id,
        customer_email=order.customer_email,
    )


def _view_of(session: Session, order: Order) -> OrderView:
    return _view(order, _lines_of(session, [order.id])[order.id])


def _reprice(cart: Cart) -> Cart:
    """The same quantities priced from the catalog now: a Cart built elsewhere never sets a price."""
    return price_cart({line.product_id: line.quantity for line in cart.lines})


def _as_utc(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value), UTC)


# --- Creating orders -------------------------------------------------------------------------------------


def create_pending_order(
    *, session: Session, visitor_id: str, cart: Cart, session_expires_at: datetime | int | None = None
) -> OrderView:
    """A new pending order for this cart, lines priced from the catalog.

    `session_expires_at` is the expiry its Checkout Session will be asked for, fixed now so that a retried
    request carries the very same parameters (Stripe replays a request only for the same key AND params).
    """
    if not visitor_id:
        raise ValueError("visitor_id is required")
    priced = _reprice(cart)
    if priced.is_empty:
        raise ValueError("An empty cart cannot be ordered.")
    with _transaction(session):
        now = utcnow()
        order = Order(
            visitor_id=visitor_id,
            status=PENDING,
            currency=priced.currency,
            amount_total=priced.total,
            cart_fingerprint=priced.fingerprint(),
            session_expires_at=_as_utc(session_expires_at),
            created_at=now,
            updated_at=now,
        )
        session.add(order)
        session.flush()  # the order row first: order_lines has a foreign key to it
        lines = [
            OrderLine(
                order_id=order.id,
                product_id=line.product_id,
                name=line.name,
                unit_amount=line.unit_amount,
                quantity=line.quantity,
            )
            for line in priced.lines
        ]
        session.add_all(lines)
        view = _view(order, [OrderLineView(x.product_id, x.name, x.unit_amount, x.quantity) for x in lines])
    return view


def find_reusable_order(*, session: Session, visitor_id: str, cart: Cart, now: datetime) -> OrderView | None:
    """This visitor's pending order for the same cart whose Checkout Session is (or will be) open long enough.

    A second press of Buy (or a second tab) gets the same session back instead of a second payment page.
    An order whose session request failed in a way that may be retried (a timeout, a dropped connection)
    comes back without a URL: the caller asks again with the same idempotency key and parameters.
    """
    fingerprint = _reprice(cart).fingerprint()
    with _transaction(session):
        order = session.exec(
            select(Order)
            .where(
                Order.visitor_id == visitor_id,
                Order.status == PENDING,
                Order.cart_fingerprint == fingerprint,
                sa.or_(
                    sa.and_(Order.checkout_url.is_not(None), Order.session_expires_at > now + REUSE_MARGIN),
                    # Stripe wants expires_at >= 30 min ahead: past that, a retry needs a new order.
                    sa.and_(
                        Order.stripe_session_id.is_(None),
                        Order.session_expires_at > now + MIN_SESSION_LIFETIME,
                    ),
                ),
            )
            .order_by(Order.created_at.desc(), Order.id.desc())
            .execution_options(populate_existing=True)
        ).first()
        return _view_of(session, order) if order is not None else None


def find_or_create_pending_order(
    *, session: Session, visitor_id: str, cart: Cart, now: datetime, session_expires_at: datetime
) -> tuple[OrderView, bool]:
    """The order a press of Buy pays for: this visitor's reusable order for this cart, or a new one.

    Returns (order, reused). Two presses at the same moment (two tabs) get the same order: the database
    allows one unattached pending order per visitor and cart (a partial unique index), and the loser of
    that race takes the winner's order, whose session it then asks Stripe for with the same key.
    """
    fingerprint = _reprice(cart).fingerprint()
    for _attempt in range(3):
        reusable = find_reusable_order(session=session, visitor_id=visitor_id, cart=cart, now=now)
        if reusable is not None:
            return reusable, True
        with _transaction(session):
            # An unattached order for this cart too old to ask Stripe for again would block the index.
            session.exec(
                sa.update(Order)
                .where(
                    Order.visitor_id == visitor_id,
                    Order.cart_fingerprint == fingerprint,
                    Order.status == PENDING,
                    Order.stripe_session_id.is_(None),
                    sa.or_(
                        Order.session_expires_at.is_(None),
                        Order.session_expires_at <= now + MIN_SESSION_LIFETIME,
                    ),
                )
                .values(status=EXPIRED, updated_at=now)
            )
        try:
            return create_pending_order(
                session=session, visitor_id=visitor_id, cart=cart, session_expires_at=session_expires_at
            ), False
        except IntegrityError:
            continue  # another press made it first: take that one
    raise RuntimeError(f"could not find or create a pending order for visitor {visitor_id[:8]}")


def abandon_unattached_order(*, session: Session, order_id: str) -> bool:
    """Give up a pending order that never got its session (Stripe refused it or answered 5xx, and retrying
    its key would only replay that answer); the next Buy makes a new order. True if given up now."""
    with _transaction(session):
        result = session.exec(
            sa.update(Order)
            .where(
                Order.id == order_id, Order.status.in_(sources_of(EXPIRED)), Order.stripe_session_id.is_(None)
            )
            .values(status=EXPIRED, updated_at=utcnow())
        )
        return result.rowcount == 1


def attach_checkout_session(
    *, session: Session, order_id: str, session_id: str, url: str | None, expires_at: datetime | int | None
) -> bool:
    """Bind the order to its Checkout Session; True if it is now bound to `session_id`.

    False when the order is missing or already bound to another session (the caller then offers the
    order's existing session, or makes a new order; it never binds two sessions to one order).
    """
    try:
        with _transaction(session):
            result = session.exec(
                sa.update(Order)
                .where(
                    Order.id == order_id,
                    sa.or_(Order.stripe_session_id.is_(None), Order.stripe_session_id == session_id),
                )
                .values(
                    stripe_session_id=session_id,
                    checkout_url=url,
                    session_expires_at=_as_utc(expires_at),
                    updated_at=utcnow(),
                )
            )
            return result.rowcount == 1
    except IntegrityError:
        logger.warning("checkout %s is already bound to another order than %s", session_id, order_id)
        return False


# --- Fulfillment --------------------------------------------------------------------------------------------


def _order_for_checkout(session: Session, checkout: CheckoutSession) -> Order | None:
    """The order this Checkout Session pays for, or None (unknown, or bound to a different session)."""
    reference = checkout.client_reference_id or None
    meta_id = checkout.metadata.get("order_id") or None
    if reference and meta_id and reference != meta_id:
        logger.warning("checkout %s names two orders (%s, %s); ignoring it", checkout.id, reference, meta_id)
        return None
    order_id = reference or meta_id
    if order_id:
        order = _load(session, Order.id == order_id)
    else:
        order = _load(session, Order.stripe_session_id == checkout.id)
    if order is None or order.stripe_session_id not in (None, checkout.id):
        return None
    return order


def _mismatch(session: Session, order: Order, checkout: CheckoutSession) -> str | None:
    """Why this session does not pay for exactly this order, or None if it does."""
    if checkout.amount_total != order.amount_total:
        return f"amount_total {checkout.amount_total} != order's {order.amount_total}"
    if (checkout.currency or "").lower() != order.currency:
        return f"currency {checkout.currency!r} != order's {order.currency!r}"
    if checkout.line_items is not None:
        paid_for = sorted((x.description, x.quantity, x.unit_amount) for x in checkout.line_items)
        ordered = sorted(
            (x.name, x.quantity, x.unit_amount) for x in _lines_of(session, [order.id])[order.id]
        )
        if paid_for != ordered:
            return f"line items {paid_for} != order's {ordered}"
    return None


def _paid_status() -> sa.ColumnElement:
    """The status an order takes when paid: a refund reported before the payment is not forgotten."""
    return sa.case(
        (sa.and_(Order.amount_refunded > 0, Order.amount_refunded >= Order.amount_total), REFUNDED),
        (Order.amount_refunded > 0, PARTIALLY_REFUNDED),
        else_=PAID,
    )


def _advance(session: Session, order_id: str, target: str, checkout: CheckoutSession, now: datetime) -> bool:
    """Move the order to `target` if the lifecycle allows it right now; True if this call did it.

    One conditional UPDATE: of N concurrent callers exactly one sees rowcount 1. It also binds the order
    to the session if nothing was bound yet (the webhook may beat the code that attaches it).
    """
    values: dict[str, Any] = {"status": target, "updated_at": now, "stripe_session_id": checkout.id}
    if target == PAID:
        values["status"] = _paid_status()
        values["paid_at"] = now
    if target != EXPIRED:
        if checkout.payment_intent:
            values["payment_intent_id"] = checkout.payment_intent
        if checkout.customer_email:
            values["customer_email"] = checkout.customer_email
    result = session.exec(
        sa.update(Order)
        .where(
            Order.id == order_id,
            Order.status.in_(sources_of(target)),
            sa.or_(Order.stripe_session_id.is_(None), Order.stripe_session_id == checkout.id),
        )
        .values(**values)
    )
    return result.rowcount == 1


def _fulfill(
    session: Session, checkout: CheckoutSession, *, visitor_id: str | None, failed: bool = False
) -> Fulfillment:
    """The shared body of fulfill_checkout and the checkout.session.* events (inside their transaction)."""
    order = _order_for_checkout(session, checkout)
    if order is None or (visitor_id is not None and order.visitor_id != visitor_id):
        return Fulfillment(NOT_FOUND, None)
    problem = _mismatch(session, order, checkout)
    if problem is not None:
        logger.warning(
            "checkout %s does not match order %s: %s; nothing recorded", checkout.id, order.id, problem
        )
        return Fulfillment(MISMATCH, _view_of(session, order))

    # Decide on payment_status, not status: a complete session may still be waiting for the money.
    if failed:
        target = FAILED
    elif checkout.payment_status in ("paid", "no_payment_required"):
        target = PAID
    elif checkout.status == "complete":
        # A delayed payment that failed leaves the session complete/unpaid; only its intent tells.
        failed_intent = checkout.payment_intent_status in ("requires_payment_method", "canceled")
        target = FAILED if failed_intent else PROCESSING
    elif checkout.status == "expired":
        target = EXPIRED
    else:
        return Fulfillment(NOT_PAID, _view_of(session, order))

    moved = _advance(session, order.id, target, checkout, utcnow())
    current = _load(session, Order.id == order.id)
    if current is None or current.stripe_session_id != checkout.id:
        return Fulfillment(NOT_FOUND, None)
    if moved:
        outcome = FULFILLED if target == PAID else target
    else:
        outcome = _OUTCOME_FOR_STATUS.get(current.status, current.status)
    return Fulfillment(outcome, _view_of(session, current))


def fulfill_checkout(
    *, session: Session, checkout: CheckoutSession, visitor_id: str | None = None
) -> Fulfillment:
    """Record what a Checkout Session says about its order: THE function for the return page and webhooks.

    Idempotent and safe under concurrency: called any number of times, from any number of threads or
    hosts, for one session, exactly one call returns `fulfilled` and the order is paid once.
    Pass `visitor_id` from the return page: another visitor's order is `not_found`.
    """
    try:
        with _transaction(session):
            return _fulfill(session, checkout, visitor_id=visitor_id)
    except IntegrityError:
        # Another order already holds this session id (unique constraint): not this order's session.
        logger.warning("checkout %s is bound to another order", checkout.id)
        return Fulfillment(NOT_FOUND, None)


def find_order_by_session(*, session: Session, session_id: str) -> OrderView | None:
    with _transaction(session):
        order = _load(session, Order.stripe_session_id == session_id)
        return _view_of(session, order) if order is not None else None


# --- Stripe events ---------------------------------------------------------------------------------------


def _id_of(value: Any) -> str | None:
    """An id from a field Stripe sends either as "id" or as the expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _session_line(item: Mapping[str, Any]) -> SessionLine:
    price = item.get("price") or {}
    return SessionLine(
        description=str(item.get("description") or ""),
        quantity=int(item.get("quantity") or 0),
        unit_amount=int(price.get("unit_amount") or 0),
        amount_total=int(item.get("amount_total") or 0),
    )


def checkout_from_dict(obj: Mapping[str, Any]) -> CheckoutSession:
    """A CheckoutSession from Stripe's JSON for a checkout.session (an event's data.object, or to_dict()).

    line_items stays None unless the dict carries them expanded (events never do).
    """
    items = obj.get("line_items")
    line_items = None
    if isinstance(items, Mapping) and isinstance(items.get("data"), list):
        line_items = tuple(_session_line(item) for item in items["data"])
    details = obj.get("customer_details") or {}
    return CheckoutSession(
        id=str(obj["id"]),
        url=obj.get("url"),
        status=str(obj.get("status") or ""),
        payment_status=str(obj.get("payment_status") or ""),
        amount_total=_int_or_none(obj.get("amount_total")),
        currency=str(obj.get("currency") or ""),
        client_reference_id=obj.get("client_reference_id"),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        payment_intent=_id_of(obj.get("payment_intent")),
        created=int(obj.get("created") or 0),
        expires_at=int(obj.get("expires_at") or 0),
        customer_email=details.get("email") or obj.get("customer_email"),
        line_items=line_items,
    )


def _apply_refund(session: Session, charge: Mapping[str, Any], now: datetime) -> tuple[str, Order | None]:
    """Record a charge's cumulative amount_refunded (the largest reported wins; events come out of order)."""
    payment_intent = _id_of(charge.get("payment_intent"))
    order = _load(session, Order.payment_intent_id == payment_intent) if payment_intent else None
    if order is None:
        order_id = (charge.get("metadata") or {}).get("order_id")
        order = _load(session, Order.id == order_id) if order_id else None
        if order is not None and payment_intent and order.payment_intent_id not in (None, payment_intent):
            logger.warning("refund for %s names order %s of another payment", payment_intent, order.id)
            order = None
    if order is None:
        return UNKNOWN_ORDER, None
    currency = charge.get("currency")
    if currency and str(currency).lower() != order.currency:
        logger.warning(
            "refund in %s for order %s in %s; nothing recorded", currency, order.id, order.currency
        )
        return MISMATCH, order

    reported = int(charge.get("amount_refunded") or 0)
    refunded = sa.case((Order.amount_refunded < reported, reported), else_=Order.amount_refunded)
    values: dict[str, Any] = {
        "amount_refunded": refunded,
        # SET expressions all see the old row, so the new status is computed from `refunded` too.
        "status": sa.case(
            (sa.and_(Order.status.in_(sources_of(REFUNDED)), refunded >= Order.amount_total), REFUNDED),
            (sa.and_(Order.status.in_(sources_of(PARTIALLY_REFUNDED)), refunded > 0), PARTIALLY_REFUNDED),
            else_=Order.status,
        ),
        "updated_at": now,
    }
    if payment_intent and order.payment_intent_id is None:
        values["payment_intent_id"] = payment_intent
    session.exec(
        sa.update(Order).where(Order.id == order.id, Order.amount_refunded < reported).values(**values)
    )
    current = _load(session, Order.id == order.id)
    assert current is not None
    if current.status in (REFUNDED, PARTIALLY_REFUNDED):
        return current.status, current
    return REFUND_RECORDED, current


def record_refund(*, session: Session, charge: Mapping[str, Any]) -> tuple[str, OrderView | None]:
    """Record a charge's refunds outside a webhook (reconciliation); same rules as charge.refunded."""
    with _transaction(session):
        outcome, order = _apply_refund(session, charge, utcnow())
        return outcome, (_view_of(session, order) if order is not None else None)


_SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)


def apply_stripe_event(
    *, session: Session, event_id: str, event_type: str, obj: Mapping[str, Any], created: int
) -> EventResult:
    """Apply one verified Stripe event exactly once, in one transaction with its de-duplication row.

    `obj` is the event's data.object as a plain dict. A repeated delivery (even concurrent) is
    `duplicate` and changes nothing. Database errors propagate and roll everything back, the event row
    included, so the endpoint answers 5xx and Stripe delivers again.
    """
    session_id = str(obj.get("id")) if event_type.startswith("checkout.session.") else None
    with _transaction(session):
        try:
            # Core INSERT, not session.add: the primary key decides, never the Session's identity map.
            session.exec(
                sa.insert(StripeEvent).values(
                    id=event_id,
                    type=event_type,
                    session_id=session_id,
                    stripe_created=created,
                    outcome="received",
                    received_at=utcnow(),
                )
            )
        except IntegrityError:
            session.rollback()
            return EventResult(DUPLICATE)

        order: Order | None = None
        view: OrderView | None = None
        if event_type in _SESSION_EVENTS:
            result = _fulfill(
                session,
                checkout_from_dict(obj),
                visitor_id=None,
                failed=event_type == "checkout.session.async_payment_failed",
            )
            outcome = UNKNOWN_SESSION if result.outcome == NOT_FOUND else result.outcome
            view = result.order
        elif event_type == "charge.refunded":
            outcome, order = _apply_refund(session, obj, utcnow())
            view = _view_of(session, order) if order is not None else None
        else:
            outcome = IGNORED

        session.exec(
            sa.update(StripeEvent)
            .where(StripeEvent.id == event_id)
            .values(outcome=outcome, order_id=view.id if view else None)
        )
    return EventResult(
        outcome=outcome,
        order_id=view.id if view else None,
        visitor_id=view.visitor_id if view else None,
        order=view,
    )


# --- Housekeeping and listings -----------------------------------------------------------------------------


def _stale(now: datetime) -> sa.ColumnElement[bool]:
    """Past its session's expiry, or never given a session and older than UNATTACHED_ORDER_LIFETIME."""
    return sa.or_(
        Order.session_expires_at < now,
        sa.and_(Order.stripe_session_id.is_(None), Order.created_at < now - UNATTACHED_ORDER_LIFETIME),
    )


def expire_stale_orders(*, session: Session, now: datetime) -> list[OrderView]:
    """Mark pending orders whose Checkout Session has expired (in case Stripe's expired event never came)."""
    expired: list[OrderView] = []
    with _transaction(session):
        stale = session.exec(select(Order.id).where(Order.status.in_(sources_of(EXPIRED)), _stale(now))).all()
        for order_id in stale:
            result = session.exec(
                sa.update(Order)
                .where(
                    Order.id == order_id,
                    Order.status.in_(sources_of(EXPIRED)),
                    _stale(now),
                )
                .values(status=EXPIRED, updated_at=now)
            )
            if result.rowcount == 1:
                order = _load(session, Order.id == order_id)
                assert order is not None
                expired.append(_view_of(session, order))
    return expired


def list_orders(
    *,
    session: Session,
    visitor_id: str,
    offset: int = 0,
    limit: int = 20,
    statuses: Collection[str] | None = None,
) -> OrderPage:
    """One page of this visitor's orders, newest first, with their lines (only `statuses`, if given)."""
    where = [Order.visitor_id == visitor_id]
    if statuses is not None:
        where.append(Order.status.in_(tuple(statuses)))
    offset = max(0, int(offset))
    limit = min(max(1, int(limit)), 100)
    with _transaction(session):
        total = session.exec(select(sa.func.count()).select_from(Order).where(*where)).one()
        orders = session.exec(
            select(Order)
            .where(*where)
            .order_by(Order.created_at.desc(), Order.id.desc())
            .offset(offset)
            .limit(limit)
            .execution_options(populate_existing=True)
        ).all()
        lines = _lines_of(session, [o.id for o in orders])
        views = tuple(_view(o, lines[o.id]) for o in orders)
    return OrderPage(orders=views, total=int(total), offset=offset, limit=limit)


def get_order(*, session: Session, order_id: str, visitor_id: str) -> OrderView | None:
    """The order if it exists and belongs to this visitor; None otherwise (no difference shown)."""
    with _transaction(session):
        order = _load(session, Order.id == order_id, Order.visitor_id == visitor_id)
        return _view_of(session, order) if order is not None else None
