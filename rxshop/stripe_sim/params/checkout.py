"""POST /v1/checkout/sessions parameters: mode, line items, URLs, expiry, and what the session collects.

Answers 400s worded like Stripe's. The names Stripe itself knows come from the installed SDK's TypedDicts
(the offline spec), so a parameter Stripe accepts but the simulator does not implement is refused with a
message that says exactly that. Shipping parameters are in shipping.py.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from stripe.params.checkout._session_create_params import (
    SessionCreateParams,
    SessionCreateParamsCustomText,
    SessionCreateParamsLineItem,
    SessionCreateParamsLineItemPriceData,
    SessionCreateParamsLineItemPriceDataProductData,
    SessionCreateParamsPaymentIntentData,
)

from rxshop.stripe_sim.errors import invalid, missing_param
from rxshop.stripe_sim.money import CURRENCIES, MAXIMUM_AMOUNT, MINIMUM_CHARGE, format_amount
from rxshop.stripe_sim.params.forms import (
    as_bool,
    as_expand,
    as_int,
    as_list,
    as_metadata,
    as_object,
    as_string,
    bracket,
    reject_unknown,
    stripe_keys,
)
from rxshop.stripe_sim.params.shipping import allowed_countries, shipping_options
from rxshop.stripe_sim.specs import LineSpec, SessionSpec

MIN_LIFETIME = 30 * 60
MAX_LIFETIME = 24 * 3600
_CLOCK_SLACK = 10  # seconds of leeway for a client that computed expires_at a moment before sending
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# Browsers read a backslash as a slash (`https://shop\\@evil` goes to evil) and drop tabs and newlines: a
# redirect URL holding one means something other than it seems, so none is accepted.
_UNSAFE_IN_URL = re.compile(r"[\\\x00-\x20\x7f-\x9f]")
# What stays as it is in a link the simulator writes (Starlette's RedirectResponse keeps the same set): the
# URL's own delimiters and percent-escapes; anything else (non-ASCII, quotes, angle brackets) is escaped.
_LINK_SAFE = ":/%#?=@[]!$&'()*+,;~"


def check_url(value: Any, param: str, *, required: bool = False) -> str | None:
    """Absolute http(s) URLs only, as Stripe requires ("Not a valid URL"); no backslash, whitespace or
    control character anywhere in them."""
    url = as_string(value, param, required=required, max_length=5000)
    if url is None:
        if required:
            raise missing_param(param)
        return None
    if _UNSAFE_IN_URL.search(url) or any(c.isspace() for c in url):
        raise invalid("Not a valid URL", param=param, code="url_invalid")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("Not a valid URL", param=param, code="url_invalid")
    return url


def link(url: str) -> str:
    """A redirect URL as the simulator writes it into a page or a Location header: percent-encoded."""
    return quote(url, safe=_LINK_SAFE)


_SESSION_PARAMS = frozenset(
    {
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
)


def session_create(params: dict[str, Any], now: int) -> tuple[SessionSpec, list[str]]:
    """Validate POST /v1/checkout/sessions (in Stripe's order of checks); return the spec and the expand list."""
    reject_unknown(params, _SESSION_PARAMS, stripe_knows=stripe_keys(SessionCreateParams))
    _check_mode(params)
    lines = _line_items(params)
    success_url = check_url(params.get("success_url"), "success_url", required=True) or ""
    cancel_url = check_url(params.get("cancel_url"), "cancel_url")
    email = _customer_email(params)
    expires_at = _expires_at(params, now)
    intent_data = as_object(params.get("payment_intent_data"), "payment_intent_data")
    reject_unknown(
        intent_data,
        {"metadata"},
        "payment_intent_data",
        stripe_knows=stripe_keys(SessionCreateParamsPaymentIntentData),
    )
    allow_codes, discounts = _promotions(params)
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
        allowed_countries=allowed_countries(params),
        shipping_options=shipping_options(params),
        phone_number_collection=_phone_number_collection(params),
        customer_creation=_customer_creation(params),
        allow_promotion_codes=allow_codes,
        discounts=discounts,
        custom_text=_custom_text(params),
    )
    return spec, as_expand(params.get("expand"))


