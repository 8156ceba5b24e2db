"""Stripe's wire format, read in one place: the plain dataclasses the shop uses for Checkout Sessions,
charges, events and promotion codes, and the parsers from Stripe's JSON (SDK responses and webhook bodies alike)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from rxshop.domain.addresses import ShippingAddress

CHECKOUT_SESSION_ID = re.compile(r"cs_(test|live)_[A-Za-z0-9]{8,200}")


def is_checkout_session_id(value: object) -> bool:
    return isinstance(value, str) and CHECKOUT_SESSION_ID.fullmatch(value) is not None


# Stripe's event ids and types (`stripe_events.id` is 255 characters, `type` 100): anything else is not an
# event of Stripe's, and could not even be recorded as unprocessable.
EVENT_ID = re.compile(r"evt_[A-Za-z0-9_]{1,250}")
EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")

# Bidirectional overrides and isolates: they make a name or an address display as other text (on the
# owner's pages, in the CSV). Other format characters (zero-width joiners) belong to scripts and emoji.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def buyer_text(value: Any) -> str:
    """Text a buyer typed on Stripe's page (names, address lines, email, phone, custom fields), as the shop
    stores and shows it: control characters, lone surrogates and bidi overrides dropped, every run of
    whitespace (line breaks and tabs included) one space, no space at either end.

    Every reader of a buyer-typed field goes through here: PostgreSQL refuses a NUL in text and cannot
    encode a lone surrogate (a JSON "\\ud800"), so one such character in an address line would fail every
    write of the payment, on every retry.
    """
    text = str(value or "")
    if text.isprintable():  # the common case: nothing to drop (whitespace is collapsed below)
        return " ".join(text.split())
    kept = "".join(
        ch
        for ch in text
        if ch.isspace() or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in _BIDI_CONTROLS)
    )
    return " ".join(kept.split())


def _buyer_text_or_none(value: Any) -> str | None:
    return buyer_text(value) or None


@dataclass(frozen=True)
class SessionLine:
    """One line item as Stripe reports it back."""

    description: str
    quantity: int
    unit_amount: int
    amount_total: int


class SessionStatus(StrEnum):
    """A Checkout Session's `status` (NOT_REPORTED: absent, or a value the shop does not know)."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"
    NOT_REPORTED = ""


class PaymentStatus(StrEnum):
    """A Checkout Session's `payment_status` (NOT_REPORTED: absent, or a value the shop does not know)."""

    PAID = "paid"
    UNPAID = "unpaid"
    NO_PAYMENT_REQUIRED = "no_payment_required"
    NOT_REPORTED = ""


@dataclass(frozen=True)
class CheckoutSession:
    """What the shop needs to know of a Stripe Checkout Session."""

    id: str
    url: str | None
    status: SessionStatus
    payment_status: PaymentStatus
    amount_total: int | None
    currency: str
    client_reference_id: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_intent: str | None = None
    created: int = 0
    expires_at: int = 0
    customer_email: str | None = None
    line_items: tuple[SessionLine, ...] | None = None  # None: not expanded
    payment_intent_status: str | None = None  # only when the payment intent was expanded
    livemode: bool = False
    # Amounts Stripe computed: amount_total = amount_subtotal - amount_discount + amount_shipping.
    amount_subtotal: int | None = None  # None: not reported (then the subtotal is the total)
    amount_discount: int = 0
    amount_shipping: int = 0
    shipping_rate: str | None = None  # Stripe's id (shr_...) of the rate the buyer chose
    shipping_options: tuple[tuple[str, int], ...] = ()  # (shr_ id, amount) in the order they were offered
    shipping: ShippingAddress | None = None
    phone: str | None = None
    # The discount applied (`discounts[0]`; Checkout allows one): ids, and the code when expanded.
    promotion_code_id: str | None = None
    coupon_id: str | None = None
    promotion_code: str | None = None


@dataclass(frozen=True)
class Charge:
    """What the shop needs to know of a Stripe charge: its refunds so far, and whose order it paid."""

    id: str
    payment_intent: str | None
    currency: str
    amount_refunded: int  # cumulative, as Stripe reports it
    order_id: str | None  # from the payment intent's metadata, copied onto the charge


CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
CHARGE_EVENTS = frozenset({"charge.refunded"})
# What the shop's webhook endpoint subscribes to (Stripe's enabled_events); any other type is ignored.
HANDLED_EVENTS = CHECKOUT_EVENTS | CHARGE_EVENTS


