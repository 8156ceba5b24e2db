"""Validation of what a real shop asks Checkout for beyond line items, and of the catalog endpoints.

Shipping address collection, shipping options, phone numbers, customer creation, promotion codes and
discounts, custom text; POST /v1/coupons, /v1/promotion_codes, /v1/shipping_rates. Names Stripe knows come
from the installed SDK's TypedDicts, and so do the countries Checkout can ship to.
"""

from __future__ import annotations

import re
import typing
from dataclasses import dataclass
from typing import Any

from stripe.params._coupon_create_params import CouponCreateParams
from stripe.params._promotion_code_create_params import (
    PromotionCodeCreateParams,
    PromotionCodeCreateParamsRestrictions,
)
from stripe.params._shipping_rate_create_params import ShippingRateCreateParams
from stripe.params.checkout._session_create_params import (
    SessionCreateParamsCustomText,
    SessionCreateParamsShippingAddressCollection,
    SessionCreateParamsShippingOption,
    SessionCreateParamsShippingOptionShippingRateData,
)

from rxshop.stripe_sim.errors import invalid, missing_param
from rxshop.stripe_sim.forms import (
    as_expand,
    as_int,
    as_list,
    as_metadata,
    as_object,
    as_string,
    bracket,
    reject_unknown,
)
from rxshop.stripe_sim.money import CURRENCIES, MAXIMUM_AMOUNT

_LITERALS = typing.get_args(
    typing.get_type_hints(SessionCreateParamsShippingAddressCollection)["allowed_countries"]
)[0]
COUNTRIES: tuple[str, ...] = typing.get_args(typing.get_args(_LITERALS)[0])
_UNITS = ("business_day", "day", "hour", "month", "week")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")


def _keys(typed_dict: Any) -> frozenset[str]:
    return frozenset(typed_dict.__required_keys__ | typed_dict.__optional_keys__)


def as_bool(value: Any, path: str) -> bool | None:
    text = as_string(value, path)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise invalid(f"Invalid boolean: {text}", param=path)
    return text == "true"


def _currency(value: Any, path: str) -> str:
    currency = (as_string(value, path, required=True) or "").lower()
    if currency not in CURRENCIES:
        raise invalid(f"Invalid currency: {currency}.", param=path)
    return currency


def allowed_countries(params: dict[str, Any]) -> tuple[str, ...]:
    raw = params.get("shipping_address_collection")
    if raw is None:
        return ()
    path = "shipping_address_collection"
    collection = as_object(raw, path)
    reject_unknown(
        collection, {"allowed_countries"}, path, _keys(SessionCreateParamsShippingAddressCollection)
    )
    countries_path = bracket(path, "allowed_countries")
    countries = as_list(collection.get("allowed_countries"), countries_path)
    if not countries:
        raise missing_param(countries_path)
    result = []
    for i, value in enumerate(countries):
        item_path = f"{countries_path}[{i}]"
        country = as_string(value, item_path, required=True, max_length=2) or ""
        if country not in COUNTRIES:
            raise invalid(f"Invalid {item_path}: must be one of {', '.join(COUNTRIES)}", param=item_path)
        if country not in result:
            result.append(country)
    return tuple(result)


def shipping_rate_data(raw: Any, path: str) -> dict[str, Any]:
    """A fixed-amount shipping rate, validated (shared by shipping_options and POST /v1/shipping_rates)."""
    data = as_object(raw, path)
    known = _keys(SessionCreateParamsShippingOptionShippingRateData) | _keys(ShippingRateCreateParams)
    reject_unknown(
        data,
        {"display_name", "fixed_amount", "delivery_estimate", "metadata", "type", "tax_behavior", "expand"}
        if path == ""
        else {"display_name", "fixed_amount", "delivery_estimate", "metadata", "type", "tax_behavior"},
        path,
        known,
    )
    name = as_string(data.get("display_name"), bracket(path, "display_name"), required=True, max_length=100)
    kind = as_string(data.get("type"), bracket(path, "type")) or "fixed_amount"
    if kind != "fixed_amount":
        raise invalid("Invalid type: must be fixed_amount", param=bracket(path, "type"))
    tax_behavior = as_string(data.get("tax_behavior"), bracket(path, "tax_behavior"))
    if tax_behavior not in (None, "exclusive", "inclusive", "unspecified"):
        raise invalid(
            "Invalid tax_behavior: must be one of exclusive, inclusive, or unspecified",
            param=bracket(path, "tax_behavior"),
        )
    fixed_path = bracket(path, "fixed_amount")
    if "fixed_amount" not in data:
        raise missing_param(fixed_path)
    fixed = as_object(data["fixed_amount"], fixed_path)
    reject_unknown(fixed, {"amount", "currency"}, fixed_path, {"amount", "currency", "currency_options"})
    amount = as_int(
        fixed.get("amount"), bracket(fixed_path, "amount"), minimum=0, maximum=MAXIMUM_AMOUNT, required=True
    )
    estimate = None
    if data.get("delivery_estimate") is not None:
        estimate_path = bracket(path, "delivery_estimate")
        raw_estimate = as_object(data["delivery_estimate"], estimate_path)
        reject_unknown(raw_estimate, {"minimum", "maximum"}, estimate_path)
        estimate = {"maximum": None, "minimum": None}
        for bound in ("minimum", "maximum"):
            if bound in raw_estimate:
                bound_path = bracket(estimate_path, bound)
                value = as_object(raw_estimate[bound], bound_path)
                reject_unknown(value, {"unit", "value"}, bound_path)
                unit = as_string(value.get("unit"), bracket(bound_path, "unit"), required=True)
                if unit not in _UNITS:
                    raise invalid(
                        f"Invalid unit: must be one of {', '.join(_UNITS)}", param=bracket(bound_path, "unit")
                    )
                number = as_int(value.get("value"), bracket(bound_path, "value"), minimum=1, required=True)
                estimate[bound] = {"unit": unit, "value": number}
    return {
        "display_name": name,
        "fixed_amount": {
            "amount": amount,
            "currency": _currency(fixed.get("currency"), bracket(fixed_path, "currency")),
        },
        "delivery_estimate": estimate,
        "metadata": as_metadata(data.get("metadata"), bracket(path, "metadata")),
        "tax_behavior": tax_behavior or "unspecified",
    }


