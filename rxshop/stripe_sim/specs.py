"""What a validated POST /v1/checkout/sessions asks for: the hand-over from parameters to the store.

params/ builds these from the form; the store only ever sees checked values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LineSpec:
    name: str
    unit_amount: int
    quantity: int
    currency: str
    description: str | None = None
    product_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSpec:
    """A validated POST /v1/checkout/sessions (see params/checkout.py and params/shipping.py)."""

    line_items: list[LineSpec]
    success_url: str
    cancel_url: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    expires_at: int | None = None
    customer_email: str | None = None
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)
    allowed_countries: tuple[str, ...] = ()
    shipping_options: list[dict[str, Any]] = field(default_factory=list)
    phone_number_collection: bool = False
    customer_creation: str = "if_required"
    allow_promotion_codes: bool | None = None
    discounts: list[dict[str, str]] = field(default_factory=list)
    custom_text: dict[str, str] = field(default_factory=dict)
