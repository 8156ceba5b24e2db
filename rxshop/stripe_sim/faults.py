"""Faults injected into the next /v1 requests (POST /_sim/faults): latency, 500, 429, dropped connections.

They apply before the API runs (nothing is created), except "500-stored", which the API answers from inside
and saves under the request's idempotency key. The control API and the hosted page never see faults.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope, Send

from rxshop.stripe_sim.ids import new_id

FAULT_KINDS = ("latency", "500", "500-stored", "429", "drop")
STORED_FAULT = "rxshop.sim.fault"  # scope key: Api.handle answers a 500 and saves it (fault "500-stored")


@dataclass
class Fault:
    kind: str  # one of FAULT_KINDS
    remaining: int
    latency_ms: int


class Faults:
    """Faults injected for the next N /v1 requests, used up in the order they were added."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()

    def add(self, kind: str, count: int, latency_ms: int = 0) -> None:
        self._queue.append(Fault(kind, count, latency_ms))

    def take(self) -> Fault | None:
        if not self._queue:
            return None
        fault = self._queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._queue.popleft()
        return fault

    def pending(self) -> list[dict[str, Any]]:
        return [{"kind": f.kind, "remaining": f.remaining, "latency_ms": f.latency_ms} for f in self._queue]

    def clear(self) -> None:
        self._queue.clear()


async def before_api_request(faults: Faults, latency_ms: int, scope: Scope, send: Send) -> Scope | None:
    """Wait the configured latency and apply the next fault: None when it answered (or dropped) the request,
    else the scope to route (marked for the API when the fault is "500-stored")."""
    fault = faults.take()
    delay_ms = latency_ms + (fault.latency_ms if fault and fault.kind == "latency" else 0)
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if fault is None or fault.kind == "latency":
        return scope
    if fault.kind in ("500", "429"):
        await _send_fault(send, fault.kind)
        return None
    if fault.kind == "drop":
        await _drop_connection(send)
        return None
    # "500-stored": a failure inside the API: Api.handle answers it and saves it under the request's
    # idempotency key, so that the same key replays it (as Stripe documents for 500s).
    return {**scope, STORED_FAULT: "500"}


_FAULT_ANSWERS = {
    "429": {
        "code": "rate_limit",
        "message": "Too many requests hit the API too quickly (injected through /_sim/faults).",
        "type": "invalid_request_error",
    },
    "500": {
        "message": "An unexpected error occurred on the simulated Stripe server (injected through /_sim/faults).",
        "type": "api_error",
    },
}


async def _send_fault(send: Send, kind: str) -> None:
    body = json.dumps({"error": _FAULT_ANSWERS[kind]}, indent=2).encode()
    await send(
        {
            "type": "http.response.start",
            "status": int(kind),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"request-id", new_id("req_", 14).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drop_connection(send: Send) -> None:
    """Close the connection without an answer, so the client sees a network failure.

    Under uvicorn the raw `send` is bound to the request cycle that owns the socket: abort it and no byte
    goes out. Behind other servers or middleware (e.g. mounted in a parent app) the transport is out of
    reach: start a response that promises a body and end without sending it, so the server closes the
    connection mid-response; clients report that as a connection error all the same.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        await asyncio.sleep(0)  # let the server notice the disconnect before the app returns
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
        }
    )
