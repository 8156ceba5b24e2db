"""The visitor's cart on the server (rxshop.orders.carts), on SQLite and PostgreSQL: the quantity rules of
the shop, one cart per visitor, changes from several tabs at once all counted, and emptied only when the
order made from it is paid (through the real fulfillment), never by anything else."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rxshop.core.db import new_session
from rxshop.core.models import VisitorCart
from rxshop.domain.cart import InvalidQuantity, price_cart
from rxshop.domain.catalog import MAX_QUANTITY, UnknownProduct
from rxshop.domain.identity import new_visitor_id
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders import carts
from rxshop.orders.fulfillment import fulfill_checkout
from tests.fixtures.db import bought_order, checkout_for


@pytest.fixture
def visitor() -> str:
    return new_visitor_id()


def test_quantities_are_set_stepped_and_cleared(session, visitor):
    assert carts.read_cart(session=session, visitor_id=visitor) == {}
    assert carts.set_quantity(session=session, visitor_id=visitor, product_id="tote", quantity="2") == {
        "tote": 2
    }
    assert carts.step_quantity(session=session, visitor_id=visitor, product_id="mug", delta=1) == {
        "mug": 1,
        "tote": 2,
    }  # catalog order
    carts.step_quantity(session=session, visitor_id=visitor, product_id="mug", delta=-1)
    carts.step_quantity(session=session, visitor_id=visitor, product_id="mug", delta=-1)  # stays at 0
    assert carts.read_cart(session=session, visitor_id=visitor) == {"tote": 2}
    carts.set_quantity(session=session, visitor_id=visitor, product_id="notebook", quantity=MAX_QUANTITY)
    after = carts.step_quantity(session=session, visitor_id=visitor, product_id="notebook", delta=1)
    assert after["notebook"] == MAX_QUANTITY
    assert carts.set_quantity(session=session, visitor_id=visitor, product_id="tote", quantity=0) == {
        "notebook": MAX_QUANTITY
    }
    assert carts.clear_cart(session=session, visitor_id=visitor) == {}
    assert carts.read_cart(session=session, visitor_id=visitor) == {}


@pytest.mark.parametrize(
    ("product_id", "value"),
    [
        ("mug", "21"),
        ("mug", "-1"),
        ("mug", "2.5"),
        ("mug", "abc"),
        ("mug", 1.5),
        ("mug", True),
        ("mug", None),
        ("mug", "9" * 50),
        ("hat", "1"),
        ("", "1"),
        (None, "1"),
        (["mug"], "1"),
        ({"id": "mug"}, 1),
    ],
)
def test_what_the_shop_does_not_accept_changes_nothing(session, visitor, product_id, value):
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=2)
    with pytest.raises((InvalidQuantity, UnknownProduct)) as refused:
        carts.set_quantity(session=session, visitor_id=visitor, product_id=product_id, quantity=value)
    assert "Traceback" not in str(refused.value) and str(refused.value)
    with pytest.raises((InvalidQuantity, UnknownProduct)):
        carts.step_quantity(session=session, visitor_id=visitor, product_id=product_id, delta=value)
    assert carts.read_cart(session=session, visitor_id=visitor) == {"mug": 2}


@pytest.mark.parametrize("visitor_id", ["", "visitor-a", "0" * 31, "G" * 32, None])
def test_there_is_no_cart_without_a_visitor(session, visitor_id):
    for call in (
        lambda: carts.read_cart(session=session, visitor_id=visitor_id),
        lambda: carts.set_quantity(session=session, visitor_id=visitor_id, product_id="mug", quantity=1),
        lambda: carts.clear_cart(session=session, visitor_id=visitor_id),
    ):
        with pytest.raises(carts.NoVisitor):
            call()
    assert session.exec(sa.text("SELECT count(*) FROM cart_lines")).one()[0] == 0


def test_each_visitor_has_a_cart_of_their_own(session, visitor):
    other = new_visitor_id()
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=3)
    carts.set_quantity(session=session, visitor_id=other, product_id="tote", quantity=1)
    carts.clear_cart(session=session, visitor_id=other)
    assert carts.read_cart(session=session, visitor_id=visitor) == {"mug": 3}
    assert carts.read_cart(session=session, visitor_id=other) == {}


def test_steps_from_many_tabs_at_once_all_count(engine, visitor):
    """Each tab's event runs in its own session and thread (as `in_session` runs them on PostgreSQL)."""

    def press(_: int) -> None:
        with new_session(engine) as session:
            carts.step_quantity(session=session, visitor_id=visitor, product_id="mug", delta=1)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(press, range(MAX_QUANTITY)))
    with new_session(engine) as session:
        assert carts.read_cart(session=session, visitor_id=visitor) == {"mug": MAX_QUANTITY}


def test_a_product_the_catalog_no_longer_sells_is_left_out(session, visitor):
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=1)
    session.exec(
        sa.text("INSERT INTO cart_lines (visitor_id, product_id, quantity) VALUES (:v, 'hat', 2)"),
        params={"v": visitor},
    )
    session.commit()
    assert carts.read_cart(session=session, visitor_id=visitor) == {"mug": 1}


