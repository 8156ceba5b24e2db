"""What the owner changes: ship an order, refund it (full or part, with a reason), resolve an inbox item.

Each async function is what a dashboard handler calls: it checks the sign-in in the database, settles the
race in the database (conditional UPDATEs, a unique refund key), and calls `notify.order_changed` so the
buyer's My Orders and every open dashboard follow. Messages in `ActionRefused` are for the owner.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.core.models import InboxItem, Order, RefundRequest, utcnow
from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import SHIPPABLE_STATUSES, RefundStatus, remaining_to_refund
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.refunds import ReasonRefused, RefundReason, check_reason, reason_text
from rxshop.domain.shipping import TrackingRefused, check_tracking
from rxshop.mail import outbox
from rxshop.orders import history, stock_sales
from rxshop.orders.history import EventKind, InboxKind
from rxshop.orders.records import load_order, transaction, view_of
from rxshop.orders.views import FulfillmentStatus, OrderView
from rxshop.payments.gateway import CheckoutGateway, PaymentError, PaymentUnavailable

REFUNDABLE = (S.PAID, S.PARTIALLY_REFUNDED)
# The owner's words when Stripe does not refund (the gateway's own messages speak to a buyer at checkout).
REFUND_UNANSWERED = "Stripe did not answer this refund. Press Refund again: it will not refund twice."
REFUND_FAILED = (
    "Stripe could not make this refund; nothing was refunded. Open the refund form again to retry."
)
REFUND_REFUSED = "Stripe refused this refund; nothing was refunded. The shop's log has Stripe's reason."
_REQUEST_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


class ActionRefused(ValueError):
    """The owner's request cannot be done as asked; the message says why."""


# --- Shipping -------------------------------------------------------------------------------------------------


def mark_shipped(
    *,
    session: Session,
    admin: str,
    order_id: str,
    carrier: str,
    tracking_number: str,
    now: datetime | None = None,
) -> OrderView:
    """Mark a paid, unshipped order shipped with its carrier (from rxshop.domain.shipping.CARRIERS) and a
    tracking number of that carrier's format.

    One conditional UPDATE (paid or partly refunded, and not shipped yet): a refund landing at the same
    moment comes first (and the order is refused) or after, and a second "Mark shipped" never replaces a
    tracking number (that is `order_edits.edit_tracking`, which records the change).
    """
    try:
        chosen, number = check_tracking(carrier, tracking_number)
    except TrackingRefused as err:
        raise ActionRefused(str(err)) from None
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        result = session.exec(
            sa.update(Order)
            .where(
                col(Order.id) == order_id,
                col(Order.status).in_(SHIPPABLE_STATUSES),
                col(Order.fulfillment_status) != FulfillmentStatus.SHIPPED,
            )
            .values(
                fulfillment_status=FulfillmentStatus.SHIPPED,
                carrier=chosen.name,
                tracking_number=number,
                shipped_at=now,
                updated_at=now,
            )
        )
        order = load_order(session, Order.id == order_id)
        if order is None:
            raise ActionRefused("There is no such order.")
        if result.rowcount != 1:
            raise ActionRefused(not_shippable(order))
        history.add_event(
            session, order_id, EventKind.SHIPPED, f"{chosen.name} {number}", actor="owner", at=now
        )
        outbox.shipped(session.connection(), order_id, carrier, tracking_number, now)  # the buyer's email
        return view_of(session, order)


def not_shippable(order: Order) -> str:
    """Why this order cannot be marked shipped, in the owner's words."""
    if order.fulfillment_status == FulfillmentStatus.SHIPPED:
        return (
            f"This order was already shipped ({order.carrier} {order.tracking_number}); "
            "use Edit tracking to change it."
        )
    if order.status == S.REFUNDED:
        return "This order was refunded in full: there is nothing to ship."
    return f"Only paid orders can be shipped; this one is {S(order.status).label}."


async def ship_order(
    *, admin: str, order_id: str, carrier: str, tracking_number: str, now: datetime | None = None
) -> OrderView:
    """mark_shipped off the event loop, then tell the buyer's tabs and the dashboards."""
    order = await in_session(
        mark_shipped,
        admin=admin,
        order_id=order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        now=now,
    )
    notify.order_changed(order.visitor_id, order.id)
    return order


# --- Refunds --------------------------------------------------------------------------------------------------


