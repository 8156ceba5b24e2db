"""Signed webhook deliveries as Stripe makes them: one task per event, retried with back-off, all recorded.

Deliveries run as asyncio tasks on the loop that serves the app and never hold up an API response. First
attempts go out one after another in the order the events happened (Stripe's order); retries are on their
own schedule. The endpoint receives only the types in `enabled_events` (`*` = all), as on Stripe; the others
are still recorded (GET /v1/events) with the status `not_subscribed`. The payload is frozen when the event
happens; each attempt is signed afresh with the real wall-clock time
(receivers check it against their own clock, so the simulated clock offset must not leak into it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import stripe

log = logging.getLogger("rxshop.stripe_sim.webhooks")


@dataclass
class Attempt:
    at: float  # real time (epoch seconds)
    url: str
    status_code: int | None
    error: str | None
    duration_ms: int
    manual: bool  # sent through the control API (redeliver / deliver), not by the automatic schedule

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class EventRecord:
    event: dict[str, Any]
    payload: str
    # pending: not sent yet | delivering | retrying | delivered | failed (schedule exhausted)
    # | paused (held until resume) | no_endpoint (no webhook URL when it happened)
    # | not_subscribed (the endpoint's enabled_events leave it out)
    status: str = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: float | None = None

    def summary(self, *, with_payload: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.event["id"],
            "type": self.event["type"],
            "created": self.event["created"],
            "object_id": self.event["data"]["object"].get("id"),
            "delivery": {
                "status": self.status,
                "next_attempt_at": self.next_attempt_at,
                "attempts": [asdict(a) | {"ok": a.ok} for a in self.attempts],
            },
        }
        if with_payload:
            data["event"] = self.event
        return data


class WebhookDispatcher:
    def __init__(
        self,
        url: str | None,
        secret: str,
        retry_delays: Sequence[float],
        timeout: float = 5.0,
        enabled_events: Sequence[str] = ("*",),
    ) -> None:
        self.url = url
        self.enabled_events = tuple(enabled_events)
        self._previous_first: asyncio.Future[None] | None = None
        self.secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.paused = False
        self.events: dict[str, EventRecord] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind to the serving loop (again, if the app moved to a new loop) and send what waited for it."""
        self._loop = loop
        self._client = None  # an httpx client belongs to the loop it was first used on
        self._tasks = set()
        self._previous_first = None
        for record in self.events.values():
            if record.status in ("pending", "delivering", "retrying"):
                self._schedule(record)

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reset(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
        self.events.clear()
        self.paused = False
        self._previous_first = None

    # ---- events ---------------------------------------------------------------------------------------

    def subscribed(self, event_type: str) -> bool:
        return subscribed(self.enabled_events, event_type)

    def record(self, event: dict[str, Any]) -> EventRecord:
        record = EventRecord(event, json.dumps(event, indent=2))
        self.events[event["id"]] = record
        if not self.subscribed(event["type"]):
            record.status = "not_subscribed"
        elif self.url is None:
            record.status = "no_endpoint"
        elif self.paused:
            record.status = "paused"
        else:
            self._schedule(record)
        return record

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> int:
        """Deliver what was held, in the order it happened; returns how many."""
        self.paused = False
        held = [r for r in self.events.values() if r.status == "paused"]
        for record in held:
            record.status = "pending"
            self._schedule(record)
        return len(held)

    def _schedule(self, record: EventRecord) -> None:
        loop = self._running_loop()
        if loop is None:
            record.status = "pending"  # start() sends it once a loop serves the app
            return
        # Chain first attempts: each waits for the one before it, so the endpoint sees Stripe's order.
        previous, done = self._previous_first, loop.create_future()
        self._previous_first = done
        task = loop.create_task(self._deliver_with_retries(record, previous, done))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _running_loop(self) -> asyncio.AbstractEventLoop | None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return loop if loop is self._loop else None

    async def _deliver_with_retries(
        self,
        record: EventRecord,
        previous: asyncio.Future[None] | None = None,
        first_done: asyncio.Future[None] | None = None,
    ) -> None:
        try:
            if previous is not None and not previous.done():
                await asyncio.shield(previous)
            await self._deliver_in_turn(record, first_done)
        finally:
            if first_done is not None and not first_done.done():
                first_done.set_result(None)

    async def _deliver_in_turn(self, record: EventRecord, first_done: asyncio.Future[None] | None) -> None:
        delays = (0.0, *self.retry_delays)
        for number, delay in enumerate(delays):
            if number == 1 and first_done is not None and not first_done.done():
                first_done.set_result(None)  # the next event goes out while this one waits to retry
            if delay:
                record.status = "retrying"
                record.next_attempt_at = time.time() + delay
                await asyncio.sleep(delay)
            record.next_attempt_at = None
            if self.paused:
                record.status = "paused"
                return
            if self.url is None:
                record.status = "no_endpoint"
                return
            record.status = "delivering"
            attempt = await self.attempt(record)
            if attempt.ok:
                record.status = "delivered"
                return
            log.info(
                "webhook %s %s attempt %d failed: %s",
                record.event["id"],
                record.event["type"],
                number + 1,
                attempt.error or attempt.status_code,
            )
        record.status = "failed"
        log.warning(
            "webhook %s %s: gave up after %d attempts", record.event["id"], record.event["type"], len(delays)
        )

    async def attempt(self, record: EventRecord, *, manual: bool = False) -> Attempt:
        """One signed POST of the event to the current URL with the current secret."""
        url = self.url
        if url is None:
            attempt = Attempt(time.time(), "", None, "no webhook URL configured", 0, manual)
            record.attempts.append(attempt)
            return attempt
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe.WebhookSignature.generate_signature_header(
                record.payload, self.secret, timestamp=timestamp
            ),
        }
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            response = await self._client.post(url, content=record.payload.encode("utf-8"), headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        attempt = Attempt(
            timestamp, url, status_code, error, int((time.perf_counter() - started) * 1000), manual
        )
        record.attempts.append(attempt)
        if manual and attempt.ok and record.status in ("failed", "no_endpoint", "paused"):
            record.status = "delivered"
        return attempt


def subscribed(enabled_events: Sequence[str], event_type: str) -> bool:
    """Stripe's matching: `*` is every type; otherwise the exact type names."""
    return "*" in enabled_events or event_type in enabled_events
