"""Reconciliation: bring every recent order to its true state from Stripe, after downtime or lost webhooks.

`python -m rxshop reconcile --since 72h` (or `make reconcile`). Idempotent: it goes through the same
fulfillment function as the return page and the webhook, so running it twice changes nothing more.
Refunds come from Stripe's `charge.refunded` events of the window, applied through the webhook's own
`apply_stripe_event`: one the webhook already recorded is a duplicate, a lost one is applied now.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.core.models import Order, utcnow
from rxshop.core.settings import Settings
from rxshop.domain.lifecycle import Outcome
from rxshop.orders import records, stock
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.stripe_events import apply_stripe_event
from rxshop.payments.gateway import CheckoutGateway, PaymentError
from rxshop.payments.wire import CheckoutSession, Event, PaymentStatus, SessionStatus

_DURATION = re.compile(r"(\d+)\s*([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds in '30m', '72h', '7d'; Stripe keeps sessions listable for a while, so cap at 30 days."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"--since takes a number and a unit (s, m, h or d), such as 72h; got {text!r}")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= 30 * 86400:
        raise ValueError("--since must be between 1s and 30d")
    return seconds


@dataclass(frozen=True)
class Repair:
    session_id: str
    order_id: str
    before: str
    after: str
    outcome: str


@dataclass(frozen=True)
class Report:
    sessions_seen: int
    repairs: tuple[Repair, ...]
    expired_by_clock: tuple[str, ...]
    skipped: int  # sessions that are not this shop's (no order for them)
    refunds: tuple[
        Repair, ...
    ] = ()  # orders whose refunds a lost charge.refunded had not recorded (by charge)
    released: tuple[str, ...] = ()  # orders whose stock holds were given back (sessions over)


def _reconcile_checkout(*, session: Session, checkout: CheckoutSession) -> tuple[Repair, str] | None:
    """The repair one session brings to its order (and the order's visitor), or None if it is not ours."""
    order_id = checkout.client_reference_id or checkout.metadata.get("order_id") or ""
    if checkout.status == SessionStatus.EXPIRED and order_id:
        # Its stock hold ends, even if its order was never written (the Buy stopped after Stripe answered).
        stock.release_unless_open(session=session, order_id=order_id, now=utcnow())
    before = records.find_order_by_session(session=session, session_id=checkout.id)
    if before is None and order_id:
        before_status = "(unattached)"
    elif before is None:
        return None
    else:
        before_status = before.status
    result = fulfill_checkout(session=session, checkout=checkout, visitor_id=None, source="reconcile")
    if result.order is None:
        return None
    repair = Repair(checkout.id, result.order.id, before_status, result.order.status, result.outcome)
    return repair, result.order.visitor_id


def _apply_refund_event(*, session: Session, event: Event) -> tuple[Repair, str] | None:
    """Apply one charge.refunded event as the webhook would; the repair if it changed an order."""
    assert event.charge is not None
    with records.transaction(session):
        before = records.load_order(session, Order.payment_intent_id == event.charge.payment_intent)
        before_status = before.status if before is not None else ""
    result = apply_stripe_event(session=session, event=event, source="reconcile")
    if result.order is None or result.outcome == Outcome.DUPLICATE or result.order.status == before_status:
        return None
    repair = Repair(event.charge.id, result.order.id, before_status, result.order.status, result.outcome)
    return repair, result.order.visitor_id


async def reconcile(*, gateway: CheckoutGateway, since_seconds: int, now: float | None = None) -> Report:
    """List the sessions created in the window and fulfill/expire their orders; then expire stale pendings."""
    now = time.time() if now is None else now
    sessions = await gateway.list_sessions(created_gte=int(now - since_seconds))
    repairs: list[Repair] = []
    skipped = 0
    for checkout in sessions:
        if checkout.status == SessionStatus.OPEN and checkout.payment_status == PaymentStatus.UNPAID:
            continue  # nothing to learn yet
        if checkout.status == SessionStatus.COMPLETE and checkout.payment_status == PaymentStatus.UNPAID:
            # A delayed payment: settled, failed or still waiting? Only the payment intent says.
            checkout = await gateway.retrieve_session(
                checkout.id, expand_line_items=False, expand_payment_intent=True
            )
        found = await in_session(_reconcile_checkout, checkout=checkout)
        if found is None:
            skipped += 1
            continue
        repair, visitor_id = found
        if repair.before != repair.after:
            repairs.append(repair)
            notify.order_changed(visitor_id, repair.order_id)

    refunds: list[Repair] = []
    for event in await gateway.list_events(type="charge.refunded", created_gte=int(now - since_seconds)):
        if event.charge is None:
            continue
        applied = await in_session(_apply_refund_event, event=event)
        if applied is not None:
            refunds.append(applied[0])
            notify.order_changed(applied[1], applied[0].order_id)

    expired = await in_session(records.expire_stale_orders, now=datetime.fromtimestamp(now, UTC))
    for order in expired:
        notify.order_changed(order.visitor_id, order.id)
    # Expired sessions went through fulfillment above, which gives their holds back; this gives back the
    # rest (orders the Buy path gave up, Buys whose order was never written).
    released = await in_session(stock.sweep, now=datetime.fromtimestamp(now, UTC))
    if released:
        notify.stock_changed()
    return Report(
        len(sessions), tuple(repairs), tuple(o.id for o in expired), skipped, tuple(refunds), tuple(released)
    )


def format_report(report: Report) -> str:
    rows = [("SESSION", "ORDER", "BEFORE", "AFTER", "OUTCOME")]
    rows += [(r.session_id, r.order_id, r.before, r.after, r.outcome) for r in report.repairs]
    rows += [(r.session_id, r.order_id, r.before, r.after, "refund (lost webhook)") for r in report.refunds]
    rows += [
        ("-", order_id, "pending", "expired", "session expired (clock)")
        for order_id in report.expired_by_clock
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.append(
        f"{report.sessions_seen} sessions checked, {len(report.repairs)} orders repaired, "
        f"{len(report.expired_by_clock)} expired by clock, {len(report.refunds)} refunds recorded, "
        f"{report.skipped} sessions not ours."
        + (f" {len(report.released)} more stock holds given back." if report.released else "")
    )
    return "\n".join(lines)


def main(*, since: str, settings: Settings) -> int:
    try:
        seconds = parse_duration(since)
    except ValueError as err:
        print(err)
        return 2
    gateway = CheckoutGateway.from_settings(settings)
    try:
        report = asyncio.run(reconcile(gateway=gateway, since_seconds=seconds))
    except PaymentError as err:
        print(f"Reconciliation stopped: {err}")
        return 1
    print(format_report(report))
    return 0
