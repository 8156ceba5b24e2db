"""Validation of request parameters, answering 400s worded like Stripe's.

The names Stripe itself knows come from the installed SDK's TypedDicts (the offline spec), so a parameter
Stripe accepts but the simulator does not implement is refused with a message that says exactly that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from stripe._request_options import RequestOptions
from stripe.params._refund_create_params import RefundCreateParams
from stripe.params.checkout._session_create_params import (
    SessionCreateParams,
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
    SessionCreateParamsLineItemPriceDataProductData,
    SessionCreateParamsPaymentIntentData,
)
from stripe.params.checkout._session_list_params import SessionListParams

from rxshop.stripe_sim import params_extra as extra
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
from rxshop.stripe_sim.money import CURRENCIES, MAXIMUM_AMOUNT, MINIMUM_CHARGE, format_amount
from rxshop.stripe_sim.store import LineSpec, SessionSpec

_OPTIONS = RequestOptions.__required_keys__ | RequestOptions.__optional_keys__


def _stripe_keys(typed_dict: Any) -> frozenset[str]:
    return frozenset((typed_dict.__required_keys__ | typed_dict.__optional_keys__) - _OPTIONS)


MIN_LIFETIME = 30 * 60
MAX_LIFETIME = 24 * 3600
_CLOCK_SLACK = 10  # seconds of leeway for a client that computed expires_at a moment before sending
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_url(value: Any, param: str, *, required: bool = False) -> str | None:
    """Absolute http(s) URLs only, as Stripe requires ("Not a valid URL")."""
    url = as_string(value, param, required=required, max_length=5000)
    if url is None:
        if required:
            raise missing_param(param)
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise invalid("Not a valid URL", param=param, code="url_invalid")
    return url


def session_create(params: dict[str, Any], now: int) -> tuple[SessionSpec, list[str]]:
    """Validate POST /v1/checkout/sessions; return the spec and the expand list."""
    allowed = {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "client_reference_id",
        "metadata",
        "expires_at",
        "customer_email",
        "payment_intent_data",
        "expand",
        "shipping_address_collection",
        "shipping_options",
        "phone_number_collection",
        "customer_creation",
        "allow_promotion_codes",
        "discounts",
        "custom_text",
    }
    reject_unknown(params, allowed, stripe_knows=_stripe_keys(SessionCreateParams))

    mode = as_string(params.get("mode"), "mode", required=True)
    if mode in ("setup", "subscription"):
        raise invalid(f"The rxshop simulator only implements mode=payment, not mode={mode}.", param="mode")
    if mode != "payment":
        raise invalid(
            f"Invalid mode: must be one of payment, setup, or subscription (got {mode!r}).", param="mode"
        )

    raw_lines = as_list(params.get("line_items"), "line_items")
    if not raw_lines:
        raise missing_param("line_items")
    if len(raw_lines) > 100:
        raise invalid(
            "A Checkout Session in payment mode can have at most 100 line items.", param="line_items"
        )
    lines = [_line_item(raw, f"line_items[{i}]") for i, raw in enumerate(raw_lines)]
    currencies = {line.currency for line in lines}
    if len(currencies) > 1:
        raise invalid(
            "All line items must have the same currency; got " + ", ".join(sorted(currencies)) + ".",
            param="line_items",
        )
    currency = lines[0].currency
    total = sum(line.unit_amount * line.quantity for line in lines)
    minimum = MINIMUM_CHARGE.get(currency, 1)
    if total < minimum:
        raise invalid(
            f"The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)}.",
            param="line_items",
            code="amount_too_small",
        )
    if total > MAXIMUM_AMOUNT:
        raise invalid(
            f"The Checkout Session's total amount due must be no more than "
            f"{format_amount(MAXIMUM_AMOUNT, currency)}.",
            param="line_items",
            code="amount_too_large",
        )

    success_url = check_url(params.get("success_url"), "success_url", required=True)
    assert success_url is not None
    cancel_url = check_url(params.get("cancel_url"), "cancel_url")

    email = as_string(params.get("customer_email"), "customer_email", max_length=800)
    if email is not None and not _EMAIL.match(email):
        raise invalid(f"Invalid email address: {email}", param="customer_email", code="email_invalid")

    expires_at = as_int(params.get("expires_at"), "expires_at")
    if expires_at is not None:
        if expires_at < now + MIN_LIFETIME - _CLOCK_SLACK:
            raise invalid(
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                param="expires_at",
            )
        if expires_at > now + MAX_LIFETIME + _CLOCK_SLACK:
            raise invalid(
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                param="expires_at",
            )

    intent_data = as_object(params.get("payment_intent_data"), "payment_intent_data")
    reject_unknown(
        intent_data,
        {"metadata"},
        "payment_intent_data",
        stripe_knows=_stripe_keys(SessionCreateParamsPaymentIntentData),
    )

    allow_codes = extra.as_bool(params.get("allow_promotion_codes"), "allow_promotion_codes")
    discounts = extra.discounts(params)
    if allow_codes is not None and discounts:
        raise invalid(
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="allow_promotion_codes",
        )
    spec = SessionSpec(
        line_items=lines,
        success_url=success_url,
        cancel_url=cancel_url,
        client_reference_id=as_string(
            params.get("client_reference_id"), "client_reference_id", max_length=200
        ),
        metadata=as_metadata(params.get("metadata")),
        expires_at=expires_at,
        customer_email=email,
        payment_intent_metadata=as_metadata(intent_data.get("metadata"), "payment_intent_data[metadata]"),
        allowed_countries=extra.allowed_countries(params),
        shipping_options=extra.shipping_options(params),
        phone_number_collection=extra.phone_number_collection(params),
        customer_creation=extra.customer_creation(params),
        allow_promotion_codes=allow_codes,
        discounts=discounts,
        custom_text=extra.custom_text(params),
    )
    return spec, as_expand(params.get("expand"))


def _line_item(raw: Any, path: str) -> LineSpec:
    item = as_object(raw, path)
    reject_unknown(
        item, {"price_data", "quantity"}, path, stripe_knows=_stripe_keys(SessionCreateParamsLineItem)
    )
    quantity = as_int(item.get("quantity"), bracket(path, "quantity"), minimum=1, maximum=999_999)
    if quantity is None:
        raise missing_param(bracket(path, "quantity"))
    price_path = bracket(path, "price_data")
    if "price_data" not in item:
        raise invalid(
            f"You must specify either `price` or `price_data` in {path} (the simulator supports "
            "`price_data` only).",
            param=price_path,
            code="parameter_missing",
        )
    price = as_object(item["price_data"], price_path)
    reject_unknown(
        price,
        {"currency", "unit_amount", "product_data"},
        price_path,
        stripe_knows=_stripe_keys(SessionCreateParamsLineItemPriceData),
    )
    currency_path = bracket(price_path, "currency")
    currency = (as_string(price.get("currency"), currency_path, required=True) or "").lower()
    if currency not in CURRENCIES:
        raise invalid(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)),
            param=currency_path,
        )
    amount_path = bracket(price_path, "unit_amount")
    unit_amount = as_int(price.get("unit_amount"), amount_path, minimum=1, maximum=MAXIMUM_AMOUNT)
    if unit_amount is None:
        raise missing_param(amount_path)
    product_path = bracket(price_path, "product_data")
    if "product_data" not in price:
        raise invalid(
            f"You must specify either `product` or `product_data` in {price_path} (the simulator "
            "supports `product_data` only).",
            param=product_path,
            code="parameter_missing",
        )
    product = as_object(price["product_data"], product_path)
    reject_unknown(
        product,
        {"name", "description", "metadata"},
        product_path,
        stripe_knows=_stripe_keys(SessionCreateParamsLineItemPriceDataProductData),
    )
    return LineSpec(
        name=as_string(product.get("name"), bracket(product_path, "name"), required=True, max_length=250)
        or "",
        description=as_string(
            product.get("description"), bracket(product_path, "description"), max_length=40000
        ),
        product_metadata=as_metadata(product.get("metadata"), bracket(product_path, "metadata")),
        currency=currency,
        unit_amount=unit_amount,
        quantity=quantity,
    )


@dataclass(frozen=True)
class ListParams:
    limit: int
    starting_after: str | None
    ending_before: str | None
    expand: list[str]


def list_params(
    params: dict[str, Any], extra: set[str] = frozenset(), stripe_knows: frozenset[str] = frozenset()
) -> ListParams:
    reject_unknown(
        params, {"limit", "starting_after", "ending_before", "expand"} | set(extra), stripe_knows=stripe_knows
    )
    starting_after = as_string(params.get("starting_after"), "starting_after")
    ending_before = as_string(params.get("ending_before"), "ending_before")
    if starting_after and ending_before:
        raise invalid(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before",
        )
    limit = as_int(params.get("limit"), "limit", minimum=1, maximum=100)
    return ListParams(
        limit if limit is not None else 10, starting_after, ending_before, as_expand(params.get("expand"))
    )


@dataclass(frozen=True)
class SessionFilter:
    created: dict[str, int]  # op ("eq", "gt", "gte", "lt", "lte") -> timestamp
    status: str | None
    payment_intent: str | None

    def matches(self, session: dict[str, Any]) -> bool:
        created = session["created"]
        checks = {
            "eq": created.__eq__,
            "gt": created.__gt__,
            "gte": created.__ge__,
            "lt": created.__lt__,
            "lte": created.__le__,
        }
        if not all(checks[op](value) for op, value in self.created.items()):
            return False
        if self.status is not None and session["status"] != self.status:
            return False
        return self.payment_intent is None or session["payment_intent"] == self.payment_intent


def created_filter(raw_created: Any) -> dict[str, int]:
    """A list's `created` parameter: an int, or `created[gt|gte|lt|lte]` (op -> timestamp)."""
    created: dict[str, int] = {}
    if isinstance(raw_created, dict):
        reject_unknown(raw_created, {"gt", "gte", "lt", "lte"}, "created")
        for op, value in raw_created.items():
            created[op] = as_int(value, f"created[{op}]", required=True) or 0
    elif raw_created is not None:
        created["eq"] = as_int(raw_created, "created", required=True) or 0
    return created


