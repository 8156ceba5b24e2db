"""Shipping parameters: where a Checkout Session may ship, its shipping options, and shipping rates.

`shipping_rate_data` is shared by a session's `shipping_options` and POST /v1/shipping_rates. Names Stripe
knows come from the installed SDK's TypedDicts, and so do the countries Checkout can ship to.
"""

from __future__ import annotations

import typing
from typing import Any

from stripe.params._shipping_rate_create_params import ShippingRateCreateParams
from stripe.params.checkout._session_create_params import (
    SessionCreateParamsShippingAddressCollection,
    SessionCreateParamsShippingOption,
    SessionCreateParamsShippingOptionShippingRateData,
)

from rxshop.stripe_sim.errors import invalid, missing_param
from rxshop.stripe_sim.money import MAXIMUM_AMOUNT
from rxshop.stripe_sim.params.forms import (
    as_currency,
    as_int,
    as_list,
    as_metadata,
    as_object,
    as_string,
    bracket,
    reject_unknown,
    stripe_keys,
)

_LITERALS = typing.get_args(
    typing.get_type_hints(SessionCreateParamsShippingAddressCollection)["allowed_countries"]
)[0]
COUNTRIES: tuple[str, ...] = typing.get_args(typing.get_args(_LITERALS)[0])
_UNITS = ("business_day", "day", "hour", "month", "week")


def allowed_countries(params: dict[str, Any]) -> tuple[str, ...]:
    """`shipping_address_collection[allowed_countries][]`: Checkout's own country list, duplicates dropped."""
    raw = params.get("shipping_address_collection")
    if raw is None:
        return ()
    path = "shipping_address_collection"
    collection = as_object(raw, path)
    reject_unknown(
        collection, {"allowed_countries"}, path, stripe_keys(SessionCreateParamsShippingAddressCollection)
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
    known = stripe_keys(SessionCreateParamsShippingOptionShippingRateData) | stripe_keys(
        ShippingRateCreateParams
    )
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
    estimate = _delivery_estimate(data.get("delivery_estimate"), bracket(path, "delivery_estimate"))
    return {
        "display_name": name,
        "fixed_amount": {
            "amount": amount,
            "currency": as_currency(fixed.get("currency"), bracket(fixed_path, "currency")),
        },
        "delivery_estimate": estimate,
        "metadata": as_metadata(data.get("metadata"), bracket(path, "metadata")),
        "tax_behavior": tax_behavior or "unspecified",
    }


def _delivery_estimate(raw: Any, path: str) -> dict[str, Any] | None:
    """`delivery_estimate[minimum|maximum][unit|value]`, both bounds present in the answer (null if unset)."""
    if raw is None:
        return None
    raw_estimate = as_object(raw, path)
    reject_unknown(raw_estimate, {"minimum", "maximum"}, path)
    estimate: dict[str, Any] = {"maximum": None, "minimum": None}
    for bound in ("minimum", "maximum"):
        if bound in raw_estimate:
            bound_path = bracket(path, bound)
            value = as_object(raw_estimate[bound], bound_path)
            reject_unknown(value, {"unit", "value"}, bound_path)
            unit = as_string(value.get("unit"), bracket(bound_path, "unit"), required=True)
            if unit not in _UNITS:
                raise invalid(
                    f"Invalid unit: must be one of {', '.join(_UNITS)}", param=bracket(bound_path, "unit")
                )
            number = as_int(value.get("value"), bracket(bound_path, "value"), minimum=1, required=True)
            estimate[bound] = {"unit": unit, "value": number}
    return estimate


def shipping_options(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Each option: {"shipping_rate": id} or {"shipping_rate_data": {...}}, at most 5, as on Stripe."""
    options = as_list(params.get("shipping_options"), "shipping_options")
    if len(options) > 5:
        raise invalid("You can specify at most 5 shipping options.", param="shipping_options")
    result: list[dict[str, Any]] = []
    for i, raw in enumerate(options):
        path = f"shipping_options[{i}]"
        option = as_object(raw, path)
        reject_unknown(
            option,
            {"shipping_rate", "shipping_rate_data"},
            path,
            stripe_keys(SessionCreateParamsShippingOption),
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
