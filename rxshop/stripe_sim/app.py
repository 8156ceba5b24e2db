"""Simulator: wires the store, the /v1 API, the hosted page, webhooks and the control API into one ASGI app.

The app works standalone (uvicorn) and mounted inside another Starlette/Reflex backend. Background work
(webhook deliveries, the expiry/settlement sweep) starts lazily on the loop that serves the first request,
because a mounted sub-app never sees a lifespan event.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
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
from rxshop.stripe_sim.clock import Clock
from rxshop.stripe_sim.faults import Faults, before_api_request
from rxshop.stripe_sim.ids import new_id
from rxshop.stripe_sim.limits import MAX_BODY_BYTES, BodyLimit
from rxshop.stripe_sim.store import Store
from rxshop.stripe_sim.webhooks import WebhookDispatcher

log = logging.getLogger("rxshop.stripe_sim")

SWEEP_INTERVAL = 0.1  # seconds between background sweeps for expiry and delayed settlement


class SimApp(Starlette):
    """The Starlette app, plus what must happen before routing: lazy start, latency, /v1 faults, body cap."""

    def __init__(self, sim: Simulator, *, max_body_bytes: int = MAX_BODY_BYTES, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sim = sim
        self._routed = BodyLimit(super().__call__, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        self.sim.ensure_started()
        path = _route_path(scope)
        if path == "/v1" or path.startswith("/v1/"):
            routed = await before_api_request(self.sim.faults, self.sim.latency_ms, scope, send)
            if routed is None:
                return
            scope = routed
        await self._routed(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path below where the app is mounted (Starlette's Mount keeps the full path and sets root_path)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


@dataclass(frozen=True)
class _Settings:
    """What the constructor was given: /_sim/config changes these at run time, /_sim/reset restores them."""

    webhook_url: str | None
    webhook_secret: str
    latency_ms: int
    retry_delays: tuple[float, ...]
    async_settle_seconds: float | None
    enabled_events: tuple[str, ...]


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
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        """`api_keys`: only these keys are accepted (None: any well-formed test key, for local use).
        `redirect_origins`: success_url/cancel_url must be on one of these origins (None: anywhere).
        `max_body_bytes`: every route answers 413 past it (mounted or standalone)."""
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
        self._defaults = _Settings(
            webhook_url=webhook_url,
            webhook_secret=secret,
            latency_ms=latency_ms,
            retry_delays=tuple(retry_delays),
            async_settle_seconds=async_settle_seconds,
            enabled_events=tuple(enabled_events),
        )
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
            max_body_bytes=max_body_bytes,
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
        self.webhooks.url = self._defaults.webhook_url
        self.webhooks.secret = self._defaults.webhook_secret
        self.webhooks.retry_delays = self._defaults.retry_delays
        self.webhooks.enabled_events = self._defaults.enabled_events
        self.latency_ms = self._defaults.latency_ms
        self.async_settle_seconds = self._defaults.async_settle_seconds

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
