"""Shapes of the catalog objects: customer, shipping rate, coupon, promotion code."""

from __future__ import annotations

from typing import Any

from rxshop.stripe_sim.objects.common import address


def customer(
    *,
    customer_id: str,
    now: int,
    email: str | None,
    name: str | None,
    phone: str | None,
    shipping: dict[str, Any] | None,
    billing: dict[str, Any] | None,
    invoice_prefix: str,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "object": "customer",
        "address": address(billing) if billing else None,
        "balance": 0,
        "business_name": None,
        "created": now,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "individual_name": None,
        "invoice_prefix": invoice_prefix,
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(metadata or {}),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": phone,
        "preferred_locales": [],
        "shipping": (
            {"address": address(shipping["address"]), "name": shipping["name"], "phone": phone}
            if shipping
            else None
        ),
        "tax_exempt": "none",
        "test_clock": None,
    }


def shipping_rate(*, rate_id: str, now: int, data: dict[str, Any]) -> dict[str, Any]:
    """`data` is the validated shipping_rate_data (display_name, fixed_amount, delivery_estimate...)."""
    return {
        "id": rate_id,
        "object": "shipping_rate",
        "active": True,
        "created": now,
        "delivery_estimate": data.get("delivery_estimate"),
        "display_name": data["display_name"],
        "fixed_amount": data["fixed_amount"],
        "livemode": False,
        "metadata": dict(data.get("metadata") or {}),
        "tax_behavior": data.get("tax_behavior") or "unspecified",
        "tax_code": None,
        "type": "fixed_amount",
    }


def coupon(*, coupon_id: str, now: int, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": coupon_id,
        "object": "coupon",
        "amount_off": data.get("amount_off"),
        "created": now,
        "currency": data.get("currency"),
        "duration": data.get("duration") or "once",
        "duration_in_months": data.get("duration_in_months"),
        "livemode": False,
        "max_redemptions": data.get("max_redemptions"),
        "metadata": dict(data.get("metadata") or {}),
        "name": data.get("name"),
        "percent_off": data.get("percent_off"),
        "redeem_by": data.get("redeem_by"),
        "times_redeemed": 0,
        "valid": True,
    }


def promotion_code(
    *, promo_id: str, now: int, code: str, coupon_id: str, data: dict[str, Any]
) -> dict[str, Any]:
    restrictions = data.get("restrictions") or {}
    return {
        "id": promo_id,
        "object": "promotion_code",
        "active": data.get("active", True),
        "code": code,
        "created": now,
        "customer": data.get("customer"),
        "customer_account": None,
        "expires_at": data.get("expires_at"),
        "livemode": False,
        "max_redemptions": data.get("max_redemptions"),
        "metadata": dict(data.get("metadata") or {}),
        "promotion": {"coupon": coupon_id, "type": "coupon"},
        "restrictions": {
            "currency_options": {},
            "first_time_transaction": bool(restrictions.get("first_time_transaction", False)),
            "minimum_amount": restrictions.get("minimum_amount"),
            "minimum_amount_currency": restrictions.get("minimum_amount_currency"),
        },
        "times_redeemed": 0,
    }
