"""What a buyer reads about an order and about shipping: money lines, the address, tracking (pure text).

Kept apart from the UI so it is tested without a browser, and apart from the services so the words the
buyer sees are decided in one place (the return page, My Orders and the cart all use these).
"""

from __future__ import annotations

import re
from urllib.parse import quote

from rxshop.domain.catalog import CURRENCY, format_money
from rxshop.domain.shipping import RATES, rates_for

# Names of the countries a shop can plausibly ship to (SHIPPING_COUNTRIES); any other code shows as itself.
COUNTRY_NAMES: dict[str, str] = {
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IT": "Italy",
    "JP": "Japan",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "SE": "Sweden",
    "US": "United States",
}

# Carriers whose public tracking page takes the number in its URL. Anything else: the number as text only.
_TRACKING_URLS: dict[str, str] = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={}",
    "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
}
_TRACKING_NUMBER = re.compile(r"[A-Za-z0-9]{6,40}")


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())


def address_lines(
    *,
    name: str,
    line1: str,
    line2: str | None,
    city: str,
    state: str | None,
    postal_code: str,
    country: str,
) -> list[str]:
    """The address as a label prints it: name, street lines, city with postal code, region, country name.

    US and Canadian addresses put the postal code after city and state ("Portland, OR 97201"), most of
    Europe before the city ("75001 Paris"), the UK on its own line.
    """
    country = country.upper()
    if country in ("US", "CA"):
        region = " ".join(x for x in (state, postal_code) if x)
        town = [", ".join(x for x in (city, region) if x)]
    elif country == "GB":
        town = [city, state or "", postal_code]
    else:
        town = [" ".join(x for x in (postal_code, city) if x), state or ""]
    lines = [name, line1, line2 or "", *town, country_name(country) if country else ""]
    return [line.strip() for line in lines if line and line.strip()]


def money(amount: int, currency: str = CURRENCY) -> str:
    return format_money(amount, currency)


def shipping_amount_text(amount: int, currency: str = CURRENCY) -> str:
    """'Free' when nothing was charged for shipping, else the amount."""
    return "Free" if amount == 0 else format_money(amount, currency)


def discount_text(amount: int, currency: str = CURRENCY) -> str:
    """A discount as taken off the total: '−$4.30' (a real minus sign); '' when there was none."""
    return "\u2212" + format_money(amount, currency) if amount > 0 else ""


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


def shipping_summary(subtotal: int) -> str:
    """For the cart: each rate as this subtotal would be offered it at checkout, from the server's rates.

    'Shipping is added at checkout: Standard $5.00 (free from $50.00) or Express $15.00.'
    """
    offered = []
    for rate, option in zip(RATES, rates_for(subtotal), strict=True):
        if option.amount == 0:
            offered.append(f"{rate.name} free for this cart")
        elif rate.free_from is not None:
            offered.append(f"{rate.name} {money(option.amount)} (free from {money(rate.free_from)})")
        else:
            offered.append(f"{rate.name} {money(option.amount)}")
    if not offered:
        return ""
    listed = offered[0] if len(offered) == 1 else ", ".join(offered[:-1]) + " or " + offered[-1]
    return f"Shipping is added at checkout: {listed}."
