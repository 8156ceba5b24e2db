"""Live updates that survive outages: Redis losing its data, and pushes that failed while Redis or the
database was away.

Without this, a Redis restarted empty left every open tab deaf: the tabs' websockets stay open (they never
touch Redis), so no tab reconnects, while the records that let a change find a tab (rxshop.state.tabs'
listening entries, Reflex's socket records and each tab's state) are gone. And a change made while Redis
was down reached no tab at all: its push failed once and was dropped.

One lifespan task per worker (`keep_live_updates`), every TICK_SECONDS:
- with Redis, `RedisWatch` asks whether it is still the same Redis with its data: a marker key of this
  worker, rewritten each tick with its old value read back (gone: flushed or restarted empty), and Redis's
  run_id (new on every restart, even one that reloads a snapshot older than our last writes). Lost: every
  tab connected to this worker loads its page again (rxshop.state.tabs.restore_after_redis_loss), which
  records it as listening and reads the orders afresh. Each tick that reaches Redis also restarts Reflex's
  Redis subscribers when an outage stopped them (`tabs.keep_subscribed`).
  Back after an outage with its data: the subscribers subscribe again at once (`tabs.resubscribe`).
- pushes that failed (rxshop.state.live and live_admin hand them to `retry_later`) are tried again each tick,
  once Redis has answered for SETTLE_SECONDS (every worker listens again by then), until they go through,
  for at most RETRY_FOR_SECONDS (past that a tab still reads everything again on its next load).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

import reflex as rx
from redis.asyncio import Redis
from redis.exceptions import RedisError

from rxshop.state import tabs

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how soon a worker notices (tabs hear again within a few seconds of Redis' return)
REDIS_TIMEOUT_SECONDS = 2.0  # one check; a Redis slower than this counts as away
MARKER_TTL_SECONDS = 3600  # the marker outlives a dead worker by an hour, then Redis drops it
# Failed pushes wait this long after Redis answers again: each worker resubscribes within its next tick.
SETTLE_SECONDS = 2 * TICK_SECONDS
RETRY_FOR_SECONDS = 15 * 60
MAX_WAITING = 10_000  # pushes kept waiting; a failure past that is dropped (its tabs hear on their next load)

# (visitor id, order id) -> whether every listening tab got the change (False: try again later).
Deliver = Callable[[str, str], Awaitable[bool]]


class RedisState(enum.Enum):
    AWAY = "away"  # no answer
    SAME = "same"  # the Redis of the last tick, with its data
    BACK = "back"  # answering again after an outage, with its data
    LOST = "lost"  # restarted or flushed: what this worker wrote may be gone


class RedisWatch:
    """Tells, tick by tick, whether Redis is reachable and still holds what this worker wrote."""

    def __init__(self) -> None:
        self.marker = f"rxshop:worker-alive:{secrets.token_hex(8)}"
        self.run_id: str | None = None  # None until Redis first answered
        self.away = False
        self.answering_since = 0.0  # time.monotonic() of the first answer since it was last away
        self.restore_pending = False  # lost data seen, this worker's tabs not restored yet

    def settled(self) -> bool:
        """Redis has answered long enough that every worker has subscribed again (a change published
        before another worker's subscriber is back would reach nobody there)."""
        return not self.away and time.monotonic() - self.answering_since >= SETTLE_SECONDS

    async def check(self, redis: Redis) -> RedisState:
        try:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.get(self.marker)
                pipe.set(self.marker, "1", ex=MARKER_TTL_SECONDS)
                pipe.info("server")
                previous, _, info = await asyncio.wait_for(pipe.execute(), REDIS_TIMEOUT_SECONDS)
        except (RedisError, OSError, TimeoutError) as err:
            if not self.away:
                log.warning("Redis does not answer (%s): live updates wait for it", type(err).__name__)
            self.away = True
            return RedisState.AWAY
        run_id = str(info.get("run_id", ""))
        before, was_away = self.run_id, self.away
        self.run_id, self.away = run_id, False
        if was_away or before is None:
            self.answering_since = time.monotonic()
        if before is None:  # the first answer: nothing to compare with yet
            return RedisState.SAME
        if previous is None or run_id != before:
            return RedisState.LOST
        return RedisState.BACK if was_away else RedisState.SAME


_waiting: dict[tuple[Deliver, str], tuple[str, float]] = {}  # (deliver, key) -> (order id, first failure)


def retry_later(deliver: Deliver, key: str, order_id: str) -> None:
    """A push that did not reach every listening tab: `deliver(key, order_id)` again on the next ticks."""
    entry = (deliver, key)
    if entry in _waiting:
        _waiting[entry] = (order_id, _waiting[entry][1])
        return
    if len(_waiting) >= MAX_WAITING:
        log.warning("Too many live updates waiting: the open tabs of %s hear on their next load", key)
        return
    _waiting[entry] = (order_id, time.monotonic())


async def retry_waiting() -> None:
    """Try every waiting push once; keep those that fail again (for RETRY_FOR_SECONDS)."""
    if not _waiting:
        return
    now = time.monotonic()
    for entry, (order_id, since) in list(_waiting.items()):
        deliver, key = entry
        if await deliver(key, order_id):
            _waiting.pop(entry, None)
        elif now - since > RETRY_FOR_SECONDS:
            _waiting.pop(entry, None)
            log.warning(
                "Gave up pushing the change of order %s to open tabs: they read it on their next load",
                order_id,
            )


async def tick(app: rx.App, watch: RedisWatch) -> RedisState | None:
    """One round: Redis checked (this worker's tabs restored if it lost its data; Reflex's subscribers back
    if it was away), then the waiting pushes retried. None without Redis."""
    redis = tabs.redis_of(app)
    state = None
    if redis is not None:
        state = await watch.check(redis)
        if state is RedisState.AWAY:
            return state
        if state is RedisState.LOST or watch.restore_pending:
            watch.restore_pending = True  # until it succeeds: Redis may go away again halfway
            asked = await tabs.restore_after_redis_loss(app)
            watch.restore_pending = False
            log.warning(
                "Redis restarted or lost its data: %d open tab(s) of this worker asked to load again", asked
            )
        elif state is RedisState.BACK:
            await tabs.resubscribe(app)
            log.warning("Redis answers again: live updates resume")
        else:
            tabs.keep_subscribed(app)
        if not watch.settled():
            return state
    await retry_waiting()
    return state


async def keep_live_updates(app: rx.App) -> None:
    """Lifespan task: live updates keep flowing after Redis or the database was away."""
    watch = RedisWatch()
    while True:
        try:
            await tick(app, watch)
        except Exception:
            log.exception("Live update recovery failed this round; trying again")
        await asyncio.sleep(TICK_SECONDS)
