"""Cart rules: quantity parsing, pricing from the catalog, totals in integer minor units (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rxshop.domain.catalog import CURRENCY, MAX_QUANTITY, PRODUCTS, get_product

QUANTITY_MESSAGE = f"Quantity must be a whole number from 0 to {MAX_QUANTITY}."
# Enough for any valid quantity (leading zeros and all); longer input is rejected before int() sees it.
_MAX_QUANTITY_CHARS = 6


class InvalidQuantity(ValueError):
    """A quantity the buyer typed (or a browser sent) that the shop does not accept."""

    def __init__(self, message: str = QUANTITY_MESSAGE) -> None:
        super().__init__(message)


def parse_quantity(value: object) -> int:
    """An int in 0..MAX_QUANTITY from an int or a string of ASCII digits (surrounding spaces allowed).

    Browsers send anything: bools, floats, "1e3", "²", "-1", a megabyte of digits. All are refused with
    one buyer-readable message.
    """
    if isinstance(value, bool):
        raise InvalidQuantity()
    if isinstance(value, int):
        quantity = value
    elif isinstance(value, str):
        text = value.strip()
        # isascii() + isdigit(): str.isdigit alone accepts "²" and other Unicode digits.
        if not text or len(text) > _MAX_QUANTITY_CHARS or not (text.isascii() and text.isdigit()):
            raise InvalidQuantity()
        quantity = int(text)
    else:
        raise InvalidQuantity()
    if not 0 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity()
    return quantity


@dataclass(frozen=True)
class CartLine:
    product_id: str
    name: str
    unit_amount: int  # minor units, copied from the catalog
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_amount * self.quantity


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]
    currency: str = CURRENCY

    @property
    def total(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def fingerprint(self) -> str:
        """A stable text naming exactly what is bought at which price ("the same cart" test).

        Used to reuse an open Checkout Session for a second press of Buy; a price change in the catalog
        changes the fingerprint, so a stale session is never reused.
        """
        parts = [f"{line.product_id}x{line.quantity}@{line.unit_amount}" for line in self.lines]
        return f"{self.currency}:" + ",".join(parts)


def price_cart(quantities: Mapping[str, object]) -> Cart:
    """The priced cart for {product_id: quantity}: prices from the catalog, zero lines dropped, catalog order.

    Raises UnknownProduct or InvalidQuantity; the mapping comes from the browser and is never trusted.
    """
    checked: dict[str, int] = {}
    for product_id, raw in quantities.items():
        product = get_product(product_id)
        checked[product.id] = parse_quantity(raw)
    lines = tuple(
        CartLine(product_id=p.id, name=p.name, unit_amount=p.unit_amount, quantity=checked[p.id])
        for p in PRODUCTS
        if checked.get(p.id, 0) > 0
    )
    return Cart(lines=lines)


def set_quantity(quantities: Mapping[str, int], product_id: str, raw: object) -> dict[str, int]:
    """A new {product_id: quantity} with one product's quantity set (0 removes it); the input is untouched."""
    product = get_product(product_id)
    quantity = parse_quantity(raw)
    updated = dict(quantities)
    if quantity == 0:
        updated.pop(product.id, None)
    else:
        updated[product.id] = quantity
    return updated
