"""The exceptions inbox, in the owner's words: what happened, who paid how much, and where to look.

Stored items (rxshop.orders.history.flag) keep Stripe's technical detail for support; this module reads them
with their order (number, buyer's email) and says each in plain words, with a link to the order or to the
Stripe object (Dashboard URL, test or live). Overdue shipments are derived here from the orders themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.core.models import InboxItem, Order, utcnow
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.history import InboxKind, buyer_in
from rxshop.orders.records import transaction
from rxshop.orders.views import FulfillmentStatus

TITLES = {
    InboxKind.MISMATCH: "A payment does not match its order",
    InboxKind.UNKNOWN_SESSION: "Money received without an order",
    InboxKind.UNPROCESSABLE: "A message from Stripe could not be used",
    InboxKind.SHIP_OVERDUE: "Paid, not shipped in time",
    InboxKind.OVERSOLD: "Paid after its stock ran out",
    InboxKind.LOW_STOCK: "Low stock",
}


@dataclass(frozen=True)
class InboxEntry:
    kind: str  # history.InboxKind
    reference: str  # with kind, what resolve_exception takes
    created_at: datetime  # for an overdue shipment: when it became overdue
    detail: str  # the technical detail recorded with it (for Stripe support)
    order_id: str | None = None
    order_number: str | None = None
    session_id: str | None = None
    event_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None
    email: str | None = None  # the buyer's, when the order knows it
    summary: str = ""  # what happened and what to do, in plain words
    stripe_url: str | None = None  # the Stripe Dashboard page of its session or event (Stripe mode only)
    stripe_label: str = ""

    @property
    def title(self) -> str:
        return TITLES.get(self.kind, "Needs a look")  # type: ignore[call-overload]


def _paid_text(email: str | None, amount: int | None, currency: str | None) -> str:
    who = email or "A buyer"
    return f"{who} paid {format_money(amount, currency or 'usd')}" if amount is not None else f"{who} paid"


def plain_words(kind: str, *, email: str | None, amount: int | None, currency: str | None,
                number: str | None, detail: str) -> str:  # fmt: skip
    """One or two sentences an owner understands (no ids, no internal names)."""
    paid = _paid_text(email, amount, currency)
    order = f"order {number}" if number else "an order"
    if kind == InboxKind.MISMATCH:
        return (
            f"{paid} for {order}, but what Stripe charged differs from the order (items, prices or "
            "shipping), so the order was not marked paid. Check the payment in Stripe, then refund it or "
            "contact the buyer."
        )
    if kind == InboxKind.UNKNOWN_SESSION:
        return (
            f"{paid} through Stripe Checkout, but the payment belongs to no order of this shop (the order "
            "may have been deleted, or the payment was made for another shop using the same Stripe "
            "account). Refund it in Stripe, or contact the buyer."
        )
    if kind == InboxKind.UNPROCESSABLE:
        return (
            "Stripe sent a notification the shop could not use, so whatever it reported (a payment or a "
            "refund) may be missing here. Compare with the Stripe Dashboard; if an order is affected, its "
            "page shows what the shop knows."
        )
    if kind == InboxKind.SHIP_OVERDUE:
        return f"{paid} for {order}, which has not been shipped within the promised time. Ship it or write to the buyer."
    if kind == InboxKind.OVERSOLD:
        return f"{paid} for {order} after the last unit was sold. Refund it, or restock and ship it."
    return detail


def stripe_page(entry_kind: str, session_id: str | None, event_id: str | None,
                settings: Settings) -> tuple[str | None, str]:  # fmt: skip
    """(URL, label) of the Stripe Dashboard page to look at; none with the simulator."""
    if settings.payments_mode != "stripe":
        return None, ""
    if session_id:
        live = session_id.startswith("cs_live_")
        base = "https://dashboard.stripe.com/" + ("" if live else "test/")
        return f"{base}checkout/sessions/{session_id}", "Open the payment in Stripe"
    if event_id and entry_kind == InboxKind.UNPROCESSABLE:
        base = "https://dashboard.stripe.com/" + ("" if settings.livemode else "test/")
        return f"{base}events/{event_id}", "Open Stripe's notification"
    return None, ""


def _overdue_where(cutoff: datetime) -> list:
    return [
        col(Order.status).in_((S.PAID, S.PARTIALLY_REFUNDED)),
        col(Order.fulfillment_status) == FulfillmentStatus.UNFULFILLED,
        col(Order.paid_at) < cutoff,
    ]


def _entry(settings: Settings, **values) -> InboxEntry:
    url, label = stripe_page(values["kind"], values.get("session_id"), values.get("event_id"), settings)
    summary = plain_words(
        values["kind"],
        email=values.get("email"),
        amount=values.get("amount"),
        currency=values.get("currency"),
        number=values.get("order_number"),
        detail=values.get("detail", ""),
    )
    return InboxEntry(**values, summary=summary, stripe_url=url, stripe_label=label)


def read_inbox(
    session: Session, include_resolved: bool, now: datetime, settings: Settings
) -> list[InboxEntry]:
    """Every open item (and resolved ones when asked), newest first; the caller checked the sign-in."""
    due = timedelta(days=settings.ship_within_days)
    stored = session.exec(
        select(InboxItem, Order.number, Order.customer_email).outerjoin(
            Order, col(Order.id) == InboxItem.order_id
        )
    ).all()
    entries = [
        _entry(
            settings,
            kind=item.kind,
            reference=item.reference,
            created_at=item.created_at,
            detail=item.detail,
            order_id=item.order_id,
            order_number=number,
            session_id=item.session_id,
            event_id=item.event_id,
            amount=item.amount,
            currency=item.currency,
            resolved_at=item.resolved_at,
            resolution_note=item.resolution_note,
            email=email or buyer_in(item.detail),
        )
        for item, number, email in stored
        if item.kind != InboxKind.SHIP_OVERDUE  # listed below, while the order is still unshipped
    ]
    resolved = {i.reference: i for i, _n, _e in stored if i.kind == InboxKind.SHIP_OVERDUE}
    overdue = session.exec(select(Order).where(*_overdue_where(now - due))).all()
    for order in overdue:
        done = resolved.get(order.id)
        assert order.paid_at is not None
        entries.append(
            _entry(
                settings,
                kind=InboxKind.SHIP_OVERDUE,
                reference=order.id,
                created_at=order.paid_at + due,
                detail=f"Paid {order.paid_at:%Y-%m-%d}; the shop promises to ship within "
                f"{settings.ship_within_days} days.",
                order_id=order.id,
                order_number=order.number,
                amount=order.amount_total,
                currency=order.currency,
                resolved_at=done.resolved_at if done else None,
                resolution_note=done.resolution_note if done else None,
                email=order.customer_email,
            )
        )
    if not include_resolved:
        entries = [e for e in entries if e.resolved_at is None]
    return sorted(entries, key=lambda e: e.created_at, reverse=True)


def exceptions(
    *,
    session: Session,
    admin: str,
    include_resolved: bool = False,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> tuple[InboxEntry, ...]:
    """The inbox, newest first: recorded items, and paid orders not shipped within SHIP_WITHIN_DAYS."""
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        return tuple(read_inbox(session, include_resolved, now, settings or get_settings()))
