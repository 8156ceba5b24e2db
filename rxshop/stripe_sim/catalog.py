"""Coupons, promotion codes, shipping rates and customers: the tables, and when a code may be used.

Stripe's rules kept here: a code is usable while active, before `expires_at`, under `max_redemptions`
(promotion code and coupon), over its minimum amount and before the coupon's `redeem_by`; an amount off must
be in the session's currency. Redemptions are counted when a session completes, as on Stripe. What a
discount takes off a session is pricing.py's business.
"""

from __future__ import annotations

import copy
from typing import Any

from rxshop.stripe_sim.errors import invalid, no_such
from rxshop.stripe_sim.money import format_amount
from rxshop.stripe_sim.objects import catalog as shapes
from rxshop.stripe_sim.pricing import Discount


class CodeRefused(Exception):
    """A promotion code the buyer may not use; `message` is what the hosted page shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Catalog:
    """The catalog objects by id (insertion order = creation order)."""

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
        customer = shapes.customer(customer_id=customer_id, now=now, invoice_prefix=invoice_prefix, **details)
        self.customers[customer_id] = customer
        return copy.deepcopy(customer)
