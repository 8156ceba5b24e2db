"""CheckoutGateway: async calls to Stripe (or the simulator), and the few errors the shop acts on.

What Stripe answers is read by `rxshop.payments.wire`, the only reader of Stripe's format.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import stripe
from stripe.params import EventListParams, RefundCreateParams
from stripe.params.checkout import SessionListParams, SessionRetrieveParams

from rxshop.core.settings import Settings, get_settings
from rxshop.domain.shipping import ShippingOption
from rxshop.payments.wire import (
    CheckoutSession,
    Event,
    PromotionCode,
    checkout_from_stripe,
    event_from_stripe,
    promotion_code_from_stripe,
)


@dataclass(frozen=True)
class CheckoutLineRequest:
    """One line of a Checkout Session we ask for (prices from the server's catalog)."""

    name: str
    unit_amount: int
    quantity: int
    product_id: str = ""


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


UNAVAILABLE_MESSAGE = (
    "The payment service is not answering right now. Your cart is kept; please try again in a moment."
)
_REJECTED = "The payment service refused this checkout. Your cart is kept; please try again."
_NOT_FOUND = "We could not find that checkout."

log = logging.getLogger(__name__)

# Each request to Stripe waits at most REQUEST_TIMEOUT_SECONDS for a connection or for the next byte, and the
# SDK tries a failed one (connection error, timeout, 409/429/5xx) NETWORK_RETRIES more time after a 0.5 s
# backoff: a Stripe that hangs costs a caller about 4 + 0.5 + 4 = 8.5 s (the return page, a refund). Buy
# holds its whole call to a deadline of its own (`create_session(deadline=...)`, orders/checkout.py).
REQUEST_TIMEOUT_SECONDS = 4.0
NETWORK_RETRIES = 1


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
        return PaymentUnavailable(UNAVAILABLE_MESSAGE)
    if isinstance(err, stripe.APIError) or (err.http_status or 0) >= 500:
        return PaymentUnavailable(UNAVAILABLE_MESSAGE, same_key_may_succeed=False)
    return PaymentRejected(_REJECTED)


class CheckoutGateway:
    """Async access to Checkout Sessions and refunds, on Stripe or on a Stripe-compatible simulator.

    Callers pass idempotency keys derived from their own orders: the SDK's automatic keys only cover its
    own retries, so a second Buy click would otherwise create a second session.
    """

    def __init__(self, client: stripe.StripeClient):
        self._client = client

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_network_retries: int = NETWORK_RETRIES,
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
        cls,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        max_network_retries: int = NETWORK_RETRIES,
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
        shipping_options: Sequence[ShippingOption] = (),
        allowed_countries: Sequence[str] = (),
        collect_phone: bool = False,
        allow_promotion_codes: bool = False,
        deadline: float | None = None,
    ) -> CheckoutSession:
        """Create a payment-mode Checkout Session for one order; the same key returns the same session.

        Shipping rates go as `shipping_rate_data` with amounts decided here (never by the browser), in the
        order given: Stripe keeps that order, and fulfillment reads the chosen rate back by it.
        `deadline`: seconds for the whole call, the SDK's retries included; past it, PaymentUnavailable (a
        retry with the same key may still succeed: Stripe may have made the session, and then replays it).
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
            async with asyncio.timeout(deadline):
                # The SDK's raw request: the same encoding, retries, idempotency and errors as
                # sessions.create_async, without building StripeObjects from the response only to read it
                # back as JSON (a tenth of a Buy's CPU in a burst, bench/RESULTS.md).
                response = await self._client.raw_request_async(
                    "post", "/v1/checkout/sessions", **params, idempotency_key=idempotency_key
                )
        except stripe.StripeError as err:
            raise _translate(err) from err
        except TimeoutError as err:
            log.warning("Stripe did not answer a checkout for order %s within %.1f s", order_id, deadline)
            raise PaymentUnavailable(UNAVAILABLE_MESSAGE) from err
        return checkout_from_stripe(response.data)

    async def retrieve_session(
        self, session_id: str, *, expand_line_items: bool = True, expand_payment_intent: bool = False
    ) -> CheckoutSession:
        """The session as Stripe knows it now; with its line items so the order can be checked line by line,
        and its payment intent where a completed-but-unpaid session may have failed since."""
        expand = (["line_items"] if expand_line_items else []) + (
            ["payment_intent"] if expand_payment_intent else []
        )
        params: SessionRetrieveParams = {"expand": expand} if expand else {}
        try:
            session = await self._client.v1.checkout.sessions.retrieve_async(session_id, params)
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
        params: SessionListParams = {"limit": page_size, "created": {"gte": created_gte}}
        found: list[CheckoutSession] = []
        try:
            page = await self._client.v1.checkout.sessions.list_async(params)
            async for session in page.auto_paging_iter():
                found.append(checkout_from_stripe(session.to_dict()))
        except stripe.StripeError as err:
            raise _translate(err) from err
        return found

    async def list_events(self, *, type: str, created_gte: int, page_size: int = 100) -> list[Event]:
        """Every event of `type` since `created_gte` (Stripe keeps events 30 days), oldest first.

        Reconciliation replays them through the webhook's own path: one already received is a duplicate.
        """
        params: EventListParams = {"type": type, "limit": page_size, "created": {"gte": created_gte}}
        found: list[Event] = []
        try:
            page = await self._client.v1.events.list_async(params)
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
        reason: str | None = None,
    ) -> Refund:
        """Refund all (amount=None) or part of a payment; the key makes a repeated click harmless.

        `reason`: Stripe's duplicate, fraudulent or requested_by_customer (None: no reason given)."""
        params: RefundCreateParams = {"payment_intent": payment_intent}
        if amount is not None:
            params["amount"] = amount
        if reason is not None:
            params["reason"] = reason
        if metadata:
            params["metadata"] = dict(metadata)
        try:
            refund = await self._client.v1.refunds.create_async(
                params, options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as err:
            raise _translate(err) from err
        return Refund(
            id=refund.id, payment_intent=payment_intent, amount=refund.amount, status=refund.status or ""
        )

    # --- Promotion codes (the owner's Discounts page) ---------------------------------------------------------

    async def list_promotion_codes(self, *, limit: int = 100) -> list[PromotionCode]:
        """The account's promotion codes, newest first, each with its coupon's terms (two list calls)."""
        try:
            coupons = await self._client.v1.coupons.list_async({"limit": limit})
            codes = await self._client.v1.promotion_codes.list_async({"limit": limit})
        except stripe.StripeError as err:
            raise _translate(err) from err
        by_id = {c.id: c.to_dict() for c in coupons.data}
        return [promotion_code_from_stripe(p.to_dict(), by_id) for p in codes.data]

    async def create_promotion_code(
        self,
        *,
        code: str,
        currency: str,
        idempotency_key: str,
        percent_off: float | None = None,
        amount_off: int | None = None,
        max_redemptions: int | None = None,
        expires_at: int | None = None,
    ) -> PromotionCode:
        """A coupon (percent or amount off, once) and its customer-facing code; one key makes one of each."""
        coupon: dict[str, Any] = {"duration": "once", "name": code[:40]}
        if percent_off is not None:
            coupon["percent_off"] = percent_off
        else:
            coupon.update(amount_off=amount_off, currency=currency)
        promo: dict[str, Any] = {"code": code}
        if max_redemptions is not None:
            promo["max_redemptions"] = max_redemptions
        if expires_at is not None:
            promo["expires_at"] = expires_at
        try:
            made = await self._client.v1.coupons.create_async(
                coupon,  # type: ignore[arg-type]
                options={"idempotency_key": f"{idempotency_key}-coupon"},
            )
            promo["promotion"] = {"type": "coupon", "coupon": made.id}
            created = await self._client.v1.promotion_codes.create_async(
                promo,  # type: ignore[arg-type]
                options={"idempotency_key": f"{idempotency_key}-code"},
            )
        except stripe.InvalidRequestError as err:
            if err.code == "resource_already_exists":
                raise PaymentRejected("A code with that text is already active.") from err
            _translate(err)  # logged; Stripe's own words are for the owner here, not for a buyer
            raise PaymentRejected(str(err.user_message or "Stripe refused these terms.")) from err
        except stripe.StripeError as err:
            raise _translate(err) from err
        return promotion_code_from_stripe(created.to_dict(), {made.id: made.to_dict()})

    async def deactivate_promotion_code(self, promotion_code_id: str) -> PromotionCode:
        """Stop a code from being used (Stripe keeps it, and the orders that used it keep their discount)."""
        try:
            updated = await self._client.v1.promotion_codes.update_async(promotion_code_id, {"active": False})
        except stripe.StripeError as err:
            raise _translate(err) from err
        return promotion_code_from_stripe(updated.to_dict(), {})


def _shipping_option(option: ShippingOption, currency: str) -> dict[str, Any]:
    rate = option.rate
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
