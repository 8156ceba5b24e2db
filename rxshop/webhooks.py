"""POST /stripe/webhook: verify Stripe's signature on the raw body, record each event once, push live updates.

Stripe retries a delivery that did not get a 2xx for up to three days, so we answer 5xx whenever the
outcome could not be recorded, and 2xx only once it is in the database.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxshop import notify
from rxshop.db import in_session
from rxshop.fulfillment import apply_stripe_event
from rxshop.payments import MalformedEvent, event_from_json
from rxshop.settings import get_settings

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300


def _bad_request(reason: str) -> JSONResponse:
    log.warning("Webhook refused: %s", reason)
    return JSONResponse({"error": reason}, status_code=400)


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
    try:
        event = event_from_json(payload)
    except MalformedEvent as err:
        return _bad_request(str(err))
    received_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        result = await in_session(apply_stripe_event, event=event)
    except Exception:
        log.exception("Webhook %s (%s) NOT recorded; answering 500 so Stripe retries", event.id, event.type)
        return JSONResponse({"error": "could not record the event; please retry"}, status_code=500)
    log.info(
        "Webhook event=%s type=%s object=%s received_at=%s outcome=%s order=%s",
        event.id,
        event.type,
        event.object_id,
        received_at,
        result.outcome,
        result.order_id,
    )
    if result.visitor_id and result.order_id:  # duplicates and strangers carry none
        notify.order_changed(result.visitor_id, result.order_id)
    return JSONResponse({"received": True, "outcome": result.outcome})
