"""One order for the owner: everything about it, with its timeline, refunds and Stripe links (read-only).

Split from rxshop.admin.queries (the list), which re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.admin.timeline import Line, OrderFacts, plain_timeline
from rxshop.core.models import DiscountCode, Order, OrderEvent, RefundRequest, StripeEvent
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.lifecycle import SHIPPABLE_STATUSES, RefundStatus, remaining_to_refund
from rxshop.orders.records import load_order, transaction, view_of
from rxshop.orders.views import OrderView


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # created | webhook | an EventKind (status, shipped, refund_requested, refund_failed)
    text: str
    actor: str  # buyer | webhook | return page | reconcile | system | owner
    stripe_event_id: str | None = None


@dataclass(frozen=True)
class RefundRequestView:
    request_key: str
    amount: int
    status: RefundStatus
    stripe_refund_id: str | None
    error: str | None
    requested_at: datetime
    reason: str | None = None  # rxshop.domain.refunds.RefundReason
    note: str | None = None


@dataclass(frozen=True)
class OrderDetail:
    order: OrderView
    timeline: tuple[TimelineEntry, ...]  # oldest first
    refunds: tuple[RefundRequestView, ...]
    stripe_links: dict[str, str] = field(default_factory=dict)  # label -> Stripe Dashboard URL (Stripe mode)
    promotion_code: str = ""  # the code the buyer used (its id when the shop has not seen its text)

    @property
    def plain_timeline(self) -> list[Line]:
        """The timeline in the owner's words (rxshop.admin.timeline)."""
        o = self.order
        facts = OrderFacts(o.number, o.currency, o.amount_total, self.promotion_code)
        return plain_timeline(self.timeline, self.refunds, facts)

    @property
    def can_ship(self) -> bool:
        return self.order.status in SHIPPABLE_STATUSES

    @property
    def refundable(self) -> int:
        """What a new refund may take: the total less refunds reported and refunds requested."""
        requested = sum(r.amount for r in self.refunds if r.status != RefundStatus.FAILED)
        return remaining_to_refund(self.order.amount_total, self.order.amount_refunded, requested)


def _timeline(session: Session, order: Order) -> list[TimelineEntry]:
    entries = [TimelineEntry(order.created_at, "created", f"Order {order.number} created", "buyer")]
    events = session.exec(select(OrderEvent).where(OrderEvent.order_id == order.id)).all()
    entries += [TimelineEntry(e.at, e.kind, e.detail, e.actor) for e in events]
    deliveries = session.exec(select(StripeEvent).where(StripeEvent.order_id == order.id)).all()
    entries += [
        TimelineEntry(d.received_at, "webhook", f"{d.type}: {d.outcome}", "webhook", stripe_event_id=d.id)
        for d in deliveries
    ]
    return sorted(entries, key=lambda e: e.at)


def _stripe_links(order: Order, settings: Settings) -> dict[str, str]:
    if settings.payments_mode != "stripe":
        return {}
    base = "https://dashboard.stripe.com/" + ("" if order.livemode else "test/")
    links = {}
    if order.payment_intent_id:
        links["Payment"] = f"{base}payments/{order.payment_intent_id}"
    if order.stripe_session_id:
        links["Checkout Session"] = f"{base}checkout/sessions/{order.stripe_session_id}"
    return links


def order_detail(
    *,
    session: Session,
    admin: str,
    order_id: str,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> OrderDetail | None:
    """Everything about one order (None if there is no such order)."""
    settings = settings or get_settings()
    with transaction(session):
        require_admin(session, admin, now)
        order = load_order(session, Order.id == order_id)
        if order is None:
            return None
        requests = session.exec(
            select(RefundRequest).where(RefundRequest.order_id == order_id).order_by(col(RefundRequest.id))
        ).all()
        return OrderDetail(
            order=view_of(session, order),
            timeline=tuple(_timeline(session, order)),
            refunds=tuple(
                RefundRequestView(
                    r.request_key,
                    r.amount,
                    RefundStatus(r.status),
                    r.stripe_refund_id,
                    r.error,
                    r.requested_at,
                    r.reason,
                    r.note,
                )
                for r in requests
            ),
            stripe_links=_stripe_links(order, settings),
            promotion_code=_code_of(session, order),
        )


def _code_of(session: Session, order: Order) -> str:
    if not order.promotion_code_id:
        return ""
    known = session.get(DiscountCode, order.promotion_code_id)
    return known.code if known is not None else order.promotion_code_id
