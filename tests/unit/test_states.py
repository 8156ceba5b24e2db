"""The thin Reflex states refuse bad arguments from the browser: a clear message and nothing changes.

Any browser can call any public handler with any arguments, so these call them directly, like a forged
websocket event would.
"""

import pytest

from rxshop.state.cart import NOT_READY, CartState


@pytest.mark.parametrize(
    ("handler", "arguments"),
    [
        ("set_quantity", ("mug", "2")),
        ("increment", ("mug",)),
        ("decrement", ("tote",)),
        ("clear", ()),
    ],
)
async def test_a_tab_without_a_credential_changes_no_cart(handler, arguments):
    """No visitor, no cart: the handler says so and never reaches the database (the rules of the cart
    itself are the server's: tests/integration/test_carts.py)."""
    cart = CartState(_reflex_internal_init=True)
    await getattr(cart, handler)(*arguments)
    assert cart.notice == NOT_READY and cart.quantities == {}


def test_forged_cart_values_never_price_from_the_browser():
    # Prices come from the catalog only: the state has no price anywhere the browser could set.
    assert set(CartState.get_fields()) >= {"quantities", "notice"}
    assert not any("price" in name or "amount" in name for name in CartState.get_fields())


def test_unexpected_errors_reach_the_browser_as_a_plain_sentence(caplog):
    from rxshop.rxshop import show_friendly_error

    try:
        raise KeyError("orders.secret_column")
    except KeyError as err:
        event = show_friendly_error(err)
    shown = str(event)
    assert "Something went wrong on our side" in shown
    assert "KeyError" not in shown and "secret_column" not in shown and "Traceback" not in shown
    assert "secret_column" in caplog.text  # the details are in the log


def test_importing_the_app_wires_nothing_until_it_starts():
    """Live pushes are connected by the running app's start-up, so tests and tools can import it freely."""
    import rxshop.rxshop
    from rxshop.core import notify
    from rxshop.state import live

    assert notify._listeners == [] and live._app is None
    assert live.start_live_updates in rxshop.rxshop.app._lifespan_tasks
    from rxshop.state import cart

    assert cart._app is None and cart.start_cart_sync in rxshop.rxshop.app._lifespan_tasks


@pytest.mark.parametrize("page", ["1", -1, 1.0, True, None, 1, 10**9])
async def test_a_forged_page_number_changes_nothing(page):
    """One page of orders (none yet): every other page number, and every non-integer, is refused."""
    from rxshop.state.orders import OrdersState

    state = OrdersState(_reflex_internal_init=True)
    await state.go_to_page(page)
    assert state.page == 0 and state.orders == []
