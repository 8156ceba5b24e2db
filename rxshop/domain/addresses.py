"""A shipping address: one type from Stripe's wire to the order row and every page, and ONE way to print it
per country, so the buyer's pages, the owner's pages and a label all read the same (pure)."""

from __future__ import annotations

from dataclasses import dataclass

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


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())


@dataclass(frozen=True, slots=True)
class ShippingAddress:
    """Where the buyer asked Stripe to ship (Stripe's collected_information.shipping_details)."""

    name: str
    line1: str
    line2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str  # ISO 3166-1 alpha-2

    @property
    def lines(self) -> tuple[str, ...]:
        """The address as a label prints it: name, street lines, city with postal code, region, country name.

        US and Canadian addresses put the postal code after city and state ("Portland, OR 97201"), most of
        Europe before the city ("75001 Paris"), the UK on its own line. Empty parts are left out.
        """
        country = self.country.upper()
        if country in ("US", "CA"):
            region = " ".join(x for x in (self.state, self.postal_code) if x)
            town = [", ".join(x for x in (self.city, region) if x)]
        elif country == "GB":
            town = [self.city, self.state or "", self.postal_code]
        else:
            town = [" ".join(x for x in (self.postal_code, self.city) if x), self.state or ""]
        lines = [self.name, self.line1, self.line2 or "", *town, country_name(country) if country else ""]
        return tuple(line.strip() for line in lines if line and line.strip())
