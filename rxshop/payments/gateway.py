"""Stripe, in one module: CheckoutGateway (async calls to Stripe or the simulator) and the only code that
reads Stripe's wire format, for SDK responses and webhook events alike, into plain dataclasses."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import stripe

from rxshop.core.settings import Settings, get_settings
from rxshop.domain.shipping import RATES

CHECKOUT_SESSION_ID = re.compile(r"cs_(test|live)_[A-Za-z0-9]{8,200}")


def is_checkout_session_id(value: object) -> bool:
    return isinstance(value, str) and CHECKOUT_SESSION_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class CheckoutLineRequest:
    """One line of a Checkout Session we ask for (prices from the server's catalog)."""

    name: str
    unit_amount: int
    quantity: int
    product_id: str = ""


@dataclass(frozen=True)
class SessionLine:
    """One line item as Stripe reports it back."""

    description: str
    quantity: int
    unit_amount: int
    amount_total: int


@dataclass(frozen=True)
class ShippingChoice:
    """One shipping option to offer on Stripe's page (our rate id rides along in the rate's metadata)."""

    rate_id: str
    name: str
    amount: int


@dataclass(frozen=True)
class ShippingDetails:
    """Where the buyer asked Stripe to ship (collected_information.shipping_details)."""

    name: str
    line1: str
    line2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str


@dataclass(frozen=True)
class CheckoutSession:
    """What the shop needs to know of a Stripe Checkout Session."""

    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
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
    shipping: ShippingDetails | None = None
    phone: str | None = None


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


@dataclass(frozen=True)
class Refund:
    id: str
    payment_intent: str
    amount: int
    status: str


class PaymentError(Exception):
    """A payment problem; `str(err)` is a message a buyer can read (no internals)."""


class PaymentUnavailable(PaymentError):
    """Stripe could not be reached, was overloaded or failed; trying again later may work.

    `same_key_may_succeed`: False after a 5xx, which Stripe stores under the idempotency key and replays,
    so a retry needs a new key; True after a timeout, dropped connection or 429 (nothing stored).
    """

    def __init__(self, message: str, *, same_key_may_succeed: bool = True):
        super().__init__(message)
        self.same_key_may_succeed = same_key_may_succeed


class PaymentRejected(PaymentError):
    """Stripe refused the request as it stands; retrying it unchanged will not help."""


class SessionNotFound(PaymentError):
    """No Checkout Session with that id (for this account)."""


_UNAVAILABLE = (
    "The payment service is not answering right now. Your cart is kept; please try again in a moment."
)
_REJECTED = "The payment service refused this checkout. Your cart is kept; please try again."
_NOT_FOUND = "We could not find that checkout."

log = logging.getLogger(__name__)


def _translate(err: stripe.StripeError) -> PaymentError:
    """Map the SDK's exceptions to the few errors the shop acts on, logging the details we hide."""
    log.warning(
        "Stripe error %s (status %s, code %s): %s",
        type(err).__name__,
        err.http_status,
        err.code,
        err.user_message or err,
    )
    if isinstance(err, stripe.InvalidRequestError) and err.code == "resource_missing":
        return SessionNotFound(_NOT_FOUND)
    if isinstance(err, (stripe.APIConnectionError, stripe.RateLimitError)):
        return PaymentUnavailable(_UNAVAILABLE)
    if isinstance(err, stripe.APIError) or (err.http_status or 0) >= 500:
        return PaymentUnavailable(_UNAVAILABLE, same_key_may_succeed=False)
    return PaymentRejected(_REJECTED)


def _id_of(value: Any) -> str | None:
    """An id from a field Stripe sends either as the id or as the expanded object."""
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _line_from_stripe(item: Mapping[str, Any]) -> SessionLine:
    return SessionLine(
        description=str(item.get("description") or ""),
        quantity=int(item.get("quantity") or 0),
        unit_amount=int((item.get("price") or {}).get("unit_amount") or 0),
        amount_total=int(item.get("amount_total") or 0),
    )


def _shipping_from_stripe(obj: Mapping[str, Any]) -> ShippingDetails | None:
    collected = obj.get("collected_information") or {}
    # collected_information since API 2025-03; shipping_details before (kept for older accounts' events).
    details = collected.get("shipping_details") or obj.get("shipping_details")
    if not isinstance(details, Mapping):
        return None
    address = details.get("address") or {}
    return ShippingDetails(
        name=str(details.get("name") or ""),
        line1=str(address.get("line1") or ""),
        line2=address.get("line2") or None,
        city=str(address.get("city") or ""),
        state=address.get("state") or None,
        postal_code=str(address.get("postal_code") or ""),
        country=str(address.get("country") or "").upper(),
    )


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
    return CheckoutSession(
        id=str(obj["id"]),
        url=obj.get("url"),
        status=str(obj.get("status") or ""),
        payment_status=str(obj.get("payment_status") or ""),
        amount_total=_int_or_none(obj.get("amount_total")),
        currency=str(obj.get("currency") or "").lower(),
        client_reference_id=obj.get("client_reference_id"),
        metadata={str(k): str(v) for k, v in (obj.get("metadata") or {}).items()},
        payment_intent=_id_of(intent),
        created=int(obj.get("created") or 0),
        expires_at=int(obj.get("expires_at") or 0),
        customer_email=details.get("email") or obj.get("customer_email"),
        line_items=lines,
        payment_intent_status=intent.get("status") if isinstance(intent, Mapping) else None,
        livemode=bool(obj.get("livemode")),
        amount_subtotal=_int_or_none(obj.get("amount_subtotal")),
        amount_discount=int(totals.get("amount_discount") or 0),
        amount_shipping=int(totals.get("amount_shipping") or cost.get("amount_total") or 0),
        shipping_rate=_id_of(cost.get("shipping_rate")),
        shipping_options=options,
        shipping=_shipping_from_stripe(obj),
        phone=details.get("phone") or None,
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
    if not (isinstance(event_id, str) and event_id.startswith("evt_") and isinstance(event_type, str)):
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


class CheckoutGateway:
    """Async access to Checkout Sessions and refunds, on Stripe or on a Stripe-compatible simulator.

    Callers pass idempotency keys derived from their own orders: the SDK's automatic keys only cover its
    own retries, so a second Buy click would otherwise create a second session.
    """

    def __init__(self, client: stripe.StripeClient):
        self._client = client

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, *, timeout: float = 15.0, max_network_retries: int = 2
    ) -> CheckoutGateway:
        """Stripe itself when STRIPE_SECRET_KEY is set; the simulator (STRIPE_API_BASE or built-in) otherwise."""
        settings = settings or get_settings()
        return cls.connect(
            settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            timeout=timeout,
            max_network_retries=max_network_retries,
        )

    @classmethod
    def connect(
        cls, api_key: str, *, api_base: str | None = None, timeout: float = 15.0, max_network_retries: int = 2
    ) -> CheckoutGateway:
        bases: dict[str, str] = {"api": api_base} if api_base else {}
        client = stripe.StripeClient(
            api_key,
            base_addresses=bases,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            # httpx for real async I/O on the event loop; sync methods too, for the CLI.
            http_client=stripe.HTTPXClient(timeout=timeout, allow_sync_methods=True),
        )
        return cls(client)

    async def create_session(
        self,
        *,
        order_id: str,
        lines: Sequence[CheckoutLineRequest],
        currency: str,
        success_url: str,
        cancel_url: str,
        expires_at: int,
        idempotency_key: str,
        customer_email: str | None = None,
        shipping_options: Sequence[ShippingChoice] = (),
        allowed_countries: Sequence[str] = (),
        collect_phone: bool = False,
        allow_promotion_codes: bool = False,
    ) -> CheckoutSession:
        """Create a payment-mode Checkout Session for one order; the same key returns the same session.

        Shipping rates go as `shipping_rate_data` with amounts decided here (never by the browser), in the
        order given: Stripe keeps that order, and fulfillment reads the chosen rate back by it.
        """
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": line.unit_amount,
                        "product_data": {"name": line.name, "metadata": {"product_id": line.product_id}},
                    },
                    "quantity": line.quantity,
                }
                for line in lines
            ],
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": order_id,
            "metadata": {"order_id": order_id},
            # Refund events carry the charge, not the session: the order id rides along on it.
            "payment_intent_data": {"metadata": {"order_id": order_id}},
            "expires_at": expires_at,
        }
        if customer_email:
            params["customer_email"] = customer_email
        if allowed_countries:
            params["shipping_address_collection"] = {"allowed_countries": list(allowed_countries)}
        if shipping_options:
            params["shipping_options"] = [_shipping_option(o, currency) for o in shipping_options]
        if collect_phone:
            params["phone_number_collection"] = {"enabled": True}
        if allow_promotion_codes:
            params["allow_promotion_codes"] = True
        try:
            # The SDK's raw request: the same encoding, retries, idempotency and errors as
            # sessions.create_async, without building StripeObjects from the response only to read it back
            # as JSON (a tenth of a Buy's CPU in a burst, bench/RESULTS.md).
            response = await self._client.raw_request_async(
                "post", "/v1/checkout/sessions", **params, idempotency_key=idempotency_key
            )
        except stripe.StripeError as err:
            raise _translate(err) from err
        return checkout_from_stripe(response.data)

    async def retrieve_session(
        self, session_id: str, *, expand_line_items: bool = True, expand_payment_intent: bool = False
    ) -> CheckoutSession:
        """The session as Stripe knows it now; with its line items so the order can be checked line by line,
        and its payment intent where a completed-but-unpaid session may have failed since."""
        expand = (["line_items"] if expand_line_items else []) + (
            ["payment_intent"] if expand_payment_intent else []
        )
        params: dict[str, Any] = {"expand": expand} if expand else {}
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id, params)  # type: ignore[arg-type]
        except stripe.StripeError as err:
            raise _translate(err) from err
        return checkout_from_stripe(session.to_dict())

    async def expire_session(self, session_id: str) -> CheckoutSession:
        try:
            session = await self._client.v1.checkout.sessions.expire_async(session_id)
        except stripe.StripeError as err:
            raise _translate(err) from err
        return checkout_from_stripe(session.to_dict())

    async def list_sessions(self, *, created_gte: int, page_size: int = 100) -> list[CheckoutSession]:
        """Every session created since `created_gte` (unix seconds), following Stripe's pagination."""
        params: dict[str, Any] = {"limit": page_size, "created": {"gte": created_gte}}
        found: list[CheckoutSession] = []
        try:
            page = await self._client.v1.checkout.sessions.list_async(params)  # type: ignore[arg-type]
            async for session in page.auto_paging_iter():
                found.append(checkout_from_stripe(session.to_dict()))
        except stripe.StripeError as err:
            raise _translate(err) from err
        return found

    async def list_events(self, *, type: str, created_gte: int, page_size: int = 100) -> list[Event]:
        """Every event of `type` since `created_gte` (Stripe keeps events 30 days), oldest first.

        Reconciliation replays them through the webhook's own path: one already received is a duplicate.
        """
        params: dict[str, Any] = {"type": type, "limit": page_size, "created": {"gte": created_gte}}
        found: list[Event] = []
        try:
            page = await self._client.v1.events.list_async(params)  # type: ignore[arg-type]
            async for event in page.auto_paging_iter():
                found.append(event_from_stripe(event.to_dict()))
        except stripe.StripeError as err:
            raise _translate(err) from err
        return found[::-1]

    async def refund(
        self,
        *,
        payment_intent: str,
        idempotency_key: str,
        amount: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Refund:
        """Refund all (amount=None) or part of a payment; the key makes a repeated click harmless."""
        params: dict[str, Any] = {"payment_intent": payment_intent}
        if amount is not None:
            params["amount"] = amount
        if metadata:
            params["metadata"] = dict(metadata)
        try:
            refund = await self._client.v1.refunds.create_async(
                params,
                options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
            )
        except stripe.StripeError as err:
            raise _translate(err) from err
        return Refund(
            id=refund.id, payment_intent=payment_intent, amount=refund.amount, status=refund.status or ""
        )


def _shipping_option(option: ShippingChoice, currency: str) -> dict[str, Any]:
    rate = next((r for r in RATES if r.id == option.rate_id), None)
    data: dict[str, Any] = {
        "type": "fixed_amount",
        "display_name": option.name,
        "fixed_amount": {"amount": option.amount, "currency": currency},
        "metadata": {"rate_id": option.rate_id},
    }
    if rate is not None:
        data["delivery_estimate"] = {
            "minimum": {"unit": "business_day", "value": rate.min_days},
            "maximum": {"unit": "business_day", "value": rate.max_days},
        }
    return {"shipping_rate_data": data}


_gateway: CheckoutGateway | None = None


def get_gateway() -> CheckoutGateway:
    """This process's gateway, made on first use (never at import: production forks workers after import)."""
    global _gateway
    if _gateway is None:
        _gateway = CheckoutGateway.from_settings()
    return _gateway
