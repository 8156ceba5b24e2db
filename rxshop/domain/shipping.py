"""Shipping rates, defined beside the catalog (integer minor units), what a cart is offered, the cart's
note about them, and carriers' tracking links (pure).

The server decides every amount: Checkout gets `shipping_rate_data` built from these, and fulfillment checks
the rate Stripe reports against the offer stored on the order when it was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from rxshop.domain.cart import Cart
from rxshop.domain.catalog import format_money


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


_RATES_BY_ID = {r.id: r for r in RATES}


@dataclass(frozen=True, slots=True)
class ShippingOption:
    """One rate as offered to one cart, its amount decided (free or not): what Checkout is sent, what the
    order stores (`encode_offer`), and what fulfillment checks the rate Stripe reports against."""

    rate_id: str
    name: str
    amount: int

    @property
    def rate(self) -> ShippingRate | None:
        """The rate it was offered from, while the shop still has it (for Stripe's delivery estimate)."""
        return _RATES_BY_ID.get(self.rate_id)


def rates_for(cart: Cart | int) -> tuple[ShippingOption, ...]:
    """The options offered for this cart (or subtotal), in the order Checkout shows them (the first is chosen)."""
    subtotal = cart if isinstance(cart, int) else cart.total
    return tuple(ShippingOption(r.id, r.name, r.amount_for(subtotal)) for r in RATES)


# The offer as stored on an order (orders.shipping_offer), written and read only here:
# 'standard:0:Standard,express:1500:Express' (ids and names have no ':' or ',').


def encode_offer(options: tuple[ShippingOption, ...]) -> str:
    return ",".join(f"{o.rate_id}:{o.amount}:{o.name}" for o in options)


def decode_offer(text: str | None) -> tuple[ShippingOption, ...]:
    """The stored offer, in the order offered; () for an order made before shipping existed."""
    if not text:
        return ()
    parts = (item.split(":", 2) for item in text.split(","))
    return tuple(ShippingOption(rate_id, name, int(amount)) for rate_id, amount, name in parts)


def shipping_summary(subtotal: int) -> str:
    """For the cart: each rate as this subtotal would be offered it at checkout, from the server's rates.

    'Shipping is added at checkout: Standard $5.00 (free from $50.00) or Express $15.00.'
    """
    offered = []
    for rate, option in zip(RATES, rates_for(subtotal), strict=True):
        if option.amount == 0:
            offered.append(f"{rate.name} free for this cart")
        elif rate.free_from is not None:
            offered.append(
                f"{rate.name} {format_money(option.amount)} (free from {format_money(rate.free_from)})"
            )
        else:
            offered.append(f"{rate.name} {format_money(option.amount)}")
    if not offered:
        return ""
    listed = offered[0] if len(offered) == 1 else ", ".join(offered[:-1]) + " or " + offered[-1]
    return f"Shipping is added at checkout: {listed}."


# Carriers whose public tracking page takes the number in its URL. Anything else: the number as text only.
_TRACKING_URLS: dict[str, str] = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
}
_TRACKING_NUMBER = re.compile(r"[A-Za-z0-9]{6,40}")


def tracking_url(carrier: str | None, tracking_number: str | None) -> str:
    """The carrier's tracking page for this number, or '' when the carrier is unknown or the number is not
    plain letters and digits (it is then shown as text only: nothing the owner typed becomes a URL part
    that could change where the link goes)."""
    if not carrier or not tracking_number:
        return ""
    template = _TRACKING_URLS.get(" ".join(carrier.lower().split()))
    number = tracking_number.strip()
    if template is None or not _TRACKING_NUMBER.fullmatch(number):
        return ""
    return template.format(quote(number, safe=""))
