"""What the buyer enters on the hosted page (or sends to the control API's pay), checked like Checkout does.

One validator for both entry points, so a test paying through /_sim/.../pay meets the same rules as a
browser. Errors are per field, in the words the hosted page shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ().-]{7,25}$")
# Postal code formats for the countries shops most often ship to; elsewhere 2-10 letters, digits, spaces, dashes.
_POSTAL = {
    "US": re.compile(r"^\d{5}(-\d{4})?$"),
    "CA": re.compile(r"^[A-Za-z]\d[A-Za-z] ?\d[A-Za-z]\d$"),
    "GB": re.compile(r"^[A-Za-z]{1,2}\d[A-Za-z\d]? ?\d[A-Za-z]{2}$"),
    "DE": re.compile(r"^\d{5}$"),
    "FR": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^\d{4} ?[A-Za-z]{2}$"),
    "AU": re.compile(r"^\d{4}$"),
}
_POSTAL_ANY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$")

SHIPPING_FIELDS = ("name", "line1", "line2", "city", "state", "postal_code", "country")


@dataclass
class BuyerInput:
    email: str = ""
    name: str | None = None
    phone: str | None = None
    shipping: dict[str, Any] | None = (
        None  # {"name", "address": {line1, line2, city, state, postal_code, country}}
    )
    shipping_rate: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _text(value: Any, limit: int = 200) -> str:
    return str(value or "").strip()[:limit]


def check(
    session: dict[str, Any],
    *,
    email: Any,
    name: Any,
    phone: Any,
    shipping: dict[str, Any] | None,
    shipping_rate: Any,
) -> BuyerInput:
    """Validate against what the session collects; `shipping` is flat: name, line1, ..., country."""
    result = BuyerInput(email=session["customer_email"] or _text(email, 512), name=_text(name) or None)
    if not _EMAIL.match(result.email):
        result.errors["email"] = "Enter a valid email address, like name@example.com."
    if session["phone_number_collection"]["enabled"]:
        phone_text = _text(phone, 40)
        if not _PHONE.match(phone_text) or sum(c.isdigit() for c in phone_text) < 7:
            result.errors["phone"] = "Enter a valid phone number, like +1 415 555 0100."
        result.phone = phone_text
    collection = session["shipping_address_collection"]
    if collection:
        result.shipping = _shipping(shipping or {}, collection["allowed_countries"], result.errors)
    options = [o["shipping_rate"] for o in session["shipping_options"]]
    if options:
        chosen = _text(shipping_rate) or (session["shipping_cost"] or {}).get("shipping_rate") or options[0]
        if chosen not in options:
            result.errors["shipping_rate"] = "Choose one of the shipping options."
        result.shipping_rate = chosen
    return result


def _shipping(raw: dict[str, Any], allowed: list[str], errors: dict[str, str]) -> dict[str, Any]:
    values = {key: _text(raw.get(key)) for key in SHIPPING_FIELDS}
    values["country"] = values["country"].upper()
    required = {
        "name": "Enter the full name for delivery.",
        "line1": "Enter the street address.",
        "city": "Enter the city.",
        "postal_code": "Enter the postal code.",
    }
    for key, message in required.items():
        if not values[key]:
            errors[f"shipping_{key}"] = message
    if values["country"] not in allowed:
        errors["shipping_country"] = "Choose a country this shop ships to."
    postal = values["postal_code"]
    if postal and "shipping_country" not in errors:
        pattern = _POSTAL.get(values["country"], _POSTAL_ANY)
        if not pattern.match(postal):
            errors["shipping_postal_code"] = "Your postal code is incomplete or invalid."
    return {
        "name": values["name"],
        "address": {key: (values[key] or None) for key in SHIPPING_FIELDS if key != "name"},
    }