def new_request_key() -> str:
    """A key for one refund request: made when the refund form opens, so a double click reuses it."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class RefundDone:
    order: OrderView
    request_key: str
    amount: int
    stripe_refund_id: str
    repeated: bool  # True: this key had already refunded; nothing new was asked of Stripe's money


@dataclass(frozen=True)
class _Reserved:
    order_id: str
    visitor_id: str
    payment_intent: str
    amount: int
    stripe_refund_id: str | None  # set when this key already succeeded


@dataclass(frozen=True)
class _Ask:
    order_id: str
    amount: int
    key: str
    reason: RefundReason
    note: str
    now: datetime


def _reserve(session: Session, admin: str, ask: _Ask) -> _Reserved:
    """Record the request under its unique key, or find the one a first click recorded."""
    try:
        return _reserve_once(session, admin, ask)
    except IntegrityError:
        # Two clicks at the same moment: the other one's row now exists, and this look-up finds it.
        return _reserve_once(session, admin, ask)


def _reserve_once(session: Session, admin: str, ask: _Ask) -> _Reserved:
    order_id, amount, key, now = ask.order_id, ask.amount, ask.key, ask.now
    with transaction(session):
        require_admin(session, admin, now)
        # The order row is locked until this request is recorded (PostgreSQL: FOR UPDATE; SQLite has one
        # writer at a time): two refund forms of one order cannot both count the same remaining amount.
        order = session.exec(
            select(Order)
            .where(Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if order is None:
            raise ActionRefused("There is no such order.")
        existing = session.exec(select(RefundRequest).where(RefundRequest.request_key == key)).first()
        if existing is not None:
            if existing.order_id != order_id or existing.amount != amount:
                raise ActionRefused("This refund form was already used for another refund; open it again.")
            if existing.status == RefundStatus.FAILED:
                raise ActionRefused(existing.error or "This refund failed; open the form again to retry.")
            return _Reserved(
                order_id, order.visitor_id, order.payment_intent_id or "", amount, existing.stripe_refund_id
            )
        if order.status not in REFUNDABLE or not order.payment_intent_id:
            raise ActionRefused(f"Only paid orders can be refunded; this one is {S(order.status).label}.")
        requested = session.exec(
            select(sa.func.coalesce(sa.func.sum(RefundRequest.amount), 0)).where(
                RefundRequest.order_id == order_id, RefundRequest.status != RefundStatus.FAILED
            )
        ).one()
        remaining = remaining_to_refund(order.amount_total, order.amount_refunded, int(requested))
        if amount > remaining:
            raise ActionRefused(
                f"That is more than what remains to refund ({format_money(remaining, order.currency)})."
            )
        session.add(
            RefundRequest(
                request_key=key,
                order_id=order_id,
                amount=amount,
                status=RefundStatus.REQUESTED,
                reason=ask.reason.value,
                note=ask.note or None,
                requested_at=now,
                updated_at=now,
            )
        )
        session.flush()  # the unique key decides between two clicks, here
        history.add_event(
            session,
            order_id,
            EventKind.REFUND_REQUESTED,
            f"{format_money(amount, order.currency)} — {reason_text(ask.reason, ask.note)} (request {key[:8]})",
            actor="owner",
            at=now,
        )
        return _Reserved(order_id, order.visitor_id, order.payment_intent_id, amount, None)


def _finish(
    session: Session, key: str, refund_id: str | None, error: str | None
) -> tuple[OrderView, RefundRequest, bool]:
    """Settle a request once: a late failure (the other click's 'key in use') never undoes a success."""
    with transaction(session):
        moved = session.exec(
            sa.update(RefundRequest)
            .where(col(RefundRequest.request_key) == key, col(RefundRequest.status) == RefundStatus.REQUESTED)
            .values(
                status=RefundStatus.SUCCEEDED if refund_id else RefundStatus.FAILED,
                stripe_refund_id=refund_id,
                error=error and error[:500],
                updated_at=utcnow(),
            )
        )
        request = session.exec(
            select(RefundRequest)
            .where(RefundRequest.request_key == key)
            .execution_options(populate_existing=True)
        ).one()
        if error and moved.rowcount == 1:
            history.add_event(session, request.order_id, EventKind.REFUND_FAILED, error, actor="owner")
        order = load_order(session, Order.id == request.order_id)
        assert order is not None
        return view_of(session, order), request, moved.rowcount == 1


async def refund_order(
    *,
    admin: str,
    order_id: str,
    amount: int,
    request_key: str,
    gateway: CheckoutGateway,
    now: datetime | None = None,
    restock: bool = False,
    reason: RefundReason | str = RefundReason.REQUESTED_BY_CUSTOMER,
    note: str = "",
) -> RefundDone:
    """Refund `amount` (minor units) of a paid order through Stripe, once per `request_key`.

    `reason` is Stripe's (duplicate, fraudulent, requested_by_customer) or "other" with a `note`: stored on
    the request (the timeline, the buyer's email), sent as Stripe's `reason`, the note in its metadata.

    Two clicks with one key make one Stripe refund: the database keeps one request per key, and Stripe
    gets the same idempotency key (`rxshop-refund-<key>`) from both. Above what remains → ActionRefused.
    The order's status and refunded amount then follow Stripe's charge.refunded event (webhook, or
    reconciliation if it is lost). If Stripe does not answer, the same key may be retried safely.
    `restock`: once Stripe has refunded, the order's sold units go back on sale (rxshop.orders.stock, once).
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ActionRefused("Enter an amount above zero.")
    if not isinstance(request_key, str) or not _REQUEST_KEY.fullmatch(request_key):
        raise ActionRefused("This refund form has expired; open it again.")
    try:
        chosen, note = check_reason(reason, note)
    except ReasonRefused as err:
        raise ActionRefused(str(err)) from None
    now = now or utcnow()
    ask = _Ask(order_id, amount, request_key, chosen, note, now)
    reserved = await in_session(_reserve, admin=admin, ask=ask)
    if reserved.stripe_refund_id is not None:  # this key refunded already: answer as the first time
        order, _request, _moved = await in_session(_finish, key=request_key, refund_id=None, error=None)
        await _restock(order_id, restock)
        return RefundDone(order, request_key, amount, reserved.stripe_refund_id, repeated=True)
    try:
        refund = await gateway.refund(
            payment_intent=reserved.payment_intent,
            amount=amount,
            idempotency_key=f"rxshop-refund-{request_key}",
            metadata={"order_id": order_id, "request_key": request_key, **({"note": note} if note else {})},
            reason=chosen.stripe_reason,
        )
    except PaymentUnavailable as err:
        if err.same_key_may_succeed:  # nothing was stored under the key: the same click may be repeated
            raise ActionRefused(REFUND_UNANSWERED) from err
        # Stripe failed and keeps that answer under the key: this request is over, a new form makes a new one.
        return await _refund_failed(request_key, REFUND_FAILED, amount, err)
    except PaymentError as err:
        return await _refund_failed(request_key, REFUND_REFUSED, amount, err)
    order, _request, moved = await in_session(_finish, key=request_key, refund_id=refund.id, error=None)
    await _restock(order_id, restock)
    notify.order_changed(order.visitor_id, order.id)
    return RefundDone(order, request_key, amount, refund.id, repeated=not moved)


async def _restock(order_id: str, restock: bool) -> None:
    """The owner chose to put the refunded order's units back on sale (once, however often this runs)."""
    if restock and await in_session(stock_sales.restock_order, order_id=order_id) != "":
        notify.stock_changed()


async def _refund_failed(key: str, message: str, amount: int, err: PaymentError) -> RefundDone:
    """Record the request as failed (its amount is free again) and refuse with `message`; unless the other
    click of the same key succeeded meanwhile."""
    order, request, _moved = await in_session(_finish, key=key, refund_id=None, error=message)
    if request.status != RefundStatus.SUCCEEDED:
        raise ActionRefused(message) from err
    return RefundDone(order, key, amount, request.stripe_refund_id or "", repeated=True)


# --- The exceptions inbox -------------------------------------------------------------------------------------


def resolve_exception(
    *, session: Session, admin: str, kind: str, reference: str, note: str, now: datetime | None = None
) -> None:
    """Mark one inbox item resolved with the owner's note (an overdue shipment gets its row here)."""
    note = note.strip()[:2000]
    if not note:
        raise ActionRefused("Write a short note: what was done about it.")
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        if kind == InboxKind.SHIP_OVERDUE:
            if load_order(session, Order.id == reference) is None:
                raise ActionRefused("There is no such order.")
            history.flag(
                session,
                kind=InboxKind.SHIP_OVERDUE,
                reference=reference,
                order_id=reference,
                detail="not shipped in time",
                at=now,
            )
        result = session.exec(
            sa.update(InboxItem)
            .where(col(InboxItem.kind) == kind, col(InboxItem.reference) == reference)
            .values(resolved_at=now, resolution_note=note)
        )
        if result.rowcount != 1:
            raise ActionRefused("There is no such item in the inbox.")
    return None


async def resolve(*, admin: str, kind: str, reference: str, note: str) -> None:
    """resolve_exception off the event loop."""
    await in_session(resolve_exception, admin=admin, kind=kind, reference=reference, note=note)
