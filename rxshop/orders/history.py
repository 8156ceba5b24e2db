"""What happened to an order, and what the owner must look at: the order timeline and the exceptions inbox.

Written inside the caller's transaction (`session=` is the caller's), so a status change and its timeline
row commit or roll back together. Inbox items are one per (kind, reference): Stripe repeats deliveries,
and the return page, webhooks and reconciliation may all report the same mismatch.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from rxshop.core.models import InboxItem, OrderEvent, utcnow
from rxshop.mail import outbox


class EventKind(StrEnum):
    """A timeline row's kind (order_events.kind)."""

    STATUS = "status"  # detail: "<before> -> <after>"
    SHIPPED = "shipped"  # detail: "<carrier> <tracking>"
    REFUND_REQUESTED = "refund_requested"
    REFUND_FAILED = "refund_failed"
    RESTOCKED = "restocked"  # detail: "2 × Morning Mug" put back in stock by the owner
    TRACKING_CHANGED = "tracking_changed"  # detail: "<carrier> <tracking>" (the new one) [+ " · buyer told"]
    NOTE = "note"  # detail: the owner's internal note (never shown to the buyer)


class InboxKind(StrEnum):
    """What an owner's inbox item is about (inbox_items.kind)."""

    MISMATCH = "mismatch"  # a paid session whose amount, currency, lines or shipping differ from its order
    UNKNOWN_SESSION = "unknown_session"  # money received for a session the shop has no order for
    UNPROCESSABLE = "unprocessable"  # a signed event the shop could never apply
    SHIP_OVERDUE = "ship_overdue"  # derived by query; stored only once the owner resolves it
    OVERSOLD = "oversold"  # paid for units no longer held or there (rxshop.orders.stock): refund or restock
    LOW_STOCK = "low_stock"  # a sale took a product to its low-stock threshold (once per restock)


BUYER_PREFIX = "Buyer: "  # an inbox detail may start "Buyer: ann@example.com. " (see buyer_note)


def buyer_note(email: str | None) -> str:
    """The start of an inbox item's detail naming who paid, when Stripe said (the table has no email column:
    the inbox reads it back with `buyer_in`)."""
    return f"{BUYER_PREFIX}{email}. " if email and " " not in email and "@" in email else ""


def buyer_in(detail: str) -> str | None:
    """The email `buyer_note` put at the start of `detail`, if any."""
    if not detail.startswith(BUYER_PREFIX):
        return None
    email, dot, _rest = detail[len(BUYER_PREFIX) :].partition(". ")
    return email if dot and "@" in email and " " not in email else None


# The timeline row, prebuilt: one statement for every writer (the webhook's fast path included).
ADD_EVENT = sa.insert(OrderEvent)


def event_row(
    order_id: str, kind: EventKind, detail: str = "", *, actor: str = "system", at: datetime | None = None
) -> dict[str, Any]:
    """The values of ADD_EVENT for one timeline row."""
    return {"order_id": order_id, "kind": kind, "detail": detail, "actor": actor, "at": at or utcnow()}


def status_row(
    order_id: str, before: str, after: str, *, actor: str, at: datetime | None = None
) -> dict[str, Any]:
    """The timeline row of a status change: detail "<before> -> <after>"."""
    return event_row(order_id, EventKind.STATUS, f"{before} -> {after}", actor=actor, at=at)


def add_event(
    session: Session,
    order_id: str,
    kind: EventKind,
    detail: str = "",
    *,
    actor: str = "system",
    at: datetime | None = None,
) -> None:
    session.exec(ADD_EVENT, params=event_row(order_id, kind, detail, actor=actor, at=at))


def status_changed(
    session: Session, order_id: str, before: str, after: str, *, actor: str, at: datetime | None = None
) -> None:
    if before != after:
        session.exec(ADD_EVENT, params=status_row(order_id, before, after, actor=actor, at=at))


def flag(
    session: Session,
    *,
    kind: InboxKind,
    reference: str,
    detail: str,
    order_id: str | None = None,
    session_id: str | None = None,
    event_id: str | None = None,
    amount: int | None = None,
    currency: str | None = None,
    at: datetime | None = None,
) -> None:
    """Put an item in the owner's inbox unless one for this (kind, reference) is there already."""
    at = at or utcnow()
    values = {
        "kind": kind,
        "reference": reference,
        "detail": detail[:2000],
        "order_id": order_id,
        "session_id": session_id,
        "event_id": event_id,
        "amount": amount,
        "currency": currency,
        "created_at": at,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # ON CONFLICT DO NOTHING: no error, so the caller's transaction (the event row with it) goes on.
    added = session.exec(
        insert(InboxItem)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["kind", "reference"])
        .returning(col(InboxItem.id))  # a row only when new (rowcount is -1 here on PostgreSQL)
    ).first()
    if added is not None and kind != InboxKind.SHIP_OVERDUE:  # new: the owner hears of it (OWNER_EMAIL)
        outbox.exception_flagged(
            session.connection(),
            kind=kind,
            reference=reference,
            detail=detail,
            order_id=order_id,
            amount=amount,
            currency=currency,
            now=at,
        )