def _buy(session, visitor: str, quantities: dict[str, int], *, paid: bool = True, processing: bool = False):
    """Buy as the shop does (the order from this cart), then Stripe's answer through the real fulfillment."""
    order = bought_order(session, visitor, price_cart(quantities))
    if paid or processing:
        checkout = checkout_for(order, payment_status="unpaid") if processing else checkout_for(order)
        result = fulfill_checkout(session=session, checkout=checkout, visitor_id=visitor)
        assert result.order.status == (S.PROCESSING if processing else S.PAID)
    return order


def test_the_cart_is_emptied_once_the_order_made_from_it_is_paid(session, visitor):
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=2)
    carts.set_quantity(session=session, visitor_id=visitor, product_id="tote", quantity=1)
    _buy(session, visitor, {"mug": 2, "tote": 1})
    assert carts.read_cart(session=session, visitor_id=visitor) == {}
    assert session.exec(sa.text("SELECT count(*) FROM carts")).one()[0] == 0
    assert session.exec(sa.text("SELECT count(*) FROM cart_lines")).one()[0] == 0  # its lines went too


def test_the_cart_stays_until_then(session, visitor):
    carts.set_quantity(session=session, visitor_id=visitor, product_id="notebook", quantity=2)
    _buy(session, visitor, {"notebook": 2}, paid=False)  # on Stripe's page
    assert carts.read_cart(session=session, visitor_id=visitor) == {"notebook": 2}
    _buy(session, visitor, {"notebook": 1}, processing=True)  # another order, a delayed payment
    assert carts.read_cart(session=session, visitor_id=visitor) == {"notebook": 2}
    _buy(session, new_visitor_id(), {"notebook": 2})  # another visitor's order of the same lines
    assert carts.read_cart(session=session, visitor_id=visitor) == {"notebook": 2}
    _buy(session, visitor, {"notebook": 2, "mug": 1})  # other lines: the cart changed while on Stripe's page
    assert carts.read_cart(session=session, visitor_id=visitor) == {"notebook": 2}


def test_a_cart_filled_again_after_a_payment_is_kept(session, visitor):
    """The old order's return page, opened again, reads the cart too: it must not empty the new one,
    even when the buyer picked the very same things again."""
    carts.set_quantity(session=session, visitor_id=visitor, product_id="tote", quantity=1)
    _buy(session, visitor, {"tote": 1})
    assert carts.read_cart(session=session, visitor_id=visitor) == {}
    carts.set_quantity(session=session, visitor_id=visitor, product_id="tote", quantity=1)
    assert carts.read_cart(session=session, visitor_id=visitor) == {"tote": 1}
    assert carts.read_cart(session=session, visitor_id=visitor) == {"tote": 1}


def test_a_cart_untouched_for_its_lifetime_is_forgotten(session, visitor):
    fresh = new_visitor_id()
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=1)
    carts.set_quantity(session=session, visitor_id=fresh, product_id="mug", quantity=1)
    long_ago = datetime.now(UTC) - carts.CART_LIFETIME - timedelta(minutes=1)
    session.exec(sa.update(VisitorCart).where(VisitorCart.visitor_id == visitor).values(updated_at=long_ago))
    session.commit()
    assert carts.forget_abandoned_carts(session=session, now=datetime.now(UTC)) == 1
    assert carts.read_cart(session=session, visitor_id=visitor) == {}
    assert carts.read_cart(session=session, visitor_id=fresh) == {"mug": 1}
    assert session.exec(sa.text("SELECT count(*) FROM cart_lines")).one()[0] == 1


def test_reads_of_several_carts_in_one_session_answer_each_visitor_alone(session, visitor):
    """read_carts (a burst of Buys and page loads in one session): each visitor gets their own cart, a
    bought cart is emptied as read_cart would, and a bad credential fails for its caller only."""
    bought, empty = new_visitor_id(), new_visitor_id()
    carts.set_quantity(session=session, visitor_id=visitor, product_id="mug", quantity=3)
    carts.set_quantity(session=session, visitor_id=bought, product_id="tote", quantity=1)
    _buy(session, bought, {"tote": 1})
    results = carts.read_carts(
        session=session, visitor_ids=[visitor, "not-a-visitor", bought, empty, visitor]
    )
    assert results[0] == results[4] == {"mug": 3}
    assert isinstance(results[1], carts.NoVisitor)
    assert results[2] == results[3] == {}
    assert session.exec(sa.text("SELECT count(*) FROM carts")).one()[0] == 1  # the bought one went


async def test_fetch_cart_groups_the_reads_of_one_moment(app_env, session):
    """fetch_cart from async code (the app's database, as Buy reads it): 30 visitors' reads at once each
    get their own cart back."""
    app_env()
    visitors = [new_visitor_id() for _ in range(30)]
    for n, visitor in enumerate(visitors):
        carts.set_quantity(session=session, visitor_id=visitor, product_id="notebook", quantity=n % 5)
    got = await asyncio.gather(*(carts.fetch_cart(visitor) for visitor in visitors))
    assert got == [{"notebook": n % 5} if n % 5 else {} for n in range(30)]
    with pytest.raises(carts.NoVisitor):
        await carts.fetch_cart("not-a-visitor")
