"""Coupons, promotion codes, shipping rates and customers, and how Checkout prices a session with them.

Stripe's rules kept here: a discount applies to the line items only (never to shipping), a percentage is
rounded to the nearest minor unit and spread over the lines in proportion (the last line takes the
remainder), an amount off never exceeds the subtotal and must be in the session's currency; a code is
usable while active, before `expires_at`, under `max_redemptions` (promotion code and coupon) and before
the coupon's `redeem_by`. Redemptions are counted when a session completes, as on Stripe.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from rxshop.stripe_sim import objects_catalog
from rxshop.stripe_sim.errors import invalid, no_such
from rxshop.stripe_sim.money import format_amount


@dataclass(frozen=True)
class Discount:
    coupon: dict[str, Any]
    promotion_code: dict[str, Any] | None


class CodeRefused(Exception):
    """A promotion code the buyer may not use; `message` is what the hosted page shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Catalog:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.coupons: dict[str, dict[str, Any]] = {}
        self.promotion_codes: dict[str, dict[str, Any]] = {}
        self.shipping_rates: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, dict[str, Any]] = {}

    def find(
        self, kind: str, object_id: str, *, param: str = "id", in_params: bool = False
    ) -> dict[str, Any]:
        """The object, or Stripe's resource_missing: 404 for a path id, 400 when a parameter names it."""
        table = {
            "coupon": self.coupons,
            "promotion_code": self.promotion_codes,
            "shipping_rate": self.shipping_rates,
            "customer": self.customers,
        }[kind]
        found = table.get(object_id)
        if found is None:
            if in_params:
                name = kind.replace("_", " ")
                raise invalid(f"No such {name}: '{object_id}'", param=param, code="resource_missing")
            raise no_such(kind, object_id, param=param)
        return found

    def promotion_by_code(self, code: str) -> dict[str, Any] | None:
        """Codes are matched case-insensitively among active ones, as Checkout does."""
        wanted = code.strip().lower()
        matches = [p for p in self.promotion_codes.values() if p["code"].lower() == wanted]
        return next((p for p in matches if p["active"]), matches[0] if matches else None)

    # ---- usability ------------------------------------------------------------------------------------

    def coupon_problem(self, coupon: dict[str, Any], currency: str, now: int) -> str | None:
        limit = coupon["max_redemptions"]
        if limit is not None and coupon["times_redeemed"] >= limit:
            return "This code has reached its maximum number of redemptions."
        if not coupon["valid"] or (coupon["redeem_by"] is not None and now > coupon["redeem_by"]):
            return "This code has expired."
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            return f"This code is not valid for purchases in {currency.upper()}."
        return None

    def check_promotion(self, promo: dict[str, Any], currency: str, subtotal: int, now: int) -> Discount:
        """The discount a promotion code gives this session, or CodeRefused with Checkout's message."""
        if not promo["active"]:
            raise CodeRefused("This code is invalid.")
        if promo["expires_at"] is not None and now > promo["expires_at"]:
            raise CodeRefused("This code has expired.")
        limit = promo["max_redemptions"]
        if limit is not None and promo["times_redeemed"] >= limit:
            raise CodeRefused("This code has reached its maximum number of redemptions.")
        minimum = promo["restrictions"]["minimum_amount"]
        if minimum is not None and promo["restrictions"]["minimum_amount_currency"] == currency:
            if subtotal < minimum:
                raise CodeRefused(
                    f"This code requires a minimum order of {format_amount(minimum, currency)}."
                )
        coupon = self.coupons[promo["promotion"]["coupon"]]
        problem = self.coupon_problem(coupon, currency, now)
        if problem:
            raise CodeRefused(problem)
        return Discount(coupon, promo)

    def redeem(self, discount: Discount | None) -> None:
        if discount is None:
            return
        self.coupons[discount.coupon["id"]]["times_redeemed"] += 1
        if discount.coupon["max_redemptions"] is not None:
            coupon = self.coupons[discount.coupon["id"]]
            coupon["valid"] = coupon["times_redeemed"] < coupon["max_redemptions"]
        if discount.promotion_code is not None:
            self.promotion_codes[discount.promotion_code["id"]]["times_redeemed"] += 1

    # ---- customers ------------------------------------------------------------------------------------

    def create_customer(
        self, customer_id: str, invoice_prefix: str, now: int, **details: Any
    ) -> dict[str, Any]:
        customer = objects_catalog.customer(
            customer_id=customer_id, now=now, invoice_prefix=invoice_prefix, **details
        )
        self.customers[customer_id] = customer
        return copy.deepcopy(customer)


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
