"""What the owner changes on an order after the fact: a shipment's tracking, and internal notes.

Each change writes its timeline row in the same transaction. An edit of the tracking with "tell the buyer"
writes the buyer's "shipped" email to the outbox in that transaction too (rxshop.mail.outbox: one message
per carrier and number) and records when it was asked for (`orders.tracking_email_requested_at`). Notes are
the owner's own: never shown to the buyer.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from rxshop.admin.actions import ActionRefused
from rxshop.admin.auth import require_admin
from rxshop.admin.timeline import BUYER_TOLD
from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.core.models import Order, utcnow
from rxshop.domain.shipping import TrackingRefused, check_tracking
from rxshop.mail import outbox
from rxshop.orders import history
from rxshop.orders.history import EventKind
from rxshop.orders.records import load_order, transaction, view_of
from rxshop.orders.views import FulfillmentStatus, OrderView

NOTE_MAX = 2000


def edit_tracking(
    *,
    session: Session,
    admin: str,
    order_id: str,
    carrier: str,
    tracking_number: str,
    tell_buyer: bool = False,
    now: datetime | None = None,
) -> OrderView:
    """Change a shipped order's carrier and tracking number (checked as when shipping); recorded on the
    timeline with the old and new numbers. The same carrier and number again changes nothing."""
    try:
        chosen, number = check_tracking(carrier, tracking_number)
    except TrackingRefused as err:
        raise ActionRefused(str(err)) from None
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        order = load_order(session, Order.id == order_id)
        if order is None:
            raise ActionRefused("There is no such order.")
        if order.fulfillment_status != FulfillmentStatus.SHIPPED:
            raise ActionRefused("This order is not shipped yet: mark it shipped first.")
        if (order.carrier, order.tracking_number) == (chosen.name, number):
            raise ActionRefused("That is the tracking it already has; nothing was changed.")
        values: dict[str, object] = {"carrier": chosen.name, "tracking_number": number, "updated_at": now}
        if tell_buyer:
            values["tracking_email_requested_at"] = now
        session.exec(
            sa.update(Order)
            .where(
                col(Order.id) == order_id,
                col(Order.fulfillment_status) == FulfillmentStatus.SHIPPED,
            )
            .values(**values)
        )
        if tell_buyer:  # the buyer's email, in this transaction: never lost, never twice
            outbox.shipped(session.connection(), order_id, chosen.name, number, now)
        detail = f"{chosen.name} {number}" + (BUYER_TOLD if tell_buyer else "")
        history.add_event(session, order_id, EventKind.TRACKING_CHANGED, detail, actor="owner", at=now)
        order = load_order(session, Order.id == order_id)
        assert order is not None
        return view_of(session, order)


def add_note(
    *, session: Session, admin: str, order_id: str, text: str, now: datetime | None = None
) -> OrderView:
    """An internal note on the order's timeline, with its time and author (the owner)."""
    note = " ".join(str(text or "").split()) if isinstance(text, str) else ""
    if not note:
        raise ActionRefused("Write the note first.")
    if len(note) > NOTE_MAX:
        raise ActionRefused(f"A note is at most {NOTE_MAX} characters; this one has {len(note)}.")
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        order = load_order(session, Order.id == order_id)
        if order is None:
            raise ActionRefused("There is no such order.")
        history.add_event(session, order_id, EventKind.NOTE, note, actor="owner", at=now)
        return view_of(session, order)


async def change_tracking(
    *, admin: str, order_id: str, carrier: str, tracking_number: str, tell_buyer: bool = False
) -> OrderView:
    """edit_tracking off the event loop, then tell the buyer's open tabs and the dashboards."""
    order = await in_session(
        edit_tracking,
        admin=admin,
        order_id=order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        tell_buyer=tell_buyer,
    )
    notify.order_changed(order.visitor_id, order.id)
    return order


async def note_order(*, admin: str, order_id: str, text: str) -> OrderView:
    """add_note off the event loop; other dashboards showing the order follow."""
    order = await in_session(add_note, admin=admin, order_id=order_id, text=text)
    notify.order_changed(order.visitor_id, order.id)
    return order
