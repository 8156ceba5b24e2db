"""The catalog: three products with integer prices, lookups that refuse anything else, money formatting."""

import pytest

from rxshop.domain.catalog import CURRENCY, MAX_QUANTITY, PRODUCTS, UnknownProduct, format_money, get_product


def test_three_products_with_unique_ids_and_integer_prices():
    assert len(PRODUCTS) == 3
    assert len({p.id for p in PRODUCTS}) == 3
    for product in PRODUCTS:
        assert type(product.unit_amount) is int and product.unit_amount > 0
        assert product.name and product.description and product.image.startswith("/")
    assert CURRENCY == "usd" and MAX_QUANTITY == 20


@pytest.mark.parametrize("product", PRODUCTS, ids=lambda p: p.id)
def test_get_product_finds_each_product(product):
    assert get_product(product.id) is product


@pytest.mark.parametrize("bad", ["", "MUG", " mug", "mug ", "hat", None, 1, ("mug",)])
def test_get_product_refuses_anything_else(bad):
    with pytest.raises(UnknownProduct, match="not in the shop"):
        get_product(bad)


def test_get_product_refuses_unhashable_ids():
    with pytest.raises(UnknownProduct):
        get_product(["mug"])  # a browser can send a JSON list


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (0, "usd", "$0.00"),
        (5, "usd", "$0.05"),
        (1800, "usd", "$18.00"),
        (1250, "USD", "$12.50"),
        (123456789, "usd", "$1,234,567.89"),
        (-2400, "usd", "-$24.00"),
        (999, "eur", "€9.99"),
        (100, "gbp", "£1.00"),
        (4200, "chf", "42.00 CHF"),
        (10**20 + 1, "usd", "$1,000,000,000,000,000,000.01"),  # exact: no float anywhere
    ],
)
def test_format_money(amount, currency, text):
    assert format_money(amount, currency) == text