def session_list(params: dict[str, Any]) -> tuple[ListParams, SessionFilter]:
    paging = list_params(params, {"created", "status", "payment_intent"}, _stripe_keys(SessionListParams))
    created = created_filter(params.get("created"))
    status = as_string(params.get("status"), "status")
    if status is not None and status not in ("open", "complete", "expired"):
        raise invalid(
            f"Invalid status: must be one of complete, expired, or open (got {status!r}).", param="status"
        )
    return paging, SessionFilter(created, status, as_string(params.get("payment_intent"), "payment_intent"))


def expand_only(params: dict[str, Any]) -> list[str]:
    reject_unknown(params, {"expand"})
    return as_expand(params.get("expand"))


@dataclass(frozen=True)
class RefundSpec:
    payment_intent: str | None
    charge: str | None
    amount: int | None
    reason: str | None
    metadata: dict[str, str]
    expand: list[str]


def refund_create(params: dict[str, Any]) -> RefundSpec:
    reject_unknown(
        params,
        {"payment_intent", "charge", "amount", "reason", "metadata", "expand"},
        stripe_knows=_stripe_keys(RefundCreateParams),
    )
    payment_intent = as_string(params.get("payment_intent"), "payment_intent")
    charge = as_string(params.get("charge"), "charge")
    if payment_intent is None and charge is None:
        raise invalid(
            "One of the following params should be provided for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    reason = as_string(params.get("reason"), "reason")
    if reason is not None and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid(
            "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
        )
    return RefundSpec(
        payment_intent=payment_intent,
        charge=charge,
        amount=as_int(params.get("amount"), "amount", minimum=1),
        reason=reason,
        metadata=as_metadata(params.get("metadata")),
        expand=as_expand(params.get("expand")),
    )
