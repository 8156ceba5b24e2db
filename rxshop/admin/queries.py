"""The owner's order table: tabs with counts, filters, search, sort and pages; read-only, typed results.

Every function checks the sign-in first (`admin` is the visitor id from the server-signed credential). One
order's detail is rxshop.admin.order_detail (re-exported here); the SQL shapes that keep the list fast at
100,000 orders are rxshop.admin.list_sql.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.admin.auth import require_admin
from rxshop.admin.list_sql import contains_text, page_ids
from rxshop.admin.order_detail import OrderDetail, RefundRequestView, TimelineEntry, order_detail
from rxshop.core.models import ORDER_NUMBER_ALPHABET, Order
from rxshop.domain.lifecycle import LISTED_STATUSES, SHIPPABLE_STATUSES, OrderStatus
from rxshop.orders.records import lines_of, transaction
from rxshop.orders.views import FulfillmentStatus, items_text
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


def tab_clauses(tab: OrderTab, status: Any = None, fulfillment: Any = None) -> list[Any]:
    """The one definition of each tab (the overview's to-ship count uses it too), on the orders' columns or
    on `status` and `fulfillment` of a grouped subquery (the tab counts)."""
    status = col(Order.status) if status is None else status
    fulfillment = col(Order.fulfillment_status) if fulfillment is None else fulfillment
    if tab == OrderTab.AWAITING:
        return [status.in_((OrderStatus.PENDING, OrderStatus.PROCESSING))]
    if tab == OrderTab.TO_SHIP:
        return [status.in_(tuple(SHIPPABLE_STATUSES)), fulfillment == FulfillmentStatus.UNFULFILLED]
    if tab == OrderTab.SHIPPED:
        return [fulfillment == FulfillmentStatus.SHIPPED]
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
    tab_counts: dict[OrderTab, int] = field(default_factory=dict)  # each tab's count under the other filters

    @property
    def page_count(self) -> int:
        return max(1, -(-self.total_count // self.page_size))


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


def status_clauses(
    filters: OrderFilters, tab: OrderTab | None = None, status: Any = None, fulfillment: Any = None
) -> list[Any]:
    """The part of the list's WHERE on status and shipping: the tab (`tab` overrides the filters' own), the
    chosen status and shipped-or-not; on the orders' columns or a grouped subquery's (see tab_clauses)."""
    tab = filters.tab if tab is None else tab
    status = col(Order.status) if status is None else status
    fulfillment = col(Order.fulfillment_status) if fulfillment is None else fulfillment
    # Under All, chosen statuses replace the tab's (so Pending or Expired can be listed); elsewhere they narrow it.
    where = [] if filters.statuses and tab == OrderTab.ALL else tab_clauses(tab, status, fulfillment)
    if filters.statuses:
        where.append(status.in_([OrderStatus(s) for s in filters.statuses]))
    if filters.fulfillment:
        where.append(fulfillment == filters.fulfillment)
    return where


def narrowing_clauses(filters: OrderFilters) -> list[Any]:
    """The rest of the list's WHERE: the dates and the search text."""
    where: list[Any] = []
    if filters.date_from:
        where.append(Order.created_at >= _day_start(filters.date_from))
    if filters.date_to:
        where.append(Order.created_at < _day_start(filters.date_to + timedelta(days=1)))
    text = filters.search.strip()[:200]
    if text:
        # One indexed look-up per kind of match (id, session, number) and the email's "contains" on its
        # covering index, instead of an OR that reads every row.
        matches = [
            sa.select(col(Order.id)).where(col(Order.id) == text),
            sa.select(col(Order.id)).where(col(Order.stripe_session_id) == text),
        ]
        number = text.upper().removeprefix("RX-").removeprefix("RX")
        if number and set(number) <= set(ORDER_NUMBER_ALPHABET):
            matches.append(sa.select(col(Order.id)).where(col(Order.number) == "RX-" + number))
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches.append(
            sa.select(col(Order.id)).where(contains_text(col(Order.customer_email), f"%{escaped}%"))
        )
        where.append(col(Order.id).in_(sa.union_all(*matches)))
    return where


def filter_clauses(filters: OrderFilters, tab: OrderTab | None = None) -> list[Any]:
    """The WHERE of the list (and its CSV); `tab` overrides the filters' own."""
    return status_clauses(filters, tab) + narrowing_clauses(filters)


def sort_clauses(sort: SortKey, descending: bool) -> list[Any]:
    """ORDER BY for a sort key, each one the prefix of a covering index (migration 0012). Ties go by date
    then id; a number is unique, so it needs only the id after it; a status sorts unshipped before shipped."""
    direction = sa.desc if descending else sa.asc
    sort = SortKey(sort)
    columns: list[Any]
    if sort == SortKey.NUMBER:
        columns = [Order.number, Order.id]
    elif sort == SortKey.STATUS:
        columns = [Order.status, Order.fulfillment_status, Order.created_at, Order.id]
    elif sort == SortKey.DATE:
        columns = [Order.created_at, Order.id]
    else:
        columns = [getattr(Order, sort.value), Order.created_at, Order.id]
    return [direction(c) for c in columns]


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
    with transaction(session):
        require_admin(session, admin, now)
        if problem := date_problem(filters):
            return AdminOrderPage((), 0, 0, page_size, problem, dict.fromkeys(OrderTab, 0))
        counts = count_tabs(session, filters)
        total = counts[filters.tab]  # the list is its tab's clauses under the same filters
        page = min(max(0, int(page)), max(0, -(-total // page_size) - 1))
        ids = page_ids(
            session,
            filter_clauses(filters),
            sort_clauses(sort, descending),
            page * page_size,
            page_size,
            total,
        )
        found = session.exec(
            select(Order).where(col(Order.id).in_(ids)).execution_options(populate_existing=True)
        ).all()
        by_id = {o.id: o for o in found}
        orders = [by_id[i] for i in ids if i in by_id]  # in the page's order
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
    return AdminOrderPage(rows, total, page, page_size, tab_counts=counts)


def count_tabs(session: Session, filters: OrderFilters = NO_FILTERS) -> dict[OrderTab, int]:
    """How many orders each tab holds under the other filters (one query; no sign-in check: callers do).

    The orders are grouped by status and shipping first (on a covering index: ~10 groups from 100,000 rows)
    and each tab's clauses are summed over the groups."""
    if date_problem(filters):
        return dict.fromkeys(OrderTab, 0)
    status, fulfillment = col(Order.status), col(Order.fulfillment_status)
    groups = (
        sa.select(status, fulfillment, sa.func.count().label("n"))
        .where(*narrowing_clauses(filters))
        .group_by(status, fulfillment)
        .subquery()
    )
    counts = [
        sa.func.coalesce(
            sa.func.sum(
                sa.case(
                    (
                        sa.and_(*status_clauses(filters, tab, groups.c.status, groups.c.fulfillment_status)),
                        groups.c.n,
                    ),
                    else_=0,
                )
            ),
            0,
        )
        for tab in OrderTab
    ]
    row = session.connection().execute(sa.select(*counts).select_from(groups)).one()
    return {tab: int(n) for tab, n in zip(OrderTab, row, strict=True)}


def tab_counts(
    *, session: Session, admin: str, filters: OrderFilters = NO_FILTERS, now: datetime | None = None
) -> dict[OrderTab, int]:
    """The count beside each tab of the order list."""
    with transaction(session):
        require_admin(session, admin, now)
        return count_tabs(session, filters)


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
