"""Control endpoints for the simulator itself: its settings, reset, the simulated clock and injected faults."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from rxshop.stripe_sim.control.common import ControlError, json_body, number
from rxshop.stripe_sim.faults import FAULT_KINDS

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator


async def get_config(sim: Simulator, request: Request) -> dict[str, Any]:
    return sim.config()


async def set_config(sim: Simulator, request: Request) -> dict[str, Any]:
    """Change any of the settings in `_SETTERS`; an unknown name refuses the whole request."""
    body = await json_body(request)
    unknown = set(body) - set(_SETTERS)
    if unknown:
        raise ControlError(400, f"Unknown settings: {', '.join(sorted(unknown))}.")
    for name, apply in _SETTERS.items():
        if name in body:
            apply(sim, body)
    return sim.config()


def _set_webhook_url(sim: Simulator, body: dict[str, Any]) -> None:
    url = body["webhook_url"]
    if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ControlError(400, "webhook_url must be an absolute http(s) URL or null.")
    sim.webhooks.url = url


def _set_webhook_secret(sim: Simulator, body: dict[str, Any]) -> None:
    secret = body["webhook_secret"]
    if not isinstance(secret, str) or not secret:
        raise ControlError(400, "webhook_secret must be a non-empty string (whsec_...).")
    sim.webhooks.secret = secret


def _set_retry_delays(sim: Simulator, body: dict[str, Any]) -> None:
    delays = body["retry_delays"]
    if not isinstance(delays, list):
        raise ControlError(400, "retry_delays must be a list of seconds.")
    sim.webhooks.retry_delays = tuple(number({"delay": d}, "delay") for d in delays)


def _set_enabled_events(sim: Simulator, body: dict[str, Any]) -> None:
    events = body["enabled_events"]
    if not isinstance(events, list) or not events or not all(isinstance(e, str) and e for e in events):
        raise ControlError(400, 'enabled_events must be a non-empty list of event types (or ["*"]).')
    sim.webhooks.enabled_events = tuple(events)


def _set_latency_ms(sim: Simulator, body: dict[str, Any]) -> None:
    sim.latency_ms = int(number(body, "latency_ms"))


def _set_async_settle_seconds(sim: Simulator, body: dict[str, Any]) -> None:
    value = body["async_settle_seconds"]
    sim.async_settle_seconds = None if value is None else number(body, "async_settle_seconds")


# Applied in this order (the order the settings were checked before they became one function each).
_SETTERS: dict[str, Callable[[Simulator, dict[str, Any]], None]] = {
    "webhook_url": _set_webhook_url,
    "webhook_secret": _set_webhook_secret,
    "retry_delays": _set_retry_delays,
    "enabled_events": _set_enabled_events,
    "latency_ms": _set_latency_ms,
    "async_settle_seconds": _set_async_settle_seconds,
}


async def reset(sim: Simulator, request: Request) -> dict[str, Any]:
    sim.reset()
    return {"reset": True, **sim.config()}


async def get_clock(sim: Simulator, request: Request) -> dict[str, Any]:
    return {"now": sim.clock.timestamp(), "offset_seconds": sim.clock.offset}


async def advance_clock(sim: Simulator, request: Request) -> dict[str, Any]:
    """Move the clock forward; what fell due (expiry, settlement) happens before the answer."""
    seconds = number(await json_body(request), "seconds")
    sim.clock.advance(seconds)
    sim.store.sweep()
    return {"now": sim.clock.timestamp(), "offset_seconds": sim.clock.offset}


async def add_fault(sim: Simulator, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    kind = str(body.get("kind"))
    if kind not in FAULT_KINDS:
        raise ControlError(400, f"kind must be one of {', '.join(FAULT_KINDS)}.")
    count = int(number(body, "count", default=1, minimum=1))
    latency_ms = int(number(body, "latency_ms", default=1000 if kind == "latency" else 0))
    sim.faults.add(kind, count, latency_ms)
    return {"faults": sim.faults.pending()}


async def list_faults(sim: Simulator, request: Request) -> dict[str, Any]:
    return {"faults": sim.faults.pending()}


async def clear_faults(sim: Simulator, request: Request) -> dict[str, Any]:
    sim.faults.clear()
    return {"faults": []}
