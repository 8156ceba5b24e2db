"""The control API under /_sim/ (paths Stripe never uses): JSON in, JSON out, for tests and demos.

Errors come back as `{"error": {"type", "message", ...}}` with 400 (bad input), 404 (unknown id) or 409
(the object is not in a state that allows it). Every endpoint is listed in docs/stripe-simulator.md.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rxshop.stripe_sim import buyer, cards
from rxshop.stripe_sim.catalog import CodeRefused
from rxshop.stripe_sim.errors import StripeAPIError
from rxshop.stripe_sim.hosted import success_redirect

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from rxshop.stripe_sim.app import Simulator

FAULT_KINDS = ("latency", "500", "500-stored", "429", "drop")
# What pay uses when the session collects an address or phone and the body gives none.
DEFAULT_SHIPPING = {
    "name": "Jenny Rosen",
    "address": {
        "line1": "510 Townsend St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94103",
        "country": "US",
    },
}
DEFAULT_PHONE = "+14155550100"
_SAMPLE_POSTAL = {
    "GB": "SW1A 1AA",
    "CA": "K1A 0B1",
    "DE": "10115",
    "FR": "75001",
    "NL": "1011 AB",
    "AU": "2000",
}


def _default_shipping(allowed: list[str]) -> dict[str, Any]:
    if "US" in allowed:
        return DEFAULT_SHIPPING
    country = allowed[0]
    address = {
        "line1": "1 Test Street",
        "city": "Testville",
        "postal_code": _SAMPLE_POSTAL.get(country, "1000"),
    }
    return {"name": "Jenny Rosen", "address": {**address, "country": country}}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "simulator_error", "message": message, **extra}}, status_code=status
    )


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ControlError(400, f"The body must be a JSON object: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError(400, "The body must be a JSON object.")
    return body


def _number(body: dict[str, Any], name: str, *, default: float | None = None, minimum: float = 0) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ControlError(400, f"{name} must be a number >= {minimum}, got {value!r}.")
    return value


def routes(sim: Simulator) -> list[Route]:
    store = sim.store

    def endpoint(handler: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                store.sweep()
                result = await handler(request)
            except ControlError as error:
                return _error(error.status, error.message)
            except StripeAPIError as error:
                status = 404 if error.status == 404 else 409
                return _error(status, error.message, code=error.code, param=error.param)
            return result if isinstance(result, Response) else JSONResponse(result)

        return run

    def session_view(session_id: str) -> dict[str, Any]:
        session = store.session(session_id)
        intent = store.payment_intents.get(session["payment_intent"] or "")
        charge = store.charges.get(intent["latest_charge"]) if intent else None
        return {
            "session": copy.deepcopy(session),
            "line_items": copy.deepcopy(store.line_items[session_id]),
            "payment_intent": copy.deepcopy(intent),
            "charge": copy.deepcopy(charge),
            "refunds": [
                copy.deepcopy(r)
                for r in store.refunds.values()
                if intent and r["payment_intent"] == intent["id"]
            ],
            "attempts": copy.deepcopy(store.session_meta[session_id]["attempts"]),
            "settle_at": store.session_meta[session_id]["settle_at"],
        }

    def pay_with(session_id: str, card_number: str, body: dict[str, Any]) -> dict[str, Any]:
        """The hosted page's Pay, without the form: same checks, same messages (400 with `fields`)."""
        session = store.session(session_id)
        if session["status"] != "open":
            raise ControlError(
                409, f"Checkout Session {session_id} is {session['status']}, not open: nothing was charged."
            )
        digits = cards.normalize(card_number)
        if digits is None:
            raise ControlError(400, f"Not a valid card number: {card_number!r}.")
        if body.get("promotion_code"):
            try:
                store.apply_promotion_code(session_id, str(body["promotion_code"]))
            except CodeRefused as refused:
                raise ControlError(400, f"promotion_code: {refused.message}") from None
            session = store.session(session_id)
        shipping = body.get("shipping")
        if shipping is not None and not isinstance(shipping, dict):
            raise ControlError(400, "shipping must be an object: {name, address: {line1, city, ...}}.")
        flat = None
        if session["shipping_address_collection"]:
            shipping = shipping or _default_shipping(
                session["shipping_address_collection"]["allowed_countries"]
            )
            address = shipping.get("address") if isinstance(shipping.get("address"), dict) else {}
            flat = {"name": shipping.get("name"), **address}
        phone = body.get("phone")
        if phone is None and session["phone_number_collection"]["enabled"]:
            phone = DEFAULT_PHONE
        given = buyer.check(
            session,
            email=body.get("email") or "buyer@example.com",
            name=body.get("name"),
            phone=phone,
            shipping=flat,
            shipping_rate=body.get("shipping_rate"),
        )
        if given.errors:
            fields = "; ".join(f"{k}: {v}" for k, v in given.errors.items())
            raise ControlError(400, f"The payment details are not valid ({fields}).")
        result = store.pay(
            session_id,
            card_digits=digits,
            email=given.email,
            name=given.name,
            phone=given.phone,
            shipping=given.shipping,
            shipping_rate=given.shipping_rate,
        )
        answer: dict[str, Any] = {"outcome": result.outcome, "session": result.session}
        if result.outcome == "declined" and result.card is not None:
            answer["decline"] = {
                "message": result.card.message,
                "code": result.card.code,
                "decline_code": result.card.decline_code,
            }
        else:
            answer["redirect_url"] = success_redirect(result.session)
        return answer

    # ---- configuration, clock, faults, reset ----------------------------------------------------------

    async def get_config(request: Request) -> dict[str, Any]:
        return sim.config()

    async def set_config(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        unknown = set(body) - {
            "webhook_url",
            "webhook_secret",
            "retry_delays",
            "latency_ms",
            "async_settle_seconds",
            "enabled_events",
        }
        if unknown:
            raise ControlError(400, f"Unknown settings: {', '.join(sorted(unknown))}.")
        if "webhook_url" in body:
            url = body["webhook_url"]
            if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
                raise ControlError(400, "webhook_url must be an absolute http(s) URL or null.")
            sim.webhooks.url = url
        if "webhook_secret" in body:
            secret = body["webhook_secret"]
            if not isinstance(secret, str) or not secret:
                raise ControlError(400, "webhook_secret must be a non-empty string (whsec_...).")
            sim.webhooks.secret = secret
        if "retry_delays" in body:
            delays = body["retry_delays"]
            if not isinstance(delays, list):
                raise ControlError(400, "retry_delays must be a list of seconds.")
            sim.webhooks.retry_delays = tuple(_number({"delay": d}, "delay") for d in delays)
        if "enabled_events" in body:
            events = body["enabled_events"]
            if (
                not isinstance(events, list)
                or not events
                or not all(isinstance(e, str) and e for e in events)
            ):
                raise ControlError(400, 'enabled_events must be a non-empty list of event types (or ["*"]).')
            sim.webhooks.enabled_events = tuple(events)
        if "latency_ms" in body:
            sim.latency_ms = int(_number(body, "latency_ms"))
        if "async_settle_seconds" in body:
            value = body["async_settle_seconds"]
            sim.async_settle_seconds = None if value is None else _number(body, "async_settle_seconds")
        return sim.config()

    async def reset(request: Request) -> dict[str, Any]:
        sim.reset()
        return {"reset": True, **sim.config()}

    async def get_clock(request: Request) -> dict[str, Any]:
        return {"now": sim.clock.timestamp(), "offset_seconds": sim.clock.offset}

    async def advance_clock(request: Request) -> dict[str, Any]:
        seconds = _number(await _json_body(request), "seconds")
        sim.clock.advance(seconds)
        store.sweep()
        return {"now": sim.clock.timestamp(), "offset_seconds": sim.clock.offset}

    async def add_fault(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        kind = str(body.get("kind"))
        if kind not in FAULT_KINDS:
            raise ControlError(400, f"kind must be one of {', '.join(FAULT_KINDS)}.")
        count = int(_number(body, "count", default=1, minimum=1))
        latency_ms = int(_number(body, "latency_ms", default=1000 if kind == "latency" else 0))
        sim.faults.add(kind, count, latency_ms)
        return {"faults": sim.faults.pending()}

    async def list_faults(request: Request) -> dict[str, Any]:
        return {"faults": sim.faults.pending()}

    async def clear_faults(request: Request) -> dict[str, Any]:
        sim.faults.clear()
        return {"faults": []}

    # ---- sessions ------------------------------------------------------------------------------------

    async def show_session(request: Request) -> dict[str, Any]:
        return session_view(request.path_params["id"])

    async def pay(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        return pay_with(request.path_params["id"], str(body.get("card") or "4242424242424242"), body)

    async def decline(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        reason = body.get("reason", "generic_decline")
        card = next(
            (c for c in cards.TEST_CARDS if c.outcome == "declines" and c.decline_code == reason), None
        )
        if card is None:
            known = [c.decline_code for c in cards.TEST_CARDS if c.outcome == "declines"]
            raise ControlError(400, f"reason must be one of {', '.join(known)}.")
        return pay_with(request.path_params["id"], card.number, body)

    async def fail(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        session_id = request.path_params["id"]
        pay_with(session_id, cards.DELAYED_CARD, body)
        return {"outcome": "failed", "session": store.settle(session_id, "failed")}

    async def expire(request: Request) -> dict[str, Any]:
        return {"session": store.expire_session(request.path_params["id"])}

    async def settle(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        return {"session": store.settle(request.path_params["id"], str(body.get("outcome")))}

    # ---- events and webhooks --------------------------------------------------------------------------

    def record_of(event_id: str) -> Any:
        record = sim.webhooks.events.get(event_id)
        if record is None:
            raise ControlError(404, f"No such event: '{event_id}'")
        return record

    async def list_events(request: Request) -> dict[str, Any]:
        wanted_type = request.query_params.get("type")
        object_id = request.query_params.get("object_id")
        every = request.query_params.get("all") in ("1", "true")
        data = [
            r.summary()
            for r in sim.webhooks.events.values()
            if (every or r.status != "not_subscribed")
            and (wanted_type is None or r.event["type"] == wanted_type)
            and (object_id is None or r.event["data"]["object"].get("id") == object_id)
        ]
        return {"data": data, "paused": sim.webhooks.paused}

    async def show_event(request: Request) -> dict[str, Any]:
        return record_of(request.path_params["id"]).summary(with_payload=True)

    async def redeliver(request: Request) -> dict[str, Any]:
        record = record_of(request.path_params["id"])
        attempt = await sim.webhooks.attempt(record, manual=True)
        return {"event": record.event["id"], **attempt.__dict__, "ok": attempt.ok}

    async def deliver(request: Request) -> dict[str, Any]:
        body = await _json_body(request)
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids:
            raise ControlError(
                400, "ids must be a non-empty list of event ids, in the order to deliver them."
            )
        records = [record_of(str(event_id)) for event_id in ids]
        copies = int(_number(body, "copies", default=1, minimum=1))
        jobs = [record for record in records for _ in range(copies)]
        if body.get("concurrent", False):
            attempts = await asyncio.gather(*(sim.webhooks.attempt(r, manual=True) for r in jobs))
        else:
            attempts = [await sim.webhooks.attempt(r, manual=True) for r in jobs]
        return {
            "attempts": [
                {"event": r.event["id"], **a.__dict__, "ok": a.ok}
                for r, a in zip(jobs, attempts, strict=True)
            ]
        }

    async def pause(request: Request) -> dict[str, Any]:
        sim.webhooks.pause()
        return {"paused": True}

    async def resume(request: Request) -> dict[str, Any]:
        return {"paused": False, "resumed": sim.webhooks.resume()}

    table: list[tuple[str, str, Callable[[Request], Awaitable[Any]]]] = [
        ("/_sim/config", "GET", get_config),
        ("/_sim/config", "POST", set_config),
        ("/_sim/reset", "POST", reset),
        ("/_sim/clock", "GET", get_clock),
        ("/_sim/clock/advance", "POST", advance_clock),
        ("/_sim/faults", "GET", list_faults),
        ("/_sim/faults", "POST", add_fault),
        ("/_sim/faults", "DELETE", clear_faults),
        ("/_sim/sessions/{id}", "GET", show_session),
        ("/_sim/sessions/{id}/pay", "POST", pay),
        ("/_sim/sessions/{id}/decline", "POST", decline),
        ("/_sim/sessions/{id}/fail", "POST", fail),
        ("/_sim/sessions/{id}/expire", "POST", expire),
        ("/_sim/sessions/{id}/settle", "POST", settle),
        ("/_sim/events", "GET", list_events),
        ("/_sim/events/deliver", "POST", deliver),
        ("/_sim/events/{id}", "GET", show_event),
        ("/_sim/events/{id}/redeliver", "POST", redeliver),
        ("/_sim/webhooks/pause", "POST", pause),
        ("/_sim/webhooks/resume", "POST", resume),
    ]
    return [Route(path, endpoint(handler), methods=[method]) for path, method, handler in table]
