"""POST /v1/coupons and /v1/promotion_codes parameters: the discounts a shop sets up before Checkout.

Names Stripe knows come from the installed SDK's TypedDicts.
"""

from __future__ import annotations

import re
from typing import Any

from stripe.params._coupon_create_params import CouponCreateParams
from stripe.params._promotion_code_create_params import (
    PromotionCodeCreateParams,
    PromotionCodeCreateParamsRestrictions,
)
from stripe.params._promotion_code_update_params import PromotionCodeUpdateParams

from rxshop.stripe_sim.errors import invalid, missing_param
from rxshop.stripe_sim.money import MAXIMUM_AMOUNT
from rxshop.stripe_sim.params.forms import (
    as_bool,
    as_currency,
    as_expand,
    as_int,
    as_metadata,
    as_object,
    as_string,
    reject_unknown,
    stripe_keys,
)

_CODE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def coupon_create(params: dict[str, Any], now: int) -> tuple[dict[str, Any], list[str]]:
    """POST /v1/coupons: exactly one of `percent_off` or `amount_off` (+ `currency`), a duration, limits."""
    allowed = {
        "id",
        "amount_off",
        "currency",
        "percent_off",
        "duration",
        "duration_in_months",
        "max_redemptions",
        "metadata",
        "name",
        "redeem_by",
        "expand",
    }
    reject_unknown(params, allowed, stripe_knows=stripe_keys(CouponCreateParams))
    percent = as_string(params.get("percent_off"), "percent_off")
    amount_off = as_int(params.get("amount_off"), "amount_off", minimum=1, maximum=MAXIMUM_AMOUNT)
    if (percent is None) == (amount_off is None):
        raise invalid("You must pass exactly one of amount_off or percent_off.", param="percent_off")
    percent_off: float | None = None
    if percent is not None:
        if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", percent) or not 0 < float(percent) <= 100:
            raise invalid(
                "Invalid percent_off: must be a number greater than 0 and at most 100 (two decimals).",
                param="percent_off",
            )
        percent_off = float(percent)
    currency = None
    if amount_off is not None:
        if params.get("currency") is None:
            raise missing_param("currency")
        currency = as_currency(params.get("currency"), "currency")
    duration = as_string(params.get("duration"), "duration") or "once"
    if duration not in ("forever", "once", "repeating"):
        raise invalid("Invalid duration: must be one of forever, once, or repeating", param="duration")
    months = as_int(params.get("duration_in_months"), "duration_in_months", minimum=1)
    if duration == "repeating" and months is None:
        raise missing_param("duration_in_months")
    redeem_by = as_int(params.get("redeem_by"), "redeem_by")
    if redeem_by is not None and redeem_by <= now:
        raise invalid("Invalid redeem_by: must be in the future.", param="redeem_by")
    coupon_id = as_string(params.get("id"), "id", max_length=200)
    if coupon_id is not None and not _CODE.match(coupon_id):
        raise invalid("Invalid id: use letters, digits, _ and - only.", param="id")
    data = {
        "id": coupon_id,
        "amount_off": amount_off,
        "currency": currency,
        "percent_off": percent_off,
        "duration": duration,
        "duration_in_months": months if duration == "repeating" else None,
        "max_redemptions": as_int(params.get("max_redemptions"), "max_redemptions", minimum=1),
        "metadata": as_metadata(params.get("metadata")),
        "name": as_string(params.get("name"), "name", max_length=40),
        "redeem_by": redeem_by,
    }
    return data, as_expand(params.get("expand"))


def promotion_code_create(params: dict[str, Any], now: int) -> tuple[dict[str, Any], list[str]]:
    """POST /v1/promotion_codes: a code for a coupon (`promotion[coupon]`), with optional restrictions."""
    allowed = {
        "active",
        "code",
        "expires_at",
        "max_redemptions",
        "metadata",
        "promotion",
        "restrictions",
        "expand",
    }
    reject_unknown(params, allowed, stripe_knows=stripe_keys(PromotionCodeCreateParams))
    promotion = as_object(params.get("promotion"), "promotion")
    if not promotion:
        raise missing_param("promotion")
    reject_unknown(promotion, {"coupon", "type"}, "promotion")
    if as_string(promotion.get("type"), "promotion[type]", required=True) != "coupon":
        raise invalid("Invalid promotion[type]: must be coupon", param="promotion[type]")
    coupon = as_string(promotion.get("coupon"), "promotion[coupon]", required=True) or ""
    code = as_string(params.get("code"), "code", max_length=500)
    if code is not None and not _CODE.match(code):
        raise invalid("Invalid code: use letters, digits, _ and - only.", param="code")
    expires_at = as_int(params.get("expires_at"), "expires_at")
    if expires_at is not None and expires_at <= now:
        raise invalid("Invalid expires_at: must be in the future.", param="expires_at")
    restrictions = as_object(params.get("restrictions"), "restrictions")
    reject_unknown(
        restrictions,
        {"first_time_transaction", "minimum_amount", "minimum_amount_currency"},
        "restrictions",
        stripe_keys(PromotionCodeCreateParamsRestrictions),
    )
    minimum = as_int(restrictions.get("minimum_amount"), "restrictions[minimum_amount]", minimum=1)
    minimum_currency = None
    if minimum is not None:
        minimum_currency = as_currency(
            restrictions.get("minimum_amount_currency"), "restrictions[minimum_amount_currency]"
        )
    active = as_bool(params.get("active"), "active")
    data = {
        "active": True if active is None else active,
        "code": code,
        "coupon": coupon,
        "expires_at": expires_at,
        "max_redemptions": as_int(params.get("max_redemptions"), "max_redemptions", minimum=1),
        "metadata": as_metadata(params.get("metadata")),
        "restrictions": {
            "first_time_transaction": bool(
                as_bool(restrictions.get("first_time_transaction"), "restrictions[first_time_transaction]")
            ),
            "minimum_amount": minimum,
            "minimum_amount_currency": minimum_currency,
        },
    }
    return data, as_expand(params.get("expand"))


def promotion_code_update(params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """POST /v1/promotion_codes/{id}: `active` (turn a code off, or on again) and `metadata`."""
    reject_unknown(
        params, {"active", "metadata", "expand"}, stripe_knows=stripe_keys(PromotionCodeUpdateParams)
    )
    changes: dict[str, Any] = {}
    active = as_bool(params.get("active"), "active")
    if active is not None:
        changes["active"] = active
    if params.get("metadata") is not None:
        changes["metadata"] = as_metadata(params.get("metadata"))
    return changes, as_expand(params.get("expand"))
