"""The thin Reflex states refuse bad arguments from the browser: a clear message and nothing changes.

Any browser can call any public handler with any arguments, so these call them directly, like a forged
websocket event would.
"""

import pytest

from rxshop.state.cart import CartState


@pytest.fixture
def cart() -> CartState:
    state = CartState(_reflex_internal_init=True)
    state.set_quantity("mug", "2")
    assert state.quantities == {"mug": 2} and state.notice == ""
    return state


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
def test_bad_quantity_input_changes_nothing_and_says_why(cart, product_id, value):
    cart.set_quantity(product_id, value)
    assert cart.quantities == {"mug": 2}
    assert cart.notice  # a readable message, shown and announced
    assert "Traceback" not in cart.notice


def test_typing_updates_lines_and_total(cart):
    cart.set_quantity("notebook", " 1 ")
    assert cart.quantities == {"mug": 2, "notebook": 1}
    assert cart.total_label == "$48.50"
    assert cart.subtotals == {"mug": "$36.00", "tote": "$0.00", "notebook": "$12.50"}
    cart.set_quantity("mug", "")  # a cleared field means none
    assert cart.quantities == {"notebook": 1} and cart.is_empty is False


def test_steps_stay_within_zero_and_the_maximum(cart):
    cart.decrement("tote")
    assert cart.counts["tote"] == 0
    for _ in range(25):
        cart.increment("mug")
    assert cart.counts["mug"] == 20
    cart.increment("nope")
    assert cart.notice and cart.counts["mug"] == 20


def test_forged_cart_values_never_price_from_the_browser(cart):
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


@pytest.mark.parametrize("page", ["1", -1, 1.0, True, None, 1, 10**9])
async def test_a_forged_page_number_changes_nothing(page):
    """One page of orders (none yet): every other page number, and every non-integer, is refused."""
    from rxshop.state.orders import OrdersState

    state = OrdersState(_reflex_internal_init=True)
    await state.go_to_page(page)
    assert state.page == 0 and state.orders == []
