"""Simulator: wires the store, the /v1 API, the hosted page, webhooks and the control API into one ASGI app.

The app works standalone (uvicorn) and mounted inside another Starlette/Reflex backend. Background work
(webhook deliveries, the expiry/settlement sweep) starts lazily on the loop that serves the first request,
because a mounted sub-app never sees a lifespan event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from stripe._api_version import _ApiVersion

from rxshop.stripe_sim import control, hosted
from rxshop.stripe_sim.access import redirect_origins as checked_origins
from rxshop.stripe_sim.api import Api
from rxshop.stripe_sim.store import Clock, Store, new_id
from rxshop.stripe_sim.webhooks import WebhookDispatcher

log = logging.getLogger("rxshop.stripe_sim")

SWEEP_INTERVAL = 0.1  # seconds between background sweeps for expiry and delayed settlement


@dataclass
class Fault:
    kind: str  # "latency" | "500" | "500-stored" | "429" | "drop"
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


class SimApp(Starlette):
    """The Starlette app, plus what must happen before routing: lazy start, latency and /v1 faults."""

    def __init__(self, sim: Simulator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.sim.ensure_started()
            path = _route_path(scope)
            if path == "/v1" or path.startswith("/v1/"):
                fault = self.sim.faults.take()
                delay_ms = self.sim.latency_ms + (
                    fault.latency_ms if fault and fault.kind == "latency" else 0
                )
                if delay_ms:
                    await asyncio.sleep(delay_ms / 1000)
                if fault and fault.kind in ("500", "429"):
                    await _send_fault(send, fault.kind)
                    return
                if fault and fault.kind == "drop":
                    await _drop_connection(send)
                    return
                if fault and fault.kind == "500-stored":
                    # A failure inside the API: Api.handle answers it and saves it under the request's
                    # idempotency key, so that the same key replays it (as Stripe documents for 500s).
                    scope = {**scope, "rxshop.sim.fault": "500"}
        await super().__call__(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted (Starlette's Mount keeps the full path and sets root_path)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def _send_fault(send: Send, kind: str) -> None:
    if kind == "429":
        status, error = (
            429,
            {
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly (injected through /_sim/faults).",
                "type": "invalid_request_error",
            },
        )
    else:
        status, error = (
            500,
            {
                "message": "An unexpected error occurred on the simulated Stripe server "
                "(injected through /_sim/faults).",
                "type": "api_error",
            },
        )
    body = json.dumps({"error": error}, indent=2).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
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


class Simulator:
    """An offline, in-memory, Stripe-compatible Checkout server (see docs/stripe-simulator.md)."""

    def __init__(
        self,
        public_url: str = "http://127.0.0.1:12111",
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        latency_ms: int = 0,
        retry_delays: Sequence[float] = (0.5, 1, 2, 4, 8),
        async_settle_seconds: float | None = 10.0,
        control_api: bool = True,
        enabled_events: Sequence[str] = ("*",),
        api_keys: Collection[str] | None = None,
        redirect_origins: Collection[str] | None = None,
    ) -> None:
        """`api_keys`: only these keys are accepted (None: any well-formed test key, for local use).
        `redirect_origins`: success_url/cancel_url must be on one of these origins (None: anywhere)."""
        self.public_url = public_url.rstrip("/")
        self.api_keys = frozenset(api_keys) if api_keys is not None else None
        if self.api_keys is not None and not all(
            k.startswith(("sk_test_", "rk_test_")) for k in self.api_keys
        ):
            raise ValueError("api_keys must be test keys (sk_test_...)")
        self.redirect_origins = checked_origins(redirect_origins)
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"public_url must be an absolute http(s) URL, got {public_url!r}")
        # Like `stripe listen`, make up a signing secret when none is given; read it from /_sim/config.
        secret = webhook_secret or "whsec_" + secrets.token_hex(24)
        self._defaults = {
            "webhook_url": webhook_url,
            "webhook_secret": secret,
            "latency_ms": latency_ms,
            "retry_delays": tuple(retry_delays),
            "async_settle_seconds": async_settle_seconds,
            "enabled_events": tuple(enabled_events),
        }
        self.clock = Clock()
        self.store = Store(self.clock, self.public_url, self._emit)
        self.webhooks = WebhookDispatcher(webhook_url, secret, retry_delays, enabled_events=enabled_events)
        self.faults = Faults()
        self.api = Api(self)
        self.latency_ms = latency_ms
        self.async_settle_seconds = async_settle_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.app = SimApp(
            self,
            routes=[*self.api.routes(), *hosted.routes(self), *(control.routes(self) if control_api else [])],
            lifespan=self._lifespan,
        )

    @property
    def async_settle_seconds(self) -> float | None:
        return self.store.settle_after

    @async_settle_seconds.setter
    def async_settle_seconds(self, value: float | None) -> None:
        self.store.settle_after = value

    @property
    def webhook_secret(self) -> str:
        return self.webhooks.secret

    def config(self) -> dict[str, Any]:
        return {
            "public_url": self.public_url,
            "webhook_url": self.webhooks.url,
            "webhook_secret": self.webhooks.secret,
            "retry_delays": list(self.webhooks.retry_delays),
            "latency_ms": self.latency_ms,
            "async_settle_seconds": self.async_settle_seconds,
            "webhooks_paused": self.webhooks.paused,
            "enabled_events": list(self.webhooks.enabled_events),
            "now": self.clock.timestamp(),
            "clock_offset_seconds": self.clock.offset,
            "api_version": _ApiVersion.CURRENT,
            # The key the SDK must use when only some are accepted (None: any test key). The control API is
            # unauthenticated and for tests only, which is why it may say so.
            "api_key": min(self.api_keys) if self.api_keys else None,
            "redirect_origins": sorted(self.redirect_origins) if self.redirect_origins is not None else None,
        }

    def _emit(
        self,
        event_type: str,
        obj: dict[str, Any],
        request: dict[str, Any] | None,
        previous: dict[str, Any] | None,
    ) -> None:
        data: dict[str, Any] = {"object": obj}
        if previous is not None:
            data["previous_attributes"] = previous
        self.webhooks.record(
            {
                "id": new_id("evt_"),
                "object": "event",
                "api_version": _ApiVersion.CURRENT,
                "created": self.clock.timestamp(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if self.webhooks.url and self.webhooks.subscribed(event_type) else 0,
                "request": request or {"id": None, "idempotency_key": None},
                "type": event_type,
            }
        )

    def reset(self) -> None:
        """Forget every object, event, fault and clock offset; restore the constructor's settings."""
        self.store.reset()
        self.api.reset()
        self.webhooks.reset()
        self.faults.clear()
        self.clock.offset = 0.0
        self.webhooks.url = self._defaults["webhook_url"]
        self.webhooks.secret = self._defaults["webhook_secret"]
        self.webhooks.retry_delays = self._defaults["retry_delays"]
        self.webhooks.enabled_events = self._defaults["enabled_events"]
        self.latency_ms = self._defaults["latency_ms"]
        self.async_settle_seconds = self._defaults["async_settle_seconds"]

    # ---- background work ------------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start deliveries and the sweeper on the running loop (again, if the app moved to another loop)."""
        loop = asyncio.get_running_loop()
        if loop is self._loop:
            return
        self._loop = loop
        self.webhooks.start(loop)
        self._sweeper = loop.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                self.store.sweep()
            except Exception:  # a bug here must not stop expiry for the rest of the run
                log.exception("stripe simulator sweep failed")

    async def aclose(self) -> None:
        """Stop background tasks and close the webhook HTTP client (on the loop that runs them)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self.webhooks.aclose()
        self._loop = None

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.ensure_started()
        try:
            yield
        finally:
            await self.aclose()
