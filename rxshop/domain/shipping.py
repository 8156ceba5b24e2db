"""Shipping rates, defined beside the catalog (integer minor units), what a cart is offered, the cart's
note about them, carriers with their tracking number formats, and tracking links (pure).

The server decides every amount: Checkout gets `shipping_rate_data` built from these, and fulfillment checks
the rate Stripe reports against the offer stored on the order when it was created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
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


@lru_cache(maxsize=256)  # a few offers serve every order (the webhook decoded the same text twice an event)
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


# --- Carriers and their tracking numbers (the owner's "Mark shipped" form) ----------------------------------
# Lenient where carriers vary: spaces and dashes as printed on labels are dropped, letters are upper-cased,
# and each carrier accepts every format it currently prints (USPS has 20-22 digit and 13-character S10
# numbers; FedEx 12, 15, 20 or 22 digits; DHL Express 10 digits, DHL eCommerce/Parcel up to 39 characters
# starting GM/LX/RX/JJD or 3S). "Other" takes any 4-40 letters and digits: a carrier we do not know.


@dataclass(frozen=True)
class Carrier:
    id: str  # stored on the order as its name (orders.carrier), so older free-text carriers still read
    name: str
    pattern: re.Pattern[str]
    example: str  # what the owner is told a number looks like


_S10 = r"[A-Z]{2}\d{9}[A-Z]{2}"  # the UPU's international format (EMS, registered mail)
CARRIERS: tuple[Carrier, ...] = (
    Carrier("ups", "UPS", re.compile(r"1Z[A-Z0-9]{16}"), "1Z followed by 16 letters or digits"),
    Carrier("usps", "USPS", re.compile(rf"\d{{20,22}}|{_S10}"), "20 to 22 digits (or e.g. EA123456789US)"),
    Carrier("fedex", "FedEx", re.compile(r"\d{12}|\d{15}|\d{20}|\d{22}"), "12, 15 or 20 digits"),
    Carrier(
        "dhl",
        "DHL",
        re.compile(r"\d{10}|(?:JJD|GM|LX|RX|3S)[A-Z0-9]{8,37}"),
        "10 digits (DHL Express), or a DHL Parcel number such as JJD…",
    ),
    Carrier("royal mail", "Royal Mail", re.compile(r"[A-Z]{2}\d{9}GB"), "2 letters, 9 digits and GB"),
    Carrier("other", "Other", re.compile(r"[A-Z0-9]{4,40}"), "4 to 40 letters or digits"),
)
CARRIERS_BY_ID = {c.id: c for c in CARRIERS}


class TrackingRefused(ValueError):
    """A carrier or tracking number that cannot be right; the message says what is expected."""


def normalize_tracking(text: str) -> str:
    """'1z 999-aa1 0123456784' -> '1Z999AA10123456784': spaces and dashes dropped, upper case."""
    return re.sub(r"[\s-]+", "", text or "").upper()


def check_tracking(carrier_id: str, tracking_number: str) -> tuple[Carrier, str]:
    """(the carrier, the number as stored) or TrackingRefused with a message for the owner."""
    carrier = CARRIERS_BY_ID.get(" ".join(str(carrier_id or "").lower().split()))
    if carrier is None:
        raise TrackingRefused("Choose the carrier from the list.")
    number = normalize_tracking(str(tracking_number or ""))[:100]
    if not number:
        raise TrackingRefused("Enter the tracking number.")
    if not carrier.pattern.fullmatch(number):
        raise TrackingRefused(f"That is not a {carrier.name} tracking number: expected {carrier.example}.")
    return carrier, number


def carrier_id_of(name: str | None) -> str:
    """The list's id for a carrier stored on an order ('UPS' -> 'ups'); 'other' for a name not in the list."""
    key = " ".join((name or "").lower().split())
    return key if key in CARRIERS_BY_ID else "other"
