"""The order lifecycle, written down once: statuses, which may follow which, their labels, and outcomes.

Pure data, no database: the order service builds its conditional UPDATEs from it, the UI colours its
badges from it, and the README's lifecycle table is generated from it.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


S = OrderStatus

# The one statement of which status may follow which. Anything not listed is a no-op, never an error:
# Stripe delivers events late, twice and out of order.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.PROCESSING, S.PAID, S.FAILED, S.EXPIRED}),
    S.PROCESSING: frozenset({S.PAID, S.FAILED}),
    S.PAID: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.REFUNDED: frozenset(),
    S.FAILED: frozenset(),
    # Stripe never expires a completed session, but the expiry sweep works from our own clock and a
    # completion webhook may arrive after it ran (Stripe retries for days): money received always wins.
    S.EXPIRED: frozenset({S.PROCESSING, S.PAID}),
}

PAID_STATUSES = frozenset({S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED})
# What may be shipped (and is told "preparing your order"): paid, and not all of it refunded.
SHIPPABLE_STATUSES = (S.PAID, S.PARTIALLY_REFUNDED)
# What My Orders lists: orders the buyer actually placed (an abandoned or expired checkout is not one).
LISTED_STATUSES = frozenset({S.PROCESSING, S.PAID, S.FAILED, S.PARTIALLY_REFUNDED, S.REFUNDED})
# A pending order that never got its Checkout Session (Stripe was down) is given up after this long.
UNATTACHED_ORDER_LIFETIME = timedelta(hours=1)

STATUS_LABELS: dict[OrderStatus, str] = {
    S.PENDING: "Awaiting payment",
    S.PROCESSING: "Payment processing",
    S.PAID: "Paid",
    S.FAILED: "Payment failed",
    S.EXPIRED: "Expired",
    S.PARTIALLY_REFUNDED: "Partially refunded",
    S.REFUNDED: "Refunded",
}


def sources_of(target: OrderStatus) -> tuple[OrderStatus, ...]:
    """The statuses an order may be in to move to `target` (the WHERE of every conditional UPDATE)."""
    return tuple(s for s in OrderStatus if target in TRANSITIONS[s])


def remaining_to_refund(amount_total: int, amount_refunded: int, amount_requested: int) -> int:
    """What a new refund may still take, in minor units: the total less the larger of the refunds Stripe
    has reported and the refunds the owner has requested (a request is reported once it succeeds; a refund
    made in Stripe's Dashboard is reported without a request)."""
    return max(0, amount_total - max(amount_refunded, amount_requested))


def transition_table_markdown() -> str:
    """The lifecycle as a Markdown table, for the README (generated, so it cannot drift from the code)."""
    rows = ["| Status | Label | May become |", "| --- | --- | --- |"]
    for status in OrderStatus:
        targets = ", ".join(f"`{t}`" for t in OrderStatus if t in TRANSITIONS[status]) or "— (final)"
        rows.append(f"| `{status}` | {status.label} | {targets} |")
    return "\n".join(rows)


class RefundStatus(StrEnum):
    """An owner's refund request (refund_requests.status): asked of Stripe, then what Stripe answered."""

    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Outcome(StrEnum):
    """What one call of the fulfillment service, or one webhook delivery, did."""

    FULFILLED = "fulfilled"  # this call moved the order to paid
    ALREADY_PAID = "already_paid"  # someone else (webhook, another tab, a retry) had done it
    NOT_PAID = "not_paid"  # session still open and unpaid: nothing written
    NOT_FOUND = "not_found"  # no such order, another visitor's, or bound to another session: reveal nothing
    MISMATCH = "mismatch"  # Stripe's amount/currency/lines differ from the order: logged, nothing written
    # The order's status after the call, where that is the news:
    PROCESSING = "processing"
    FAILED = "failed"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    # Webhook deliveries only:
    DUPLICATE = "duplicate"  # this Stripe event id was processed before
    IGNORED = "ignored"  # an event type the shop does not act on
    UNKNOWN_SESSION = "unknown_session"  # a Checkout Session the shop has no order for
    UNKNOWN_ORDER = "unknown_order"  # a refund for a payment the shop has no order for
    REFUND_RECORDED = "refund_recorded"  # refund amount kept on an order not paid (yet); applied when it is
    UNPROCESSABLE = "unprocessable"  # signed, but its data can never be applied: recorded for the owner


# The outcome of a call that moved nothing, from the status the order already had.
OUTCOME_FOR_STATUS: dict[OrderStatus, Outcome] = {
    S.PENDING: Outcome.NOT_PAID,
    S.PROCESSING: Outcome.PROCESSING,
    S.FAILED: Outcome.FAILED,
    S.EXPIRED: Outcome.EXPIRED,
    S.PAID: Outcome.ALREADY_PAID,
    S.PARTIALLY_REFUNDED: Outcome.ALREADY_PAID,
    S.REFUNDED: Outcome.ALREADY_PAID,
}
