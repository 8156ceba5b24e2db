"""The owner's figures: revenue per day (with the period before for comparison), totals per product and the
dashboard's counts.

Money is summed as integers in minor units. Revenue counts orders by the UTC day they were paid. Wherever a
figure is called revenue it is net of refunds (refunds against the day of the payment they return): a fully
refunded order adds nothing. Gross, refunds and discounts are reported beside it. The inbox is
rxshop.admin.inbox; the to-ship count is the order list's own tab (rxshop.admin.queries), so the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.admin.inbox import InboxEntry, exceptions, read_inbox
from rxshop.admin.list_sql import utc_day
from rxshop.admin.queries import OrderTab, count_tabs
from rxshop.core.models import Order, OrderLine, utcnow
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.catalog import CURRENCY
from rxshop.domain.lifecycle import PAID_STATUSES
from rxshop.orders.records import transaction

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class DayRevenue:
    day: date
    orders: int
    revenue: int  # what buyers paid (amount_total: lines - discount + shipping)
    shipping: int
    discounts: int
    refunds: int  # refunded so far of that day's payments

    @property
    def net(self) -> int:
        """The day's revenue: what was paid less what was refunded of it."""
        return self.revenue - self.refunds


@dataclass(frozen=True)
class RevenueReport:
    currency: str
    days: tuple[DayRevenue, ...]  # every day of the range, zero days included, oldest first

    @property
    def orders(self) -> int:
        return sum(d.orders for d in self.days)

    @property
    def revenue(self) -> int:
        return sum(d.revenue for d in self.days)

    @property
    def refunds(self) -> int:
        return sum(d.refunds for d in self.days)

    @property
    def discounts(self) -> int:
        return sum(d.discounts for d in self.days)

    @property
    def shipping(self) -> int:
        return sum(d.shipping for d in self.days)

    @property
    def net(self) -> int:
        return self.revenue - self.refunds

    @property
    def average_order_value(self) -> int:
        """Net revenue per paid order, rounded half up to the minor unit (0 without orders)."""
        return (2 * self.net + self.orders) // (2 * self.orders) if self.orders else 0


@dataclass(frozen=True)
class RevenueComparison:
    """A range and the range of the same length just before it."""

    current: RevenueReport
    previous: RevenueReport


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The days just before `start`..`end`, as many of them (at most a year)."""
    low, high = _range(start, end)
    days = (high - low).days
    return low.date() - timedelta(days=days), low.date() - timedelta(days=1)


@dataclass(frozen=True)
class ProductTotal:
    product_id: str
    name: str
    quantity: int
    amount: int  # lines at their sold price, before discounts (those are reported separately)


def _range(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        start, end = end, start
    if (end - start).days >= MAX_RANGE_DAYS:
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
    return datetime.combine(start, time(0), tzinfo=UTC), datetime.combine(
        end + timedelta(days=1), time(0), UTC
    )


def _paid_in(low: datetime, high: datetime) -> list:
    return [col(Order.status).in_(tuple(PAID_STATUSES)), col(Order.paid_at) >= low, col(Order.paid_at) < high]


def revenue(
    *, session: Session, admin: str, start: date, end: date, now: datetime | None = None
) -> RevenueReport:
    """Paid revenue and order count per UTC day from `start` to `end` (both included; at most a year)."""
    with transaction(session):
        require_admin(session, admin, now)
        return _report(session, start, end)


def compare_revenue(
    *, session: Session, admin: str, start: date, end: date, now: datetime | None = None
) -> RevenueComparison:
    """The range's figures and those of the period of the same length just before it (one snapshot)."""
    with transaction(session):
        require_admin(session, admin, now)
        return RevenueComparison(_report(session, start, end), _report(session, *previous_period(start, end)))


def _report(session: Session, start: date, end: date) -> RevenueReport:
    """Summed in the database per UTC day (on the covering index of migration 0012): ~90 rows come back
    for 90 days, not one per order."""
    low, high = _range(start, end)
    day = utc_day(col(Order.paid_at))
    rows = (
        session.connection()
        .execute(
            sa.select(
                day,
                sa.func.count(),
                sa.func.sum(col(Order.amount_total)),
                sa.func.sum(col(Order.amount_shipping)),
                sa.func.sum(col(Order.amount_discount)),
                sa.func.sum(col(Order.amount_refunded)),
            )
            .where(*_paid_in(low, high))
            .group_by(day)
        )
        .all()
    )
    days = {low.date() + timedelta(days=i): [0, 0, 0, 0, 0] for i in range((high - low).days)}
    for paid_day, *sums in rows:
        days[date.fromisoformat(paid_day)] = [int(x) for x in sums]
    return RevenueReport(CURRENCY, tuple(DayRevenue(day, *sums) for day, sums in sorted(days.items())))


def product_totals(
    *, session: Session, admin: str, start: date, end: date, now: datetime | None = None
) -> tuple[ProductTotal, ...]:
    """Quantity and amount sold per product over orders paid in the range, best seller first."""
    low, high = _range(start, end)
    with transaction(session):
        require_admin(session, admin, now)
        rows = session.exec(
            select(
                OrderLine.product_id,
                sa.func.max(OrderLine.name),
                sa.func.sum(OrderLine.quantity),
                sa.func.sum(OrderLine.quantity * OrderLine.unit_amount),
            )
            .join(Order, col(Order.id) == OrderLine.order_id)
            .where(*_paid_in(low, high))
            .group_by(OrderLine.product_id)
        ).all()
    totals = [ProductTotal(pid, name, int(qty), int(amount)) for pid, name, qty, amount in rows]
    return tuple(sorted(totals, key=lambda t: (-t.amount, t.product_id)))


@dataclass(frozen=True)
class DashboardSummary:
    open_exceptions: dict[str, int]  # kind -> count of unresolved items
    to_ship: int  # paid orders not shipped yet (the order list's To ship tab)
    orders_today: int  # paid today (UTC)
    revenue_today: int  # what today's payments brought, less what was refunded of them

    @property
    def open_exception_count(self) -> int:
        return sum(self.open_exceptions.values())


def summary(
    *, session: Session, admin: str, now: datetime | None = None, settings: Settings | None = None
) -> DashboardSummary:
    """The counts on the dashboard's front page."""
    now = now or utcnow()
    settings = settings or get_settings()
    with transaction(session):
        require_admin(session, admin, now)
        counts: dict[str, int] = {}
        for entry in read_inbox(session, False, now, settings):
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
        to_ship = count_tabs(session)[OrderTab.TO_SHIP]
        today = _report(session, now.date(), now.date())
    return DashboardSummary(counts, to_ship, today.orders, today.net)


__all__ = [
    "DashboardSummary",
    "DayRevenue",
    "InboxEntry",
    "ProductTotal",
    "RevenueComparison",
    "RevenueReport",
    "compare_revenue",
    "exceptions",
    "previous_period",
    "product_totals",
    "revenue",
    "summary",
]
