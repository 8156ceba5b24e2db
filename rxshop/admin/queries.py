"""The owner's order table and order detail (with its timeline): read-only, typed results.

Every function checks the sign-in first (`admin` is the visitor id from the server-signed credential).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.admin.timeline import Line, OrderFacts, plain_timeline
from rxshop.core.models import (
    ORDER_NUMBER_ALPHABET,
    DiscountCode,
    Order,
    OrderEvent,
    RefundRequest,
    StripeEvent,
)
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.lifecycle import (
    LISTED_STATUSES,
    SHIPPABLE_STATUSES,
    OrderStatus,
    RefundStatus,
    remaining_to_refund,
)
from rxshop.orders.records import lines_of, load_order, transaction, view_of
from rxshop.orders.views import FulfillmentStatus, OrderView, items_text
from rxshop.orders.views import view as _view

MAX_PAGE_SIZE = 100


class OrderTab(StrEnum):
    """The list's views, as tabs with counts: each is a set of clauses, counted and listed by the same code."""

    ALL = "all"  # every order a buyer placed (as before: not open or abandoned checkouts)
    AWAITING = "awaiting"  # checkout still open (pending), or the payment is on its way (processing)
    TO_SHIP = "to_ship"  # paid, not all refunded, not shipped: what the overview's "Paid, not shipped" counts
    SHIPPED = "shipped"
    REFUNDED = "refunded"  # partly or fully

    @property
    def label(self) -> str:
        return TAB_LABELS[self]


TAB_LABELS = {
    OrderTab.ALL: "All",
    OrderTab.AWAITING: "Awaiting payment",
    OrderTab.TO_SHIP: "To ship",
    OrderTab.SHIPPED: "Shipped",
    OrderTab.REFUNDED: "Refunded",
}


def tab_clauses(tab: OrderTab) -> list[Any]:
    """The one definition of each tab (the overview's to-ship count uses it too)."""
    status = col(Order.status)
    if tab == OrderTab.AWAITING:
        return [status.in_((OrderStatus.PENDING, OrderStatus.PROCESSING))]
    if tab == OrderTab.TO_SHIP:
        return [
            status.in_(tuple(SHIPPABLE_STATUSES)),
            col(Order.fulfillment_status) == FulfillmentStatus.UNFULFILLED,
        ]
    if tab == OrderTab.SHIPPED:
        return [col(Order.fulfillment_status) == FulfillmentStatus.SHIPPED]
    if tab == OrderTab.REFUNDED:
        return [status.in_((OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED))]
    return [status.in_(tuple(LISTED_STATUSES))]


class SortKey(StrEnum):
    DATE = "created_at"
    NUMBER = "number"
    EMAIL = "customer_email"
    TOTAL = "amount_total"
    STATUS = "status"


@dataclass(frozen=True)
class OrderFilters:
    """What the table shows: the orders of `tab`, narrowed to `statuses` when given.

    Dates are UTC days, both ends included. `search` matches an order number (with or without 'RX-'),
    an order id or Checkout Session id exactly, or part of the buyer's email.
    """

    tab: OrderTab = OrderTab.ALL
    statuses: tuple[OrderStatus, ...] = ()
    fulfillment: str | None = None  # FulfillmentStatus.UNFULFILLED / SHIPPED
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""


@dataclass(frozen=True)
class AdminOrderRow:
    id: str
    number: str
    created_at: datetime
    email: str
    items: str  # "2 × Morning Mug, 1 × Canvas Tote"
    customer: str  # the name on the shipping address ("" before payment)
    shipping_method: str  # the rate the buyer chose ("" when none was offered)
    total: int
    currency: str
    status: OrderStatus
    fulfillment_status: str
    refunded: int


@dataclass(frozen=True)
class AdminOrderPage:
    rows: tuple[AdminOrderRow, ...]
    total_count: int
    page: int
    page_size: int
    problem: str = ""  # why nothing can match (an impossible date range); rows are then empty

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total_count // self.page_size))


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


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


NO_FILTERS = OrderFilters()  # the whole list


def date_problem(filters: OrderFilters) -> str:
    """What is wrong with the date range, in the owner's words ("" when nothing)."""
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        return (
            f"“From” ({filters.date_from.isoformat()}) is after “To” ({filters.date_to.isoformat()}): "
            "no order can match. Swap the dates or clear one."
        )
    return ""


