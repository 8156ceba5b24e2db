"""The owner's order list as its fast SQL shapes read it (rxshop.admin.list_sql, migration 0012), checked
against a plain reference: every page of every sort both ways (pages past the middle are read from the other
end), the total and each tab's count from the grouped query, and search by parts of an email whatever the
case, with LIKE's own characters taken literally. SQLite and PostgreSQL."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rxshop.admin.queries import OrderFilters, OrderTab, SortKey, count_tabs, list_orders
from rxshop.core.models import Order, utcnow
from rxshop.domain.lifecycle import LISTED_STATUSES, SHIPPABLE_STATUSES, OrderStatus
from rxshop.orders.fulfillment import fulfill_checkout
from tests.fixtures.db import bought_order, checkout_for, sample_cart
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor, signed_in_owner

START = utcnow().replace(microsecond=0) - timedelta(days=5)
STATUSES = ["paid", "paid", "partially_refunded", "refunded", "failed", "processing", "expired", "pending"]


@pytest.fixture
def admin(engine, app_env) -> str:
    app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)
    return signed_in_owner(engine, new_visitor())


@pytest.fixture
def orders(session) -> list[Order]:
    """23 paid orders through the production path, then given a spread of statuses, shipping, dates (some
    equal, so ties go by id), totals and emails."""
    rng = random.Random(7)
    made = []
    for i in range(23):
        order = bought_order(session, new_visitor(), sample_cart({"mug": 1 + i % 3}))
        assert fulfill_checkout(session=session, checkout=checkout_for(order)).outcome == "fulfilled"
        status = STATUSES[i % len(STATUSES)]
        values = {
            "status": status,
            "created_at": START + timedelta(hours=rng.choice((1, 2, 3, 5, 8))),
            "amount_total": rng.choice((1800, 3600, 5400)),
            "customer_email": f"{rng.choice(('Ann', 'bob', 'a_c', 'a%c'))}{i}@Example.com",
            "fulfillment_status": "shipped" if status == "paid" and i % 3 == 0 else "unfulfilled",
        }
        session.exec(sa.update(Order).where(Order.id == order.id).values(**values))
        made.append(order.id)
    session.commit()
    return list(session.exec(sa.select(Order).where(Order.id.in_(made))).scalars())  # type: ignore[attr-defined]


def _key(order: Order, sort: SortKey) -> tuple:
    if sort == SortKey.NUMBER:
        return (order.number, order.id)
    if sort == SortKey.STATUS:
        return (order.status, order.fulfillment_status, order.created_at, order.id)
    if sort == SortKey.DATE:
        return (order.created_at, order.id)
    return (getattr(order, sort.value), order.created_at, order.id)


@pytest.mark.parametrize("sort", list(SortKey))
@pytest.mark.parametrize("descending", [True, False])
def test_every_page_of_every_sort_matches_the_reference(session, admin, orders, sort, descending) -> None:
    listed = [o for o in orders if o.status in LISTED_STATUSES]
    expected = [o.id for o in sorted(listed, key=lambda o: _key(o, sort), reverse=descending)]
    pages = []
    for page in range(5):  # 4 per page: pages 3 and 4 are read from the end
        found = list_orders(
            session=session, admin=admin, sort=sort, descending=descending, page=page, page_size=4
        )
        assert found.total_count == len(listed) and found.page == page
        pages += [r.id for r in found.rows]
    assert pages == expected
    last = list_orders(session=session, admin=admin, sort=sort, descending=descending, page=99, page_size=4)
    assert [r.id for r in last.rows] == expected[-(len(expected) % 4 or 4) :]


def test_total_and_tab_counts_come_from_one_grouped_query(session, admin, orders) -> None:
    def where(tab: OrderTab, o: Order) -> bool:
        return {
            OrderTab.ALL: o.status in LISTED_STATUSES,
            OrderTab.AWAITING: o.status in (OrderStatus.PENDING, OrderStatus.PROCESSING),
            OrderTab.TO_SHIP: o.status in SHIPPABLE_STATUSES and o.fulfillment_status == "unfulfilled",
            OrderTab.SHIPPED: o.fulfillment_status == "shipped",
            OrderTab.REFUNDED: o.status in (OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED),
        }[tab]

    counts = count_tabs(session, OrderFilters())
    assert counts == {tab: sum(where(tab, o) for o in orders) for tab in OrderTab}
    for tab in OrderTab:
        page = list_orders(session=session, admin=admin, filters=OrderFilters(tab=tab), page_size=100)
        assert page.total_count == counts[tab] == len(page.rows) and page.tab_counts == counts
    paid = OrderFilters(tab=OrderTab.SHIPPED, statuses=(OrderStatus.PAID,))
    assert list_orders(session=session, admin=admin, filters=paid).total_count == sum(
        o.status == "paid" and o.fulfillment_status == "shipped" for o in orders
    )


def test_search_ignores_case_and_takes_like_characters_literally(session, admin, orders) -> None:
    def ids(text: str) -> set[str]:
        page = list_orders(
            session=session, admin=admin, filters=OrderFilters(statuses=(), search=text), page_size=100
        )
        return {r.id for r in page.rows}

    listed = [o for o in orders if o.status in LISTED_STATUSES]
    assert ids("ANN") == {o.id for o in listed if o.customer_email.lower().startswith("ann")}
    assert ids("a_c") == {o.id for o in listed if "a_c" in o.customer_email}  # `_` is not "any character"
    assert ids("a%c") == {o.id for o in listed if "a%c" in o.customer_email}
    some = listed[0]
    assert ids(some.number.lower()) == {some.id} and ids(some.id) == {some.id}
    assert ids(some.stripe_session_id) == {some.id}
