"""The cart's quantity controls stop at what is free (the count read when the cart grows), on the server: a forged
event cannot put more in the visitor's cart (kept in the database) than the shop could hold for it. Buy
checks exactly (tests/integration/test_stock.py)."""

import time

import pytest
from reflex.istate.data import RouterData

from rxshop.core.db import new_session
from rxshop.domain.identity import COOKIE_NAME, issue_credential, new_visitor_id
from rxshop.domain.stock import StockLevel
from rxshop.orders import stock
from rxshop.state import live_stock
from rxshop.state.cart import CartState
from rxshop.state.live_stock import StockState


@pytest.fixture
def counted(app_env):
    """The shop's counts: 3 mugs for sale, totes sold out, notebooks not counted."""
    app_env()
    with new_session() as session:
        stock.set_stock(session=session, product_id="mug", tracked=True, quantity=3)
        stock.set_stock(session=session, product_id="tote", tracked=True, quantity=0)
    yield
    live_stock._levels.clear()


@pytest.fixture
def cart(app_env) -> CartState:
    """A tab's CartState whose websocket carries a new visitor's server-issued credential."""
    settings = app_env()
    credential = issue_credential(new_visitor_id(), key=settings.signing_key(), now=time.time())
    state = CartState(_reflex_internal_init=True)
    state.router = RouterData.from_router_data(
        {"headers": {"cookie": f"{COOKIE_NAME}={credential}"}, "token": "tab-1"}
    )
    return state


@pytest.mark.usefixtures("counted")
async def test_typed_and_stepped_quantities_stop_at_what_is_free(cart: CartState):
    await cart.set_quantity("mug", "7")
    assert cart.quantities == {"mug": 3} and cart.notice == "Only 3 left of Morning Mug."
    await cart.increment("mug")
    assert cart.quantities == {"mug": 3} and cart.notice == "Only 3 left of Morning Mug."
    await cart.decrement("mug")
    assert cart.quantities == {"mug": 2} and cart.notice == ""
    await cart.increment("tote")
    assert "tote" not in cart.quantities and cart.notice == "Canvas Tote is sold out."
    await cart.set_quantity("notebook", "20")
    assert cart.quantities == {"mug": 2, "notebook": 20} and cart.notice == ""
    await cart.load()  # what the server holds, as another tab reads it
    assert cart.quantities == {"mug": 2, "notebook": 20}


async def test_without_a_count_read_yet_the_cart_keeps_its_own_maximum(cart: CartState):
    await cart.set_quantity("mug", "20")
    assert cart.quantities == {"mug": 20}


def test_the_shop_tabs_get_badges_and_limits_and_only_what_changed_is_set():
    state = StockState(_reflex_internal_init=True)
    picture = live_stock.shown(
        (StockLevel("mug", True, 5, 2, 3), StockLevel("tote", True, 0), StockLevel("notebook"))
    )
    state._show(picture)
    assert state.badges == {"mug": "Only 3 left", "tote": "Sold out", "notebook": ""}
    assert state.left == {"mug": 3, "tote": 0, "notebook": 20}
    state.dirty_vars.clear()
    state._show(picture)
    assert not state.dirty_vars  # the same picture again sends nothing
