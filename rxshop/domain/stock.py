"""Stock rules (pure): what is free to sell, what the shop says about it, when the owner hears of it.

A tracked product has `quantity` units for sale (units held by open checkouts included; a sale takes them
off, shipping does not) and `reserved` of them held by open Checkout Sessions. What a new Buy may take is
`free = quantity - reserved`. An untracked product is never counted and never runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from rxshop.domain.catalog import MAX_QUANTITY, get_product

DEFAULT_LOW_THRESHOLD = 3
MAX_STOCK = 1_000_000  # what the owner may type: more is a typo
# What travels to every shop tab: counts above this are "plenty" (the cart stops at MAX_QUANTITY anyway),
# so a sale out of a large stock pushes nothing to the open tabs.
SHOWN_LIMIT = MAX_QUANTITY


class StockStatus(StrEnum):
    UNTRACKED = "untracked"
    IN_STOCK = "in_stock"
    LOW = "low"  # 1..low_threshold free: the shop says "Only N left"
    SOLD_OUT = "sold_out"

    @property
    def label(self) -> str:
        return {
            StockStatus.UNTRACKED: "Not tracked",
            StockStatus.IN_STOCK: "In stock",
            StockStatus.LOW: "Low",
            StockStatus.SOLD_OUT: "Sold out",
        }[self]


class ReservationStatus(StrEnum):
    """One product of one order (stock_reservations.status)."""

    HELD = "held"  # counted in stock.reserved while the Checkout Session may still be paid
    RELEASED = "released"  # the session expired, failed or was cancelled: back on the shelf
    SOLD = "sold"  # paid: taken off stock.quantity
    OVERSOLD = "oversold"  # paid while the units were not there: nothing taken, the owner decides
    RESTOCKED = "restocked"  # refunded and put back by the owner


@dataclass(frozen=True)
class StockLevel:
    """One product's stock as the database holds it (untracked products: tracked=False)."""

    product_id: str
    tracked: bool = False
    quantity: int = 0
    reserved: int = 0
    low_threshold: int = DEFAULT_LOW_THRESHOLD

    @property
    def free(self) -> int:
        """Units a new Buy may take (never negative: the owner may set fewer than are held)."""
        return max(0, self.quantity - self.reserved)

    @property
    def status(self) -> StockStatus:
        if not self.tracked:
            return StockStatus.UNTRACKED
        if self.free == 0:
            return StockStatus.SOLD_OUT
        return StockStatus.LOW if self.free <= self.low_threshold else StockStatus.IN_STOCK

    @property
    def orderable(self) -> int:
        """The most a cart may hold of it now (what the quantity controls allow)."""
        return min(self.free, MAX_QUANTITY) if self.tracked else MAX_QUANTITY

    @property
    def badge(self) -> str:
        """What the product card says: "Only 3 left", "Sold out", or nothing."""
        status = self.status
        if status == StockStatus.SOLD_OUT:
            return "Sold out"
        if status == StockStatus.LOW:
            return f"Only {self.free} left"
        return ""


def shown(levels: Sequence[StockLevel]) -> tuple[tuple[str, int, str], ...]:
    """What the shop's tabs show of these levels: (product, orderable, badge), in catalog order of input.

    Two snapshots that show the same are equal, so a change nobody can see is pushed to no tab."""
    return tuple((level.product_id, level.orderable, level.badge) for level in levels)


@dataclass(frozen=True)
class Shortage:
    """A product of a Buy that wants more than is free."""

    product_id: str
    wanted: int
    free: int

    @property
    def text(self) -> str:
        name = get_product(self.product_id).name
        if self.free <= 0:
            return f"{name} is sold out"
        return (
            f"only {self.free} {name} {'is' if self.free == 1 else 'are'} left (you asked for {self.wanted})"
        )


def shortage_message(shortages: Sequence[Shortage]) -> str:
    """The buyer's refusal: names each product short and what is left; nothing was charged or reserved."""
    parts = [s.text for s in shortages]
    text = "; ".join(parts)
    return (
        f"Sorry, {text}. Lower the quantity in your cart and press Buy again; nothing was charged."
        if parts
        else "Sorry, part of your cart has just sold out. Press Buy again to see what is left."
    )


def cart_limit_notice(product_id: str, orderable: int) -> str:
    """Why a quantity control stopped: "Only 3 left of Morning Mug." / "Morning Mug is sold out."."""
    name = get_product(product_id).name
    return f"{name} is sold out." if orderable <= 0 else f"Only {orderable} left of {name}."


def crossed_low(before: int, after: int, threshold: int) -> bool:
    """A sale took the count from above the threshold to at or below it: the owner hears of it once."""
    return before > threshold >= after


class InvalidStock(ValueError):
    """A count or threshold the owner typed that the shop does not accept; the message says why."""


def parse_count(value: object, *, what: str = "Stock") -> int:
    """A whole number 0..MAX_STOCK from an int or a string of ASCII digits (the owner's forms and the CLI)."""
    if isinstance(value, bool):
        raise InvalidStock(f"{what} must be a whole number from 0 to {MAX_STOCK:,}.")
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if not text or len(text) > 8 or not (text.isascii() and text.isdigit()):
            raise InvalidStock(f"{what} must be a whole number from 0 to {MAX_STOCK:,}.")
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= MAX_STOCK:
        raise InvalidStock(f"{what} must be a whole number from 0 to {MAX_STOCK:,}.")
    return value
