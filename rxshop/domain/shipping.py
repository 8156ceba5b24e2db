"""Shipping rates, defined beside the catalog (integer minor units), and what a cart is offered (pure).

The server decides every amount: Checkout gets `shipping_rate_data` built from these, and fulfillment checks
the rate Stripe reports against the offer stored on the order when it was created.
"""

from __future__ import annotations

from dataclasses import dataclass

from rxshop.domain.cart import Cart


@dataclass(frozen=True)
class ShippingRate:
    id: str  # ours, stable: stored on orders and sent to Stripe in the rate's metadata
    name: str  # what the buyer sees on Stripe's page
    amount: int  # minor units of CURRENCY
    min_days: int  # business days, for Stripe's delivery estimate
    max_days: int
    free_from: int | None = None  # a subtotal (minor units) from which this rate costs nothing

    def amount_for(self, subtotal: int) -> int:
        return 0 if self.free_from is not None and subtotal >= self.free_from else self.amount


RATES: tuple[ShippingRate, ...] = (
    ShippingRate(id="standard", name="Standard", amount=500, min_days=3, max_days=5, free_from=5000),
    ShippingRate(id="express", name="Express", amount=1500, min_days=1, max_days=2),
)


@dataclass(frozen=True)
class ShippingOption:
    """One rate as offered to one cart: the amount is already decided (free or not)."""

    rate_id: str
    name: str
    amount: int
    min_days: int
    max_days: int


def rates_for(cart: Cart | int) -> tuple[ShippingOption, ...]:
    """The options offered for this cart (or subtotal), in the order Checkout shows them (the first is chosen)."""
    subtotal = cart if isinstance(cart, int) else cart.total
    return tuple(ShippingOption(r.id, r.name, r.amount_for(subtotal), r.min_days, r.max_days) for r in RATES)


def encode_offer(options: tuple[ShippingOption, ...]) -> str:
    """The offer as stored on an order: 'standard:0:Standard,express:1500:Express' (ids and names have no ':' or ',')."""
    return ",".join(f"{o.rate_id}:{o.amount}:{o.name}" for o in options)


def decode_offer(text: str | None) -> tuple[tuple[str, int, str], ...]:
    """(rate_id, amount, name) per stored option; () for an order made before shipping existed."""
    if not text:
        return ()
    parts = (item.split(":", 2) for item in text.split(","))
    return tuple((rate_id, int(amount), name) for rate_id, amount, name in parts)