def shipping_options(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each option: {"shipping_rate": id} or {"shipping_rate_data": {...}}, at most 5, as on Stripe."""
    options = as_list(params.get("shipping_options"), "shipping_options")
    if len(options) > 5:
        raise invalid("You can specify at most 5 shipping options.", param="shipping_options")
    result = []
    for i, raw in enumerate(options):
        path = f"shipping_options[{i}]"
        option = as_object(raw, path)
        reject_unknown(
            option, {"shipping_rate", "shipping_rate_data"}, path, _keys(SessionCreateParamsShippingOption)
        )
        if ("shipping_rate" in option) == ("shipping_rate_data" in option):
            raise invalid(
                f"You must specify exactly one of shipping_rate or shipping_rate_data in {path}.", param=path
            )
        if "shipping_rate" in option:
            result.append(
                {
                    "shipping_rate": as_string(
                        option["shipping_rate"], bracket(path, "shipping_rate"), required=True
                    )
                }
            )
        else:
            result.append(
                {
                    "shipping_rate_data": shipping_rate_data(
                        option["shipping_rate_data"], bracket(path, "shipping_rate_data")
                    )
                }
            )
    return result


def discounts(params: dict[str, Any]) -> list[dict[str, str]]:
    raw = as_list(params.get("discounts"), "discounts")
    if len(raw) > 1:
        raise invalid("You may only specify one discount per Checkout Session.", param="discounts")
    result = []
    for i, item in enumerate(raw):
        path = f"discounts[{i}]"
        discount = as_object(item, path)
        reject_unknown(discount, {"coupon", "promotion_code"}, path)
        if len(discount) != 1:
            raise invalid(f"You must specify exactly one of coupon or promotion_code in {path}.", param=path)
        [(key, value)] = discount.items()
        result.append({key: as_string(value, bracket(path, key), required=True) or ""})
    return result


def custom_text(params: dict[str, Any]) -> dict[str, str]:
    raw = as_object(params.get("custom_text"), "custom_text")
    reject_unknown(raw, _keys(SessionCreateParamsCustomText), "custom_text")
    result = {}
    for key, value in raw.items():
        path = bracket("custom_text", key)
        if value == "":
            continue
        entry = as_object(value, path)
        reject_unknown(entry, {"message"}, path)
        result[key] = as_string(
            entry.get("message"), bracket(path, "message"), required=True, max_length=1200
        )
    return result


def phone_number_collection(params: dict[str, Any]) -> bool:
    raw = as_object(params.get("phone_number_collection"), "phone_number_collection")
    reject_unknown(raw, {"enabled"}, "phone_number_collection")
    if raw and "enabled" not in raw:
        raise missing_param("phone_number_collection[enabled]")
    return bool(as_bool(raw.get("enabled"), "phone_number_collection[enabled]"))


def customer_creation(params: dict[str, Any]) -> str:
    value = as_string(params.get("customer_creation"), "customer_creation")
    if value not in (None, "always", "if_required"):
        raise invalid(
            "Invalid customer_creation: must be one of always or if_required", param="customer_creation"
        )
    return value or "if_required"


# ---- catalog endpoints ----------------------------------------------------------------------------------


def coupon_create(params: dict[str, Any], now: int) -> tuple[dict[str, Any], list[str]]:
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
    reject_unknown(params, allowed, stripe_knows=_keys(CouponCreateParams))
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
        currency = _currency(params.get("currency"), "currency")
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
    reject_unknown(params, allowed, stripe_knows=_keys(PromotionCodeCreateParams))
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
        _keys(PromotionCodeCreateParamsRestrictions),
    )
    minimum = as_int(restrictions.get("minimum_amount"), "restrictions[minimum_amount]", minimum=1)
    minimum_currency = None
    if minimum is not None:
        minimum_currency = _currency(
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


@dataclass(frozen=True)
class CatalogList:
    """Filters of GET /v1/coupons, /v1/promotion_codes, /v1/shipping_rates (besides paging)."""

    active: bool | None = None
    code: str | None = None
    coupon: str | None = None