@dataclass(frozen=True)
class Event:
    """A verified Stripe event; `checkout` or `charge` is set for the types the shop acts on."""

    id: str
    type: str
    created: int
    livemode: bool
    object_id: str
    checkout: CheckoutSession | None = None
    charge: Charge | None = None


class MalformedEvent(ValueError):
    """A signed body that is not a Stripe event the shop can read.

    `event_id` and `event_type` are set when the envelope was readable but its object was not: such an
    event can never be applied, so it is recorded as unprocessable (and not retried by Stripe for days).
    """

    def __init__(
        self, message: str, *, event_id: str | None = None, event_type: str = "", created: int = 0
    ) -> None:
        super().__init__(message)
        self.event_id, self.event_type, self.created = event_id, event_type, created


def _id_of(value: Any) -> str | None:
    """An id from a field Stripe sends either as the id or as the expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


_Status = TypeVar("_Status", SessionStatus, PaymentStatus)


def _member(kind: type[_Status], value: Any) -> _Status:
    """The member for Stripe's value; NOT_REPORTED when absent or unknown (the shop acts on none of those)."""
    try:
        return kind(str(value or ""))
    except ValueError:
        return kind("")


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _line_from_stripe(item: Mapping[str, Any]) -> SessionLine:
    return SessionLine(
        description=str(item.get("description") or ""),
        quantity=int(item.get("quantity") or 0),
        unit_amount=int((item.get("price") or {}).get("unit_amount") or 0),
        amount_total=int(item.get("amount_total") or 0),
    )


def _shipping_from_stripe(obj: Mapping[str, Any]) -> ShippingAddress | None:
    collected = obj.get("collected_information") or {}
    # collected_information since API 2025-03; shipping_details before (kept for older accounts' events).
    details = collected.get("shipping_details") or obj.get("shipping_details")
    if not isinstance(details, Mapping):
        return None
    address = details.get("address") or {}
    return ShippingAddress(
        name=buyer_text(details.get("name")),
        line1=buyer_text(address.get("line1")),
        line2=_buyer_text_or_none(address.get("line2")),
        city=buyer_text(address.get("city")),
        state=_buyer_text_or_none(address.get("state")),
        postal_code=buyer_text(address.get("postal_code")),
        country=buyer_text(address.get("country")).upper(),
    )