def filter_clauses(filters: OrderFilters, tab: OrderTab | None = None) -> list[Any]:
    """The WHERE of the list (and its CSV); `tab` overrides the filters' own (for the tabs' counts)."""
    tab = filters.tab if tab is None else tab
    # Under All, chosen statuses replace the tab's (so Pending or Expired can be listed); elsewhere they narrow it.
    where: list[Any] = [] if filters.statuses and tab == OrderTab.ALL else tab_clauses(tab)
    if filters.statuses:
        where.append(col(Order.status).in_([OrderStatus(s) for s in filters.statuses]))
    if filters.fulfillment:
        where.append(Order.fulfillment_status == filters.fulfillment)
    if filters.date_from:
        where.append(Order.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        where.append(Order.created_at < _day_start(filters.date_to + timedelta(days=1)))
    text = filters.search.strip()[:200]
    if text:
        number = text.upper().removeprefix("RX-").removeprefix("RX")
        matches = [col(Order.id) == text, col(Order.stripe_session_id) == text]
        if number and set(number) <= set(ORDER_NUMBER_ALPHABET):
            matches.append(col(Order.number) == "RX-" + number)
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches.append(sa.func.lower(Order.customer_email).like(f"%{escaped}%", escape="\\"))
        where.append(sa.or_(*matches))
    return where


def sort_clauses(sort: SortKey, descending: bool) -> list[Any]:
    column = getattr(Order, SortKey(sort).value)
    direction = sa.desc if descending else sa.asc
    return [direction(column), direction(col(Order.created_at)), direction(col(Order.id))]


def list_orders(
    *,
    session: Session,
    admin: str,
    filters: OrderFilters = NO_FILTERS,
    sort: SortKey = SortKey.DATE,
    descending: bool = True,
    page: int = 0,
    page_size: int = 25,
    now: datetime | None = None,
) -> AdminOrderPage:
    """One page of the order table; a page past the end is the last page."""
    page_size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
    where = filter_clauses(filters)
    with transaction(session):
        require_admin(session, admin, now)
        if problem := date_problem(filters):
            return AdminOrderPage((), 0, 0, page_size, problem)
        total = int(session.exec(select(sa.func.count()).select_from(Order).where(*where)).one())
        page = min(max(0, int(page)), max(0, -(-total // page_size) - 1))
        orders = session.exec(
            select(Order)
            .where(*where)
            .order_by(*sort_clauses(sort, descending))
            .offset(page * page_size)
            .limit(page_size)
            .execution_options(populate_existing=True)
        ).all()
        lines = lines_of(session, [o.id for o in orders])
        views = [_view(o, lines[o.id]) for o in orders]
    rows = tuple(
        AdminOrderRow(
            id=v.id,
            number=v.number,
            created_at=v.created_at,
            email=v.customer_email or "",
            items=items_text(v.lines),
            customer=v.shipping.name if v.shipping else "",
            shipping_method=v.shipping_rate_name or "",
            total=v.amount_total,
            currency=v.currency,
            status=v.status,
            fulfillment_status=v.fulfillment_status,
            refunded=v.amount_refunded,
        )
        for v in views
    )
    return AdminOrderPage(rows, total, page, page_size)


def count_tabs(session: Session, filters: OrderFilters = NO_FILTERS) -> dict[OrderTab, int]:
    """How many orders each tab holds under the other filters (one query; no sign-in check: callers do)."""
    if date_problem(filters):
        return dict.fromkeys(OrderTab, 0)
    counts = [
        sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*filter_clauses(filters, tab)), 1), else_=0)), 0)
        for tab in OrderTab
    ]
    row = session.connection().execute(sa.select(*counts).select_from(Order)).one()
    return {tab: int(n) for tab, n in zip(OrderTab, row, strict=True)}


def tab_counts(
    *, session: Session, admin: str, filters: OrderFilters = NO_FILTERS, now: datetime | None = None
) -> dict[OrderTab, int]:
    """The count beside each tab of the order list."""
    with transaction(session):
        require_admin(session, admin, now)
        return count_tabs(session, filters)


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


__all__ = [
    "AdminOrderPage",
    "AdminOrderRow",
    "FulfillmentStatus",
    "OrderDetail",
    "OrderFilters",
    "OrderTab",
    "RefundRequestView",
    "SortKey",
    "TimelineEntry",
    "count_tabs",
    "date_problem",
    "list_orders",
    "tab_counts",
    "order_detail",
]
