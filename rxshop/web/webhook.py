"""POST /stripe/webhook: verify Stripe's signature on the raw body, record each event once, push live updates.

Stripe retries a delivery that did not get a 2xx for up to three days, so we answer 5xx whenever the
outcome could not be recorded (the database, a timeout: core/db_deadline.py bounds every call), and 2xx
only once it is on disk. A signed event whose data can never be applied (unreadable, or refused for good
by the database: `webhook_batch`) is recorded as unprocessable (for the owner) and answered 200.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import stripe
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from rxshop.core import notify
from rxshop.core.db import GroupCommit, in_session
from rxshop.core.settings import get_settings
from rxshop.domain.lifecycle import Outcome
from rxshop.orders.stripe_events import EventResult, record_unprocessable
from rxshop.orders.webhook_batch import apply_webhook_events
from rxshop.payments.wire import Event, MalformedEvent, event_from_json
from rxshop.web.limits import MAX_BODY_BYTES, capped

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
# What a healthy shop sees for nearly every event; anything else is worth a line in the log.
OWNER_OUTCOMES = frozenset({Outcome.UNKNOWN_SESSION, Outcome.UNPROCESSABLE})
ROUTINE_OUTCOMES = frozenset({Outcome.FULFILLED, Outcome.ALREADY_PAID, Outcome.DUPLICATE, Outcome.IGNORED})


# Group commit: deliveries arriving while the database works on earlier ones wait together, and go in one
# transaction (one thread hop, one COMMIT) as soon as it is free; each is answered after that COMMIT.
MAX_BATCH = 100
_deliveries: GroupCommit[Event, EventResult] = GroupCommit(
    lambda events: in_session(apply_webhook_events, events=events), MAX_BATCH
)


def _bad_request(reason: str) -> JSONResponse:
    log.warning("Webhook refused: %s", reason)
    return JSONResponse({"error": reason}, status_code=400)


async def receive_event(request: Request) -> JSONResponse:
    """The webhook's handler; `stripe_webhook` (below) is it under the body cap."""
    settings = get_settings()
    secret = settings.stripe_webhook_secret
    if not secret:
        log.error("Webhook refused with 503: STRIPE_WEBHOOK_SECRET is not set (see .env.example).")
        return JSONResponse({"error": "webhook secret not configured"}, status_code=503)
    try:
        payload = await request.body()
    except HTTPException as err:  # Starlette's 413 past the cap (answered by Starlette)
        log.warning("Webhook refused with %d: body over %d bytes", err.status_code, MAX_BODY_BYTES)
        raise
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
        if err.event_id is None:
            return _bad_request(str(err))
        return await _unprocessable(err.event_id, err.event_type, err.created, str(err))
    if event.livemode != settings.livemode:
        # A test-mode endpoint receiving live events (or the reverse) is misconfigured: apply nothing.
        return _bad_request(f"livemode={event.livemode} event for a livemode={settings.livemode} shop")
    received_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    try:
        result = await _deliveries.submit(event)
    except Exception:
        log.exception("Webhook %s (%s) NOT recorded; answering 500 so Stripe retries", event.id, event.type)
        return JSONResponse({"error": "could not record the event; please retry"}, status_code=500)
    # Routine outcomes at DEBUG: the stripe_events row holds the same (id, type, session, order, outcome,
    # received_at) for every event, and a log line per event was 9 % of the endpoint's CPU under load.
    log.log(
        logging.DEBUG if result.outcome in ROUTINE_OUTCOMES else logging.INFO,
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
    elif result.outcome in OWNER_OUTCOMES:  # the inbox got an item no order change announces
        notify.inbox_changed()
    return JSONResponse({"received": True, "outcome": result.outcome})


# The endpoint to route at routes.STRIPE_WEBHOOK (POST): 413 past MAX_BODY_BYTES, declared or streamed.
stripe_webhook = capped(receive_event, MAX_BODY_BYTES)


async def _unprocessable(event_id: str, event_type: str, created: int, detail: str) -> JSONResponse:
    """Record a signed event that can never be applied and answer 200: Stripe would retry it for days."""
    try:
        outcome = await in_session(
            record_unprocessable, event_id=event_id, event_type=event_type, created=created, detail=detail
        )
    except Exception:
        log.exception("Webhook %s (%s) NOT recorded; answering 500 so Stripe retries", event_id, event_type)
        return JSONResponse({"error": "could not record the event; please retry"}, status_code=500)
    log.error(
        "Webhook event=%s type=%s is unprocessable (%s); recorded for the owner", event_id, event_type, detail
    )
    if outcome == Outcome.UNPROCESSABLE:
        notify.inbox_changed()
    return JSONResponse({"received": True, "outcome": outcome})
