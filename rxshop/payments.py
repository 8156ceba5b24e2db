"""CheckoutGateway: the shop's only door to Stripe (or the simulator), async, returning plain dataclasses."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import stripe

from rxshop.settings import Settings, get_settings


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


def _session_from_stripe(data: dict[str, Any]) -> CheckoutSession:
    """A plain CheckoutSession from the JSON Stripe returns (line items only when expanded)."""
    items = data.get("line_items")
    lines = None
    if isinstance(items, dict):
        lines = tuple(
            SessionLine(
                description=item.get("description") or "",
                quantity=int(item.get("quantity") or 0),
                unit_amount=int((item.get("price") or {}).get("unit_amount") or 0),
                amount_total=int(item.get("amount_total") or 0),
            )
            for item in items.get("data") or ()
        )
    payment_intent = data.get("payment_intent")
    payment_intent_status = None
    if isinstance(payment_intent, dict):
        payment_intent, payment_intent_status = payment_intent.get("id"), payment_intent.get("status")
    details = data.get("customer_details") or {}
    return CheckoutSession(
        id=data["id"],
        url=data.get("url"),
        status=data.get("status") or "open",
        payment_status=data.get("payment_status") or "unpaid",
        amount_total=data.get("amount_total"),
        currency=(data.get("currency") or "").lower(),
        client_reference_id=data.get("client_reference_id"),
        metadata=dict(data.get("metadata") or {}),
        payment_intent=payment_intent,
        created=int(data.get("created") or 0),
        expires_at=int(data.get("expires_at") or 0),
        customer_email=details.get("email") or data.get("customer_email"),
        line_items=lines,
        payment_intent_status=payment_intent_status,
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
    ) -> CheckoutSession:
        """Create a payment-mode Checkout Session for one order; the same key returns the same session."""
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
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params,
                options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
            )
        except stripe.StripeError as err:
            raise _translate(err) from err
        return _session_from_stripe(session.to_dict())

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
        return _session_from_stripe(session.to_dict())

    async def expire_session(self, session_id: str) -> CheckoutSession:
        try:
            session = await self._client.v1.checkout.sessions.expire_async(session_id)
        except stripe.StripeError as err:
            raise _translate(err) from err
        return _session_from_stripe(session.to_dict())

    async def list_sessions(self, *, created_gte: int, page_size: int = 100) -> list[CheckoutSession]:
        """Every session created since `created_gte` (unix seconds), following Stripe's pagination."""
        params: dict[str, Any] = {"limit": page_size, "created": {"gte": created_gte}}
        found: list[CheckoutSession] = []
        try:
            page = await self._client.v1.checkout.sessions.list_async(params)  # type: ignore[arg-type]
            async for session in page.auto_paging_iter():
                found.append(_session_from_stripe(session.to_dict()))
        except stripe.StripeError as err:
            raise _translate(err) from err
        return found

    async def refund(self, *, payment_intent: str, idempotency_key: str, amount: int | None = None) -> Refund:
        """Refund all (amount=None) or part of a payment; the key makes a repeated click harmless."""
        params: dict[str, Any] = {"payment_intent": payment_intent}
        if amount is not None:
            params["amount"] = amount
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


_gateway: CheckoutGateway | None = None


def get_gateway() -> CheckoutGateway:
    """This process's gateway, made on first use (never at import: production forks workers after import)."""
    global _gateway
    if _gateway is None:
        _gateway = CheckoutGateway.from_settings()
    return _gateway
