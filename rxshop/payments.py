"""CheckoutGateway: the shop's only door to Stripe (or the simulator), async, returning plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckoutLineRequest:
    """One line of a Checkout Session we ask for (prices from the server's catalog)."""

    name: str
    unit_amount: int
    quantity: int
    product_id: str = ""


@dataclass(frozen=True)
class SessionLine:
    """One line item as Stripe reports it back."""

    description: str
    quantity: int
    unit_amount: int
    amount_total: int


@dataclass(frozen=True)
class CheckoutSession:
    """What the shop needs to know of a Stripe Checkout Session."""

    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    amount_total: int | None
    currency: str
    client_reference_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent: str | None = None
    created: int = 0
    expires_at: int = 0
    customer_email: str | None = None
    line_items: tuple[SessionLine, ...] | None = None  # None: not expanded


@dataclass(frozen=True)
class Refund:
    id: str
    payment_intent: str
    amount: int
    status: str
