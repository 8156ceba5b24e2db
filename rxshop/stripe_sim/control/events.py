"""Control endpoints for events and webhook deliveries: list, inspect, redeliver, deliver in any order,
pause and resume (for duplicate and out-of-order tests)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from rxshop.stripe_sim.control.common import ControlError, json_body, number
from rxshop.stripe_sim.webhooks import Attempt, EventRecord

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator


def _record_of(sim: Simulator, event_id: str) -> EventRecord:
    record = sim.webhooks.events.get(event_id)
    if record is None:
        raise ControlError(404, f"No such event: '{event_id}'")
    return record


def _attempt_view(record: EventRecord, attempt: Attempt) -> dict[str, Any]:
    return {"event": record.event["id"], **attempt.__dict__, "ok": attempt.ok}


async def list_events(sim: Simulator, request: Request) -> dict[str, Any]:
    """The endpoint's events, oldest first (`all=true` adds unsubscribed ones); `type`, `object_id` filter."""
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


async def show_event(sim: Simulator, request: Request) -> dict[str, Any]:
    return _record_of(sim, request.path_params["id"]).summary(with_payload=True)


async def redeliver(sim: Simulator, request: Request) -> dict[str, Any]:
    """One signed attempt now, paused or not."""
    record = _record_of(sim, request.path_params["id"])
    return _attempt_view(record, await sim.webhooks.attempt(record, manual=True))


async def deliver(sim: Simulator, request: Request) -> dict[str, Any]:
    """These events in this order, each `copies` times, one after another or all at once (`concurrent`)."""
    body = await json_body(request)
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids:
        raise ControlError(400, "ids must be a non-empty list of event ids, in the order to deliver them.")
    records = [_record_of(sim, str(event_id)) for event_id in ids]
    copies = int(number(body, "copies", default=1, minimum=1))
    jobs = [record for record in records for _ in range(copies)]
    if body.get("concurrent", False):
        attempts = await asyncio.gather(*(sim.webhooks.attempt(r, manual=True) for r in jobs))
    else:
        attempts = [await sim.webhooks.attempt(r, manual=True) for r in jobs]
    return {"attempts": [_attempt_view(r, a) for r, a in zip(jobs, attempts, strict=True)]}


async def pause(sim: Simulator, request: Request) -> dict[str, Any]:
    sim.webhooks.pause()
    return {"paused": True}


async def resume(sim: Simulator, request: Request) -> dict[str, Any]:
    return {"paused": False, "resumed": sim.webhooks.resume()}
