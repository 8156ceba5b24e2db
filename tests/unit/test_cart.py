"""Cart rules: every bad quantity is refused with one message; prices come from the catalog only."""

import pytest

from rxshop.domain.cart import (
    QUANTITY_MESSAGE,
    Cart,
    CartLine,
    InvalidQuantity,
    parse_quantity,
    price_cart,
    set_quantity,
)
from rxshop.domain.catalog import CURRENCY, MAX_QUANTITY, PRODUCTS, UnknownProduct, get_product

MUG, TOTE, NOTEBOOK = (get_product(i) for i in ("mug", "tote", "notebook"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, 0),
        (1, 1),
        (MAX_QUANTITY, MAX_QUANTITY),
        ("0", 0),
        ("7", 7),
        (" 7 ", 7),
        ("\t3\n", 3),
        ("007", 7),
        ("20", 20),
    ],
)
def test_parse_quantity_accepts_whole_numbers_in_range(raw, expected):
    assert parse_quantity(raw) == expected
    assert type(parse_quantity(raw)) is int


@pytest.mark.parametrize(
    "raw",
    [
        True,
        False,  # bool is an int subclass: still not a quantity
        1.0,
        2.5,
        float("nan"),
        float("inf"),
        -1,
        MAX_QUANTITY + 1,
        10**100,
        "-1",
        "+1",
        "21",
        "100",
        "1.0",
        "1e1",
        "1_0",
        "0x1",
        "1 2",
        "one",
        "",
        "   ",
        "²",
        "١",
        "３",  # Unicode digits that str.isdigit() accepts
        "9" * 10_000,
        "0" * 10_000 + "1",  # huge strings never reach int()
        None,
        [],
        [1],
        {},
        b"1",
        object(),
    ],
    ids=repr,
)
def test_parse_quantity_refuses_everything_else(raw):
    with pytest.raises(InvalidQuantity) as info:
        parse_quantity(raw)
    assert str(info.value) == QUANTITY_MESSAGE == "Quantity must be a whole number from 0 to 20."
    assert isinstance(info.value, ValueError)


def test_price_cart_prices_from_catalog_in_catalog_order_and_drops_zero_lines():
    cart = price_cart({"notebook": 3, "tote": 0, "mug": 2})
    assert [line.product_id for line in cart.lines] == ["mug", "notebook"]  # catalog order, tote dropped
    assert cart.lines[0] == CartLine("mug", MUG.name, MUG.unit_amount, 2)
    assert cart.lines[1].subtotal == 3 * NOTEBOOK.unit_amount
    assert cart.total == 2 * MUG.unit_amount + 3 * NOTEBOOK.unit_amount
    assert cart.item_count == 5
    assert cart.currency == CURRENCY
    assert not cart.is_empty
    assert all(type(line.subtotal) is int for line in cart.lines)


def test_price_cart_accepts_quantities_as_strings_from_a_form():
    assert price_cart({"tote": " 4 "}).total == 4 * TOTE.unit_amount


def test_empty_carts():
    for quantities in ({}, {"mug": 0, "tote": 0, "notebook": 0}):
        cart = price_cart(quantities)
        assert cart.is_empty and cart.total == 0 and cart.item_count == 0 and cart.lines == ()


def test_price_cart_biggest_order_is_exact():
    cart = price_cart({p.id: MAX_QUANTITY for p in PRODUCTS})
    assert cart.total == MAX_QUANTITY * sum(p.unit_amount for p in PRODUCTS)


@pytest.mark.parametrize("quantities", [{"hat": 1}, {"": 1}, {None: 1}, {"mug": 1, "MUG": 1}])
def test_price_cart_refuses_unknown_products(quantities):
    with pytest.raises(UnknownProduct):
        price_cart(quantities)


@pytest.mark.parametrize("bad", [-1, 21, 1.5, True, "x", None])
def test_price_cart_refuses_bad_quantities(bad):
    with pytest.raises(InvalidQuantity):
        price_cart({"mug": 1, "tote": bad})


def test_fingerprint_names_exactly_what_is_bought_at_which_price():
    a = price_cart({"mug": 2, "tote": 1})
    assert a.fingerprint() == price_cart({"tote": 1, "mug": 2, "notebook": 0}).fingerprint()  # order, zeros
    assert a.fingerprint() == price_cart({"mug": 2, "tote": 1}).fingerprint()  # stable across calls
    others = {
        price_cart({"mug": 3, "tote": 1}).fingerprint(),
        price_cart({"mug": 2}).fingerprint(),
        price_cart({"mug": 2, "tote": 1, "notebook": 1}).fingerprint(),
        price_cart({"mug": 1, "tote": 2}).fingerprint(),
        # the same quantities at another price (the catalog changed) are not the same cart
        Cart(
            lines=(
                CartLine("mug", MUG.name, MUG.unit_amount + 1, 2),
                CartLine("tote", TOTE.name, TOTE.unit_amount, 1),
            )
        ).fingerprint(),
        Cart(lines=a.lines, currency="eur").fingerprint(),
    }
    assert a.fingerprint() not in others and len(others) == 6
    assert price_cart({}).fingerprint() != a.fingerprint()


def test_set_quantity_returns_a_new_dict_and_leaves_the_input_alone():
    before = {"mug": 2}
    after = set_quantity(before, "tote", "3")
    assert after == {"mug": 2, "tote": 3}
    assert before == {"mug": 2} and after is not before
    assert set_quantity(after, "mug", 5) == {"mug": 5, "tote": 3}


def test_set_quantity_zero_removes_the_line():
    before = {"mug": 2, "tote": 1}
    assert set_quantity(before, "mug", 0) == {"tote": 1}
    assert set_quantity(before, "notebook", "0") == before
    assert before == {"mug": 2, "tote": 1}


@pytest.mark.parametrize(
    ("product_id", "raw", "error"),
    [
        ("hat", 1, UnknownProduct),
        ("mug", -1, InvalidQuantity),
        ("mug", "21", InvalidQuantity),
        ("mug", 2.0, InvalidQuantity),
    ],
)
def test_set_quantity_refuses_bad_input_without_touching_the_cart(product_id, raw, error):
    before = {"mug": 2}
    with pytest.raises(error):
        set_quantity(before, product_id, raw)
    assert before == {"mug": 2}
