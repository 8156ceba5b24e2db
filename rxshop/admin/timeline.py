"""The order's timeline in the owner's words: "Paid $41.00", "Refunded $10.00 — requested by customer",
"Shipped with UPS, 1Z…", "Note: …", instead of the rows as stored ("status · webhook: paid -> partially_refunded").

Pure: it reads the rows `rxshop.admin.queries.order_detail` gathers (timeline rows, webhook deliveries and
refund requests) and returns text; tested without a database or a browser. Refunds the owner asked for are
told from their requests (amount, reason, outcome); the status changes Stripe reports for them say what the
order now is. Routine webhook deliveries are left out (the status change they made is shown); one that could
not be applied is kept, pointing to the inbox. A kind this module does not know is still shown, plainly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import OrderStatus, RefundStatus
from rxshop.domain.refunds import reason_text

BUYER_TOLD = " · buyer told"  # rxshop.admin.order_edits writes it at the end of a tracking change

WHO = {"owner": "You", "webhook": "Stripe", "reconcile": "Stripe", "return page": "Stripe", "buyer": "Buyer"}
# Webhook outcomes that need no line of their own: the status change they made has one.
_ROUTINE = {
    "fulfilled",
    "already_paid",
    "duplicate",
    "ignored",
    "not_paid",
    "processing",
    "failed",
    "expired",
    "partially_refunded",
    "refunded",
    "refund_recorded",
}


class Row(Protocol):
    """A stored timeline row (rxshop.admin.queries.TimelineEntry)."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def actor(self) -> str: ...


class Refund(Protocol):
    """An owner's refund request (rxshop.admin.queries.RefundRequestView)."""

    @property
    def amount(self) -> int: ...
    @property
    def status(self) -> RefundStatus: ...
    @property
    def error(self) -> str | None: ...
    @property
    def requested_at(self) -> datetime: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def note(self) -> str | None: ...


@dataclass(frozen=True)
class Line:
    at: datetime
    text: str
    who: str  # You | Stripe | Buyer | Shop


@dataclass(frozen=True)
class OrderFacts:
    """What the wording needs of the order itself."""

    number: str
    currency: str
    amount_total: int
    promotion_code: str = ""  # the code the buyer used, if any


def _shipment(detail: str) -> tuple[str, str]:
    """'Royal Mail AB123456789GB' -> ('Royal Mail', 'AB123456789GB'): the number is the last word."""
    carrier, _, number = detail.rpartition(" ")
    return (carrier or "an unnamed carrier"), number


def _status_text(detail: str, facts: OrderFacts) -> str:
    before, _, after = detail.partition(" -> ")
    money = format_money(facts.amount_total, facts.currency)
    try:
        status = OrderStatus(after.strip())
    except ValueError:
        return f"Status changed: {detail}"
    if status is OrderStatus.PAID:
        code = f" with code {facts.promotion_code}" if facts.promotion_code else ""
        return f"Paid {money}{code}"
    return {
        OrderStatus.PROCESSING: "Payment processing: the bank has not confirmed it yet",
        OrderStatus.FAILED: "Payment failed: nothing was charged",
        OrderStatus.EXPIRED: "Checkout expired without payment",
        OrderStatus.PARTIALLY_REFUNDED: "Stripe confirmed a refund: now partly refunded",
        OrderStatus.REFUNDED: "Stripe confirmed the refund: now refunded in full",
        OrderStatus.PENDING: "Waiting for payment",
    }[status]


def _row_text(row: Row, facts: OrderFacts) -> str | None:
    """The words for one stored row; None when it is told elsewhere (refunds) or routine (deliveries)."""
    kind, detail = row.kind, row.text
    if kind == "created":
        return f"Checkout started (order {facts.number})"
    if kind == "status":
        return _status_text(detail, facts)
    if kind == "shipped":
        carrier, number = _shipment(detail)
        return f"Shipped with {carrier}, {number}"
    if kind == "tracking_changed":
        told = detail.endswith(BUYER_TOLD)
        carrier, number = _shipment(detail.removesuffix(BUYER_TOLD))
        return f"Tracking changed to {carrier}, {number}" + (" — the buyer will be emailed" if told else "")
    if kind == "note":
        return f"Note: {detail}"
    if kind == "restocked":
        return f"Put back in stock: {detail}"
    if kind in ("refund_requested", "refund_failed"):
        return None  # told from the refund requests, with their reason and outcome
    if kind == "webhook":
        event_type, _, outcome = detail.partition(": ")
        if outcome in _ROUTINE:
            return None
        return f"A Stripe notice ({event_type}) could not be applied: {outcome.replace('_', ' ')}; see Exceptions"
    return (
        f"{kind.replace('_', ' ').capitalize()}: {detail}" if detail else kind.replace("_", " ").capitalize()
    )


def _refund_text(refund: Refund, currency: str) -> str:
    money = format_money(refund.amount, currency)
    why = reason_text(refund.reason, refund.note)
    why = f" — {why}" if why else ""
    if refund.status == RefundStatus.SUCCEEDED:
        return f"Refunded {money}{why}"
    if refund.status == RefundStatus.FAILED:
        return f"Refund of {money} failed: {refund.error or 'Stripe refused it'}"
    return f"Refund of {money} asked of Stripe{why}; waiting for its answer"


def plain_timeline(rows: Iterable[Row], refunds: Iterable[Refund], facts: OrderFacts) -> list[Line]:
    """The timeline, oldest first, in plain words."""
    lines = [
        Line(row.at, text, WHO.get(row.actor, "Shop"))
        for row in rows
        if (text := _row_text(row, facts)) is not None
    ]
    lines += [Line(r.requested_at, _refund_text(r, facts.currency), "You") for r in refunds]
    return sorted(lines, key=lambda line: line.at)
