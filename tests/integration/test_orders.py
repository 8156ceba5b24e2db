"""The orders a Buy writes (prices, lines), listing, finding and expiring them, on SQLite and PostgreSQL
(the Buy path's own rules: test_checkout_orders)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from rxshop.core.db import new_session
from rxshop.core.models import Order, OrderLine, new_order_id, new_order_number
from rxshop.domain.cart import Cart, CartLine, price_cart
from rxshop.domain.catalog import get_product
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.records import expire_stale_orders, list_orders
from tests.fixtures.db import bought_order, checkout_for, sample_cart, stored_order

VISITOR = "visitor-a"


def test_a_new_order_copies_prices_and_lines(session):
    order = bought_order(session, VISITOR, price_cart({"tote": 1, "mug": 2}), answered=False)
    assert re.fullmatch(r"ord_[0-9a-f]{24}", order.id)
    assert order.status == S.PENDING and order.visitor_id == VISITOR
    assert order.amount_total == 6000 and order.amount_refunded == 0 and order.currency == "usd"
    assert [(x.product_id, x.quantity, x.unit_amount) for x in order.lines] == [
        ("mug", 2, 1800),
        ("tote", 1, 2400),
    ]
    assert order.total_text == "$60.00" and order.refunded_text == "$0.00"
    assert order.stripe_session_id is None and order.paid_at is None

    stored = stored_order(session, order.id, VISITOR)
    assert stored == order  # what was planned is what was stored, timestamps included
    assert stored.created_at.tzinfo is not None and stored.created_at.utcoffset() == timedelta(0)


def test_order_ids_are_random(session):
    ids = {bought_order(session, f"visitor-{i}").id for i in range(20)}
    assert len(ids) == 20


def test_a_new_order_takes_prices_from_the_catalog_not_from_the_cart(session):
    mug = get_product("mug")
    forged = Cart(lines=(CartLine("mug", "Cheap mug", 1, 3),))
    order = bought_order(session, VISITOR, forged)
    assert order.amount_total == 3 * mug.unit_amount
    assert order.lines[0].name == mug.name and order.lines[0].unit_amount == mug.unit_amount


def test_an_empty_cart_is_not_an_order(session):
    with pytest.raises(ValueError, match="empty"):
        bought_order(session, VISITOR, price_cart({}))
    with pytest.raises(ValueError):
        bought_order(session, "")
    assert session.exec(select(Order)).all() == []


def test_one_unattached_pending_order_per_visitor_and_cart(session):
    """The database itself refuses a second one (two tabs pressing Buy at once share one order): the Buy
    path gives up the others first, so the second row is written here by hand."""
    cart = sample_cart()
    first = bought_order(session, VISITOR, cart, answered=False)
    with pytest.raises(IntegrityError):
        _copy_of(session, first.id)
    bought_order(session, VISITOR, price_cart({"mug": 5}), answered=False)  # another cart
    bought_order(session, "visitor-b", cart, answered=False)  # another visitor


def _copy_of(session, order_id):
    """The order's row again under a new id and number, written with the ORM."""
    row = session.exec(select(Order).where(Order.id == order_id)).one()
    values = {**row.model_dump(), "id": new_order_id(), "number": new_order_number()}
    try:
        session.add(Order(**values))
        session.commit()
    finally:
        session.rollback()


def test_expire_stale_orders(session):
    now = datetime.now(UTC)
    bought_then = now - timedelta(minutes=32)  # their sessions expired a minute ago
    paid = bought_order(session, VISITOR, at=bought_then)
    fulfill_checkout(session=session, checkout=checkout_for(paid))
    stale = bought_order(session, VISITOR, at=bought_then)
    fresh = bought_order(session, VISITOR)
    no_session = bought_order(session, VISITOR, price_cart({"mug": 5}), answered=False)

    expired = expire_stale_orders(session=session, now=now)
    assert [o.id for o in expired] == [stale.id] and expired[0].status == S.EXPIRED
    statuses = {o.id: o.status for o in list_orders(session=session, visitor_id=VISITOR).orders}
    assert statuses == {stale.id: S.EXPIRED, fresh.id: S.PENDING, paid.id: S.PAID, no_session.id: S.PENDING}
    assert expire_stale_orders(session=session, now=now) == []


def test_list_orders_pages_newest_first_with_lines(session):
    # A visitor's orders over two days, an hour apart: each bought once the one before had expired (an
    # open checkout of the same cart is handed back to the next Buy, and past five more are refused).
    start = datetime.now(UTC) - timedelta(days=2)
    made = [
        bought_order(session, VISITOR, price_cart({"mug": 1 + i % 3}), at=start + timedelta(hours=i))
        for i in range(25)
    ]
    bought_order(session, "visitor-b")

    first = list_orders(session=session, visitor_id=VISITOR, limit=10)
    second = list_orders(session=session, visitor_id=VISITOR, offset=10, limit=10)
    last = list_orders(session=session, visitor_id=VISITOR, offset=20, limit=10)
    assert (first.total, second.total, last.total) == (25, 25, 25)
    assert [len(page.orders) for page in (first, second, last)] == [10, 10, 5]
    listed = [o for page in (first, second, last) for o in page.orders]
    assert sorted(o.id for o in listed) == sorted(o.id for o in made)  # each once, nobody else's
    assert [o.created_at for o in listed] == sorted((o.created_at for o in listed), reverse=True)
    assert listed[0].id == made[-1].id
    by_id = {o.id: o for o in made}
    assert all(o.lines == by_id[o.id].lines and o.lines for o in listed)
    assert list_orders(session=session, visitor_id="nobody").orders == ()


def test_list_orders_reads_a_page_in_two_queries(session):
    """My Orders' read (every page turn, every live push): the page with its total, then its lines."""
    import sqlalchemy as sa

    from rxshop.domain.lifecycle import LISTED_STATUSES

    for i in range(23):
        fulfill_checkout(
            session=session,
            checkout=checkout_for(bought_order(session, VISITOR, price_cart({"mug": 1 + i % 2}))),
        )
    bought_order(session, VISITOR)  # pending: not listed
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        pages = [
            list_orders(session=session, visitor_id=VISITOR, offset=o, limit=20, statuses=LISTED_STATUSES)
            for o in (0, 20)
        ]
        assert len(statements) == 4, statements  # 2 per page
        assert [len(p.orders) for p in pages] == [20, 3] and {p.total for p in pages} == {23}
        assert all(o.lines and o.status == S.PAID for p in pages for o in p.orders)
        statements.clear()
        past_end = list_orders(session=session, visitor_id=VISITOR, offset=40, statuses=LISTED_STATUSES)
        assert (past_end.orders, past_end.total) == ((), 23) and len(statements) == 2  # page, count
        statements.clear()
        assert list_orders(session=session, visitor_id="nobody").total == 0 and len(statements) == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_get_order_is_only_for_its_visitor(session):
    order = bought_order(session, VISITOR)
    assert stored_order(session, order.id, VISITOR) == order
    assert stored_order(session, order.id, "visitor-b") is None
    assert stored_order(session, "ord_missing", VISITOR) is None


def test_lines_need_an_existing_order(engine):
    # the foreign key is enforced on SQLite too (PRAGMA foreign_keys=ON in the connect listener)
    from sqlalchemy.exc import IntegrityError

    with new_session(engine) as session:
        session.add(
            OrderLine(
                order_id="ord_missing", product_id="mug", name="Morning Mug", unit_amount=1800, quantity=1
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()
