"""The owner's figures: revenue per day, totals per product, the exceptions inbox and the dashboard counts.

Money is summed as integers in minor units. Revenue counts orders by the UTC day they were paid; refunds and
discounts are reported beside it (refunds against the day of the payment they return), never netted silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.core.models import InboxItem, Order, OrderLine, utcnow
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.catalog import CURRENCY
from rxshop.domain.lifecycle import PAID_STATUSES
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.history import InboxKind
from rxshop.orders.records import transaction
from rxshop.orders.views import FulfillmentStatus

MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class DayRevenue:
    day: date
    orders: int
    revenue: int  # what buyers paid (amount_total: lines - discount + shipping)
    shipping: int
    discounts: int
    refunds: int  # refunded so far of that day's payments


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
    low, high = _range(start, end)
    with transaction(session):
        require_admin(session, admin, now)
        # Core's select: SQLModel's own is typed for up to four columns.
        rows = (
            session.connection()
            .execute(
                sa.select(
                    col(Order.paid_at),
                    col(Order.amount_total),
                    col(Order.amount_shipping),
                    col(Order.amount_discount),
                    col(Order.amount_refunded),
                ).where(*_paid_in(low, high))
            )
            .all()
        )
    days = {low.date() + timedelta(days=i): [0, 0, 0, 0, 0] for i in range((high - low).days)}
    for paid_at, total, shipping, discount, refunded in rows:
        assert paid_at is not None  # selected by its paid_at
        sums = days[paid_at.astimezone(UTC).date()]
        for i, value in enumerate((1, total, shipping, discount, refunded)):
            sums[i] += value
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


# --- The exceptions inbox -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxEntry:
    kind: str  # history.InboxKind
    reference: str  # with kind, what resolve_exception takes
    created_at: datetime  # for an overdue shipment: when it became overdue
    detail: str
    order_id: str | None = None
    order_number: str | None = None
    session_id: str | None = None
    event_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None


def _overdue_where(cutoff: datetime) -> list:
    return [
        col(Order.status).in_((S.PAID, S.PARTIALLY_REFUNDED)),
        col(Order.fulfillment_status) == FulfillmentStatus.UNFULFILLED,
        col(Order.paid_at) < cutoff,
    ]


def _inbox(session: Session, include_resolved: bool, now: datetime, settings: Settings) -> list[InboxEntry]:
    due = timedelta(days=settings.ship_within_days)
    stored = session.exec(
        select(InboxItem, Order.number).outerjoin(Order, col(Order.id) == InboxItem.order_id)
    ).all()
    entries = [
        InboxEntry(
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
        )
        for item, number in stored
        if item.kind != InboxKind.SHIP_OVERDUE  # listed below, while the order is still unshipped
    ]
    resolved = {i.reference: i for i, _n in stored if i.kind == InboxKind.SHIP_OVERDUE}
    overdue = session.exec(select(Order).where(*_overdue_where(now - due))).all()
    for order in overdue:
        done = resolved.get(order.id)
        assert order.paid_at is not None
        entries.append(
            InboxEntry(
                kind=InboxKind.SHIP_OVERDUE,
                reference=order.id,
                created_at=order.paid_at + due,
                detail=f"paid {order.paid_at:%Y-%m-%d}, not shipped within {settings.ship_within_days} days",
                order_id=order.id,
                order_number=order.number,
                amount=order.amount_total,
                currency=order.currency,
                resolved_at=done.resolved_at if done else None,
                resolution_note=done.resolution_note if done else None,
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
        return tuple(_inbox(session, include_resolved, now, settings or get_settings()))


@dataclass(frozen=True)
class DashboardSummary:
    open_exceptions: dict[str, int]  # kind -> count of unresolved items
    to_ship: int  # paid orders not shipped yet
    orders_today: int  # paid today (UTC)
    revenue_today: int

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
        for entry in _inbox(session, False, now, settings):
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
        to_ship = session.exec(
            select(sa.func.count()).select_from(Order).where(*_overdue_where(now + timedelta(days=1)))
        ).one()
        low, high = _range(now.date(), now.date())
        today = session.exec(
            select(sa.func.count(), sa.func.coalesce(sa.func.sum(Order.amount_total), 0)).where(
                *_paid_in(low, high)
            )
        ).one()
    return DashboardSummary(counts, int(to_ship), int(today[0]), int(today[1]))
