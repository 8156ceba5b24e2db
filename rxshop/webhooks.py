"""POST /stripe/webhook: verify Stripe's signature on the raw body, record each event once, push live updates.

Stripe retries a delivery that did not get a 2xx for up to three days, so we answer 5xx whenever the
outcome could not be recorded, and 2xx only once it is in the database.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxshop import orders
from rxshop.db import new_session, run_sync
from rxshop.settings import get_settings

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
_pushes: set[asyncio.Task] = set()
# Set by the app (rxshop.rxshop) to push changes to the visitor's open tabs; None outside the app.
order_listener: Callable[[str], Awaitable[None]] | None = None


def _bad_request(reason: str) -> JSONResponse:
    log.warning("Webhook refused: %s", reason)
    return JSONResponse({"error": reason}, status_code=400)


def _parse(payload: bytes) -> tuple[str, str, int, dict] | None:
    """(event id, type, created, data.object) of a well-formed event, else None."""
    try:
        event = json.loads(payload)
        event_id, event_type, obj = event["id"], event["type"], event["data"]["object"]
        created = int(event.get("created") or 0)
    except (ValueError, KeyError, TypeError):
        return None
    if not (
        isinstance(event_id, str)
        and event_id.startswith("evt_")
        and isinstance(event_type, str)
        and isinstance(obj, dict)
        and isinstance(obj.get("id"), str)
    ):
        return None
    return event_id, event_type, created, obj


def _record(event_id: str, event_type: str, obj: dict, created: int) -> orders.EventResult:
    with new_session() as session:
        return orders.apply_stripe_event(
            session=session, event_id=event_id, event_type=event_type, obj=obj, created=created
        )


async def stripe_webhook(request: Request) -> JSONResponse:
    secret = get_settings().stripe_webhook_secret
    if not secret:
        log.error("Webhook refused with 503: STRIPE_WEBHOOK_SECRET is not set (see .env.example).")
        return JSONResponse({"error": "webhook secret not configured"}, status_code=503)
    payload = await request.body()
    try:
        # Checks every v1= signature in the header, so a secret rotation (two signatures) passes.
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            request.headers.get("stripe-signature", ""),
            secret,
            SIGNATURE_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as err:
        return _bad_request(f"signature: {err}")
    parsed = _parse(payload)
    if parsed is None:
        return _bad_request("malformed event body")
    event_id, event_type, created, obj = parsed
    received_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        result = await run_sync(_record, event_id, event_type, obj, created)
    except Exception:
        log.exception("Webhook %s (%s) NOT recorded; answering 500 so Stripe retries", event_id, event_type)
        return JSONResponse({"error": "could not record the event; please retry"}, status_code=500)
    log.info(
        "Webhook event=%s type=%s session=%s received_at=%s outcome=%s order=%s",
        event_id,
        event_type,
        obj.get("id") if event_type.startswith("checkout.session.") else obj.get("payment_intent"),
        received_at,
        result.outcome,
        result.order_id,
    )
    if order_listener is not None and result.visitor_id:  # duplicates and strangers carry none
        # After the answer: Stripe waits for nobody's browser.
        task = asyncio.create_task(order_listener(result.visitor_id))
        _pushes.add(task)
        task.add_done_callback(_pushes.discard)
    return JSONResponse({"received": True, "outcome": result.outcome})