def _discount_of(obj: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(promotion code id, coupon id, code) of the session's discount: `discounts[0]`, or the expanded
    `total_details.breakdown.discounts[0].discount`; each may be an id or the expanded object."""
    found = obj.get("discounts") or []
    breakdown = ((obj.get("total_details") or {}).get("breakdown") or {}).get("discounts") or []
    if not found and breakdown and isinstance(breakdown[0], Mapping):
        found = [breakdown[0].get("discount") or {}]
    first = found[0] if found and isinstance(found[0], Mapping) else {}
    promo, coupon = first.get("promotion_code"), first.get("coupon")
    if coupon is None and isinstance(first.get("source"), Mapping):  # the newer discount object
        coupon = first["source"].get("coupon")
    code = promo.get("code") if isinstance(promo, Mapping) else None
    return _id_of(promo), _id_of(coupon), str(code) if code else None


def checkout_from_stripe(obj: Mapping[str, Any]) -> CheckoutSession:
    """A CheckoutSession from Stripe's JSON for a checkout.session: an SDK response's `to_dict()` or a
    webhook's `data.object` alike (line items and the payment intent's status only when expanded)."""
    items = obj.get("line_items")
    lines = None
    if isinstance(items, Mapping) and isinstance(items.get("data"), list):
        lines = tuple(_line_from_stripe(item) for item in items["data"])
    intent = obj.get("payment_intent")
    details = obj.get("customer_details") or {}
    totals = obj.get("total_details") or {}
    cost = obj.get("shipping_cost") or {}
    options = tuple(
        (str(_id_of(o.get("shipping_rate")) or ""), int(o.get("shipping_amount") or 0))
        for o in obj.get("shipping_options") or ()
    )
    promo_id, coupon_id, code = _discount_of(obj)
    return CheckoutSession(
        id=str(obj["id"]),
        url=obj.get("url"),
        status=_member(SessionStatus, obj.get("status")),
        payment_status=_member(PaymentStatus, obj.get("payment_status")),
        amount_total=_int_or_none(obj.get("amount_total")),
        currency=str(obj.get("currency") or "").lower(),
        client_reference_id=obj.get("client_reference_id"),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        payment_intent=_id_of(intent),
        created=int(obj.get("created") or 0),
        expires_at=int(obj.get("expires_at") or 0),
        customer_email=_buyer_text_or_none(details.get("email") or obj.get("customer_email")),
        line_items=lines,
        payment_intent_status=intent.get("status") if isinstance(intent, Mapping) else None,
        livemode=bool(obj.get("livemode")),
        amount_subtotal=_int_or_none(obj.get("amount_subtotal")),
        amount_discount=int(totals.get("amount_discount") or 0),
        amount_shipping=int(totals.get("amount_shipping") or cost.get("amount_total") or 0),
        shipping_rate=_id_of(cost.get("shipping_rate")),
        shipping_options=options,
        shipping=_shipping_from_stripe(obj),
        phone=_buyer_text_or_none(details.get("phone")),
        promotion_code_id=promo_id,
        coupon_id=coupon_id,
        promotion_code=code,
    )


@dataclass(frozen=True)
class PromotionCode:
    """A promotion code and what its coupon takes off (percent_off, or amount_off in `currency`)."""

    id: str
    code: str
    active: bool
    coupon_id: str
    percent_off: float | None
    amount_off: int | None
    currency: str
    max_redemptions: int | None
    expires_at: int | None  # unix seconds (the code's, or its coupon's redeem_by if earlier)
    times_redeemed: int
    created: int


def promotion_code_from_stripe(
    obj: Mapping[str, Any], coupons: Mapping[str, Mapping[str, Any]]
) -> PromotionCode:
    """A PromotionCode from Stripe's JSON, with its coupon found in `coupons` (by id) or expanded in place.

    The coupon sits in `promotion.coupon` since API 2025-09 (`coupon` before)."""
    raw = (obj.get("promotion") or {}).get("coupon") or obj.get("coupon")
    coupon = raw if isinstance(raw, Mapping) else coupons.get(str(raw or ""), {})
    limits = [x for x in (obj.get("expires_at"), coupon.get("redeem_by")) if x]
    percent = coupon.get("percent_off")
    return PromotionCode(
        id=str(obj["id"]),
        code=str(obj.get("code") or ""),
        active=bool(obj.get("active")) and coupon.get("valid", True) is not False,
        coupon_id=str(_id_of(raw) or ""),
        percent_off=float(percent) if percent is not None else None,
        amount_off=_int_or_none(coupon.get("amount_off")),
        currency=str(coupon.get("currency") or "").lower(),
        max_redemptions=_int_or_none(obj.get("max_redemptions") or coupon.get("max_redemptions")),
        expires_at=int(min(limits)) if limits else None,
        times_redeemed=int(obj.get("times_redeemed") or 0),
        created=int(obj.get("created") or 0),
    )


def charge_from_stripe(obj: Mapping[str, Any]) -> Charge:
    """A Charge from Stripe's JSON for a charge (e.g. a charge.refunded event's `data.object`)."""
    return Charge(
        id=str(obj["id"]),
        payment_intent=_id_of(obj.get("payment_intent")),
        currency=str(obj.get("currency") or "").lower(),
        amount_refunded=int(obj.get("amount_refunded") or 0),
        order_id=str((obj.get("metadata") or {}).get("order_id") or "") or None,
    )


def event_from_json(payload: bytes) -> Event:
    """A verified webhook body as an Event; raises MalformedEvent when it is not one we can read.

    The object is parsed for the types the shop acts on; any other type keeps only its object's id.
    """
    try:
        event = json.loads(payload)
    except ValueError as err:
        raise MalformedEvent("not a Stripe event") from err
    return event_from_stripe(event)


def event_from_stripe(event: Any) -> Event:
    """An Event from Stripe's JSON for an event: a webhook body, or one listed by GET /v1/events."""
    try:
        event_id, event_type = event["id"], event["type"]
        created = int(event.get("created") or 0)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise MalformedEvent("not a Stripe event") from err
    if not (
        isinstance(event_id, str)
        and EVENT_ID.fullmatch(event_id)
        and isinstance(event_type, str)
        and EVENT_TYPE.fullmatch(event_type)
    ):
        raise MalformedEvent("event without an id or a type")
    try:
        obj = event["data"]["object"]
        if not (isinstance(obj, dict) and isinstance(obj.get("id"), str)):
            raise TypeError("the object has no id")
        checkout = checkout_from_stripe(obj) if event_type in CHECKOUT_EVENTS else None
        charge = charge_from_stripe(obj) if event_type in CHARGE_EVENTS else None
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise MalformedEvent(
            f"malformed {event_type} object: {err}", event_id=event_id, event_type=event_type, created=created
        ) from err
    return Event(
        id=event_id,
        type=event_type,
        created=created,
        livemode=bool(event.get("livemode")),
        object_id=obj["id"],
        checkout=checkout,
        charge=charge,
    )
