"""The sender: a background task of every backend worker that delivers the outbox, off the request path.

Each round claims a batch of due messages (rxshop.mail.outbox.claim_due: SKIP LOCKED on PostgreSQL, a
conditional UPDATE with a lease on SQLite, so several workers never take the same message), composes them
(rxshop.mail.compose), hands them to the transport, and records each outcome: sent; to retry after an
exponential back-off (a 4xx, the server unreachable); or failed with the reason (a 5xx refusal, too many
attempts). All of it is in the table, so a restart carries on where the last process stopped; a message a
dead worker held comes back when its lease runs out.

With a backlog it works at most a quarter of the time (`busy_share`): a burst of orders is served first,
its emails follow. It wakes when an order changes (rxshop.core.notify: the paid, shipped and refunded messages were just
committed) or is asked to (`wake`), and otherwise looks every `poll_seconds` (messages queued by another
worker, retries coming due).

Exactly once, except in one case no outbox avoids: the server accepted a message and the database could
not record it before the lease ran out. The message then goes again, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.core.models import utcnow
from rxshop.core.settings import get_settings
from rxshop.mail import outbox
from rxshop.mail.compose import Composed, compose_all
from rxshop.mail.outbox import Claimed, Outcome
from rxshop.mail.transport import Refusal, Transport, transport_for

log = logging.getLogger(__name__)

OutcomeListener = Callable[[set[str]], Awaitable[None]]  # the order ids whose messages changed
_outcome_listeners: list[OutcomeListener] = []
_running: Sender | None = None


@dataclass(frozen=True)
class Backoff:
    """Attempt n+1 waits first * factor**(n-1) seconds (at most `cap`), give or take `jitter`; after
    `max_attempts` the message is given up. Defaults: 10 s, 20 s, 40 s ... 1 h; 16 attempts, about 9 h."""

    first: float = 10.0
    factor: float = 2.0
    cap: float = 3600.0
    max_attempts: int = 16
    jitter: float = 0.1  # workers that failed together do not all come back in the same second

    def delay(self, attempts: int) -> float:
        base = min(self.cap, self.first * self.factor ** max(0, attempts - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


class Sender:
    def __init__(
        self,
        transport: Transport,
        *,
        batch_size: int = 20,
        lease: timedelta = timedelta(minutes=5),
        backoff: Backoff = Backoff(),
        poll_seconds: float = 2.0,
        busy_share: float = 0.25,
    ) -> None:
        self.transport = transport
        self.busy_share = busy_share
        self.batch_size = batch_size
        self.lease = lease
        self.backoff = backoff
        self.poll_seconds = poll_seconds
        self._wake: asyncio.Event | None = None

    def wake(self) -> None:
        """Look at the outbox now (something was just queued)."""
        if self._wake is not None:
            self._wake.set()

    def _outcome(
        self, claimed: Claimed, recipient: str | None, refusal: Refusal | None, now: datetime
    ) -> Outcome:
        if refusal is None:
            return Outcome(claimed, recipient)
        if refusal.final or claimed.attempts >= self.backoff.max_attempts:
            reason = (
                refusal.reason
                if refusal.final
                else f"gave up after {claimed.attempts} attempts: {refusal.reason}"
            )
            log.error("Email %s (%s) failed: %s", claimed.id, claimed.kind, reason)
            return Outcome(claimed, recipient, reason)
        retry_at = now + timedelta(seconds=self.backoff.delay(claimed.attempts))
        log.warning(
            "Email %s (%s) not sent, retrying at %s: %s", claimed.id, claimed.kind, retry_at, refusal.reason
        )
        return Outcome(claimed, recipient, refusal.reason, retry_at)

    async def _deliver(self, composed: list[Composed]) -> list[Refusal | None]:
        ready = [c for c in composed if c.message is not None]
        try:
            answers = iter(await self.transport.deliver([c.message for c in ready if c.message is not None]))
        except Exception as err:  # a bug or an unforeseen error: every message waits for the next attempt
            log.exception("The mail transport failed")
            answers = iter([Refusal(f"{err.__class__.__name__}: {err}", final=False)] * len(ready))
        return [
            next(answers) if c.message is not None else Refusal(c.problem or "", final=True) for c in composed
        ]

    async def send_due(self, now: datetime | None = None) -> int:
        """One round: claim, compose, deliver, record. Returns how many messages it handled."""
        now = now or utcnow()
        claimed = await in_session(outbox.claim_due, now=now, limit=self.batch_size, lease=self.lease)
        if not claimed:
            return 0
        try:
            composed = await in_session(compose_all, claimed=claimed, now=now)
        except Exception as err:
            log.exception("Composing %d email(s) failed", len(claimed))
            composed = [Composed(c, None, None, None) for c in claimed]
            refusals: list[Refusal | None] = [Refusal(f"could not compose: {err}", final=False)] * len(
                claimed
            )
        else:
            refusals = await self._deliver(composed)
        done = utcnow()
        outcomes = [
            self._outcome(c.claimed, c.recipient, r, done) for c, r in zip(composed, refusals, strict=True)
        ]
        await self._record(outcomes, done)
        changed = {c.order_id for c in claimed if c.order_id}
        for listener in list(_outcome_listeners):
            try:
                await listener(changed)
            except Exception:
                log.exception("An email outcome listener failed")
        return len(claimed)

    async def _record(self, outcomes: list[Outcome], now: datetime) -> None:
        """Record, trying again for a while: a sent message not recorded would be sent again."""
        for attempt in range(6):
            try:
                recorded = await in_session(outbox.record, outcomes=outcomes, now=now)
            except Exception:
                log.exception("Recording %d email outcome(s) failed (attempt %d)", len(outcomes), attempt + 1)
                await asyncio.sleep(min(30.0, 2.0**attempt))
                continue
            if recorded < len(outcomes):
                log.warning(
                    "%d email(s) were claimed again before this sender recorded them",
                    len(outcomes) - recorded,
                )
            return
        log.error(
            "Could not record %d email outcome(s); they will be tried again when their lease ends",
            len(outcomes),
        )

    async def run(self) -> None:
        """Forever: a round, then (unless the batch was full) wait for a wake-up or the poll interval."""
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            started = time.monotonic()
            try:
                handled = await self.send_due()
            except Exception:
                log.exception("The email sender's round failed; trying again in %s s", self.poll_seconds)
                handled = 0
            if handled >= self.batch_size:
                # A backlog (a burst of orders): keep at it, but in at most `busy_share` of the time, so the
                # requests this worker serves keep their CPU (the confirmations go out seconds later).
                busy = time.monotonic() - started
                await asyncio.sleep(busy * (1 - self.busy_share) / self.busy_share)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
            except TimeoutError:
                pass


def wake() -> None:
    """Something was queued in this process (a sign-in code, a resend): send it now, not at the next poll."""
    if _running is not None:
        _running.wake()


def subscribe_outcomes(listener: OutcomeListener) -> Callable[[], None]:
    """Hear the order ids whose messages were sent or failed (the owner's Messages section follows it)."""
    _outcome_listeners.append(listener)
    return lambda: _outcome_listeners.remove(listener) if listener in _outcome_listeners else None


async def _order_changed(_visitor_id: str, _order_id: str) -> None:
    wake()


async def send_mail_forever() -> None:
    """Lifespan task of every backend worker: deliver the outbox for as long as the app runs."""
    global _running
    settings = get_settings()
    logging.getLogger("rxshop").warning(settings.describe_mail())
    transport = transport_for(settings)
    if transport is None:
        return
    sender = _running = Sender(transport)
    stop = notify.subscribe(_order_changed)
    try:
        await sender.run()
    finally:
        stop()
        _running = None
