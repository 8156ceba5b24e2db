"""Plain views of orders (no ORM object leaves the order service): what the UI and the services read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rxshop.core.models import Order
from rxshop.domain.addresses import ShippingAddress
from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import OrderStatus


@dataclass(frozen=True)
class OrderLineView:
    product_id: str
    name: str
    unit_amount: int
    quantity: int

    @property
    def text(self) -> str:
        """'2 × Morning Mug'."""
        return f"{self.quantity} × {self.name}"


def items_text(lines: Sequence[OrderLineView], *, plain: bool = False) -> str:
    """What an order holds, in one line: '2 × Morning Mug, 1 × Canvas Tote' (My Orders, the owner's table).

    `plain` (the CSV export): ASCII and a separator spreadsheets keep apart, '2 x Morning Mug; 1 x Canvas Tote'.
    """
    if plain:
        return "; ".join(f"{line.quantity} x {line.name}" for line in lines)
    return ", ".join(line.text for line in lines)


class FulfillmentStatus(StrEnum):
    """After payment: is the parcel on its way (a StrEnum, so it compares equal to the stored text)."""

    UNFULFILLED = "unfulfilled"
    SHIPPED = "shipped"


@dataclass(frozen=True)
class OrderView:
    id: str
    visitor_id: str
    status: OrderStatus
    currency: str
    amount_total: int
    amount_refunded: int
    lines: tuple[OrderLineView, ...]
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    stripe_session_id: str | None
    checkout_url: str | None
    session_expires_at: datetime | None
    payment_intent_id: str | None
    customer_email: str | None
    number: str = ""
    amount_subtotal: int = 0
    amount_shipping: int = 0
    amount_discount: int = 0
    shipping_offer: str | None = None
    shipping_rate_id: str | None = None
    shipping_rate_name: str | None = None
    shipping: ShippingAddress | None = None
    phone: str | None = None
    fulfillment_status: str = FulfillmentStatus.UNFULFILLED
    carrier: str | None = None
    tracking_number: str | None = None
    shipped_at: datetime | None = None
    promotion_code_id: str | None = None  # the promotion code Stripe applied at Checkout (promo_...)

    @property
    def fulfillment_label(self) -> str:
        """'Shipped' or 'Not shipped yet' (for paid orders; the UI shows the payment status otherwise)."""
        return "Shipped" if self.fulfillment_status == FulfillmentStatus.SHIPPED else "Not shipped yet"

    @property
    def total_text(self) -> str:
        return format_money(self.amount_total, self.currency)

    @property
    def refunded_text(self) -> str:
        return format_money(self.amount_refunded, self.currency)


@dataclass(frozen=True)
class OrderPage:
    orders: tuple[OrderView, ...]
    total: int
    offset: int
    limit: int


def view(order: Order, lines: list[OrderLineView]) -> OrderView:
    return OrderView(
        id=order.id,
        visitor_id=order.visitor_id,
        status=OrderStatus(order.status),
        currency=order.currency,
        amount_total=order.amount_total,
        amount_refunded=order.amount_refunded,
        lines=tuple(lines),
        created_at=order.created_at,
        updated_at=order.updated_at,
        paid_at=order.paid_at,
        stripe_session_id=order.stripe_session_id,
        checkout_url=order.checkout_url,
        session_expires_at=order.session_expires_at,
        payment_intent_id=order.payment_intent_id,
        customer_email=order.customer_email,
        number=order.number or "",
        amount_subtotal=order.amount_subtotal,
        amount_shipping=order.amount_shipping,
        amount_discount=order.amount_discount,
        shipping_offer=order.shipping_offer,
        shipping_rate_id=order.shipping_rate_id,
        shipping_rate_name=order.shipping_rate_name,
        shipping=_address(order),
        phone=order.phone,
        fulfillment_status=order.fulfillment_status,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_at=order.shipped_at,
        promotion_code_id=order.promotion_code_id,
    )


def _address(order: Order) -> ShippingAddress | None:
    if not (order.ship_name or order.ship_line1):
        return None
    return ShippingAddress(
        name=order.ship_name or "",
        line1=order.ship_line1 or "",
        line2=order.ship_line2,
        city=order.ship_city or "",
        state=order.ship_state,
        postal_code=order.ship_postal_code or "",
        country=order.ship_country or "",
    )