def _check_mode(params: dict[str, Any]) -> None:
    mode = as_string(params.get("mode"), "mode", required=True)
    if mode in ("setup", "subscription"):
        raise invalid(f"The rxshop simulator only implements mode=payment, not mode={mode}.", param="mode")
    if mode != "payment":
        raise invalid(
            f"Invalid mode: must be one of payment, setup, or subscription (got {mode!r}).", param="mode"
        )


def _line_items(params: dict[str, Any]) -> list[LineSpec]:
    """1-100 lines in one currency, their total within Stripe's minimum charge and maximum amount."""
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
    _check_total(sum(line.unit_amount * line.quantity for line in lines), lines[0].currency)
    return lines


def _check_total(total: int, currency: str) -> None:
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


def _customer_email(params: dict[str, Any]) -> str | None:
    email = as_string(params.get("customer_email"), "customer_email", max_length=800)
    if email is not None and not _EMAIL.match(email):
        raise invalid(f"Invalid email address: {email}", param="customer_email", code="email_invalid")
    return email


def _expires_at(params: dict[str, Any], now: int) -> int | None:
    """30 minutes to 24 hours ahead of `now` (the simulated clock), with a little slack."""
    expires_at = as_int(params.get("expires_at"), "expires_at")
    if expires_at is None:
        return None
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
    return expires_at


def _promotions(params: dict[str, Any]) -> tuple[bool | None, list[dict[str, str]]]:
    """`allow_promotion_codes` or `discounts`, never both."""
    allow_codes = as_bool(params.get("allow_promotion_codes"), "allow_promotion_codes")
    discounts = _discounts(params)
    if allow_codes is not None and discounts:
        raise invalid(
            "You may only specify one of these parameters: allow_promotion_codes, discounts.",
            param="allow_promotion_codes",
        )
    return allow_codes, discounts


def _line_item(raw: Any, path: str) -> LineSpec:
    item = as_object(raw, path)
    reject_unknown(
        item, {"price_data", "quantity"}, path, stripe_knows=stripe_keys(SessionCreateParamsLineItem)
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
        stripe_knows=stripe_keys(SessionCreateParamsLineItemPriceData),
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
        stripe_knows=stripe_keys(SessionCreateParamsLineItemPriceDataProductData),
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


def _discounts(params: dict[str, Any]) -> list[dict[str, str]]:
    raw = as_list(params.get("discounts"), "discounts")
    if len(raw) > 1:
        raise invalid("You may only specify one discount per Checkout Session.", param="discounts")
    result: list[dict[str, str]] = []
    for i, item in enumerate(raw):
        path = f"discounts[{i}]"
        discount = as_object(item, path)
        reject_unknown(discount, {"coupon", "promotion_code"}, path)
        if len(discount) != 1:
            raise invalid(f"You must specify exactly one of coupon or promotion_code in {path}.", param=path)
        [(key, value)] = discount.items()
        result.append({key: as_string(value, bracket(path, key), required=True) or ""})
    return result


def _custom_text(params: dict[str, Any]) -> dict[str, str]:
    raw = as_object(params.get("custom_text"), "custom_text")
    reject_unknown(raw, stripe_keys(SessionCreateParamsCustomText), "custom_text")
    result: dict[str, str] = {}
    for key, value in raw.items():
        path = bracket("custom_text", key)
        if value == "":
            continue
        entry = as_object(value, path)
        reject_unknown(entry, {"message"}, path)
        result[key] = (
            as_string(entry.get("message"), bracket(path, "message"), required=True, max_length=1200) or ""
        )
    return result


def _phone_number_collection(params: dict[str, Any]) -> bool:
    raw = as_object(params.get("phone_number_collection"), "phone_number_collection")
    reject_unknown(raw, {"enabled"}, "phone_number_collection")
    if raw and "enabled" not in raw:
        raise missing_param("phone_number_collection[enabled]")
    return bool(as_bool(raw.get("enabled"), "phone_number_collection[enabled]"))


def _customer_creation(params: dict[str, Any]) -> str:
    value = as_string(params.get("customer_creation"), "customer_creation")
    if value not in (None, "always", "if_required"):
        raise invalid(
            "Invalid customer_creation: must be one of always or if_required", param="customer_creation"
        )
    return value or "if_required"
