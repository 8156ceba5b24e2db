"""How Checkout prices a session: subtotal, discount spread over the lines, shipping, total (integers only).

Stripe's rules kept here: a discount applies to the line items only (never to shipping), a percentage is
rounded half up to the minor unit and spread over the lines in proportion (the last line takes the
remainder), an amount off never exceeds the subtotal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Discount:
    """The coupon a session uses, and the promotion code that brought it (None for a `discounts` coupon)."""

    coupon: dict[str, Any]
    promotion_code: dict[str, Any] | None


def price_session(
    line_amounts: list[int], currency: str, discount: Discount | None, rate: dict[str, Any] | None
) -> dict[str, Any]:
    """Stripe's arithmetic for a session: subtotal, per-line discounts, shipping, total (integers only)."""
    subtotal = sum(line_amounts)
    amount_discount = 0
    if discount is not None:
        coupon = discount.coupon
        if coupon["percent_off"] is not None:
            # percent_off may have two decimals: work in hundredths of a percent, round half up.
            hundredths = round(float(coupon["percent_off"]) * 100)
            amount_discount = (subtotal * hundredths + 5000) // 10000
        else:
            amount_discount = min(int(coupon["amount_off"]), subtotal)
    per_line = _spread(amount_discount, line_amounts)
    shipping_amount = rate["fixed_amount"]["amount"] if rate else 0
    total = subtotal - amount_discount + shipping_amount
    return {
        "amount_subtotal": subtotal,
        "amount_total": total,
        "line_discounts": per_line,
        "discounts": (
            [
                {
                    "coupon": discount.coupon["id"],
                    "promotion_code": discount.promotion_code["id"] if discount.promotion_code else None,
                }
            ]
            if discount
            else []
        ),
        "shipping_cost": (
            {
                "amount_subtotal": shipping_amount,
                "amount_tax": 0,
                "amount_total": shipping_amount,
                "shipping_rate": rate["id"],
            }
            if rate
            else None
        ),
        "total_details": {
            "amount_discount": amount_discount,
            "amount_shipping": shipping_amount,
            "amount_tax": 0,
        },
    }


def _spread(amount: int, weights: list[int]) -> list[int]:
    """Split `amount` over lines in proportion to their amounts; the last line takes the rounding remainder."""
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    shares = [amount * w // total for w in weights[:-1]]
    return [*shares, amount - sum(shares)]
