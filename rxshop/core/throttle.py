"""How often one key (a client address) may do something per time window, counted across every worker.

With several workers (REDIS_URL) the count lives in Redis, so a client gets its limit once, not once per
worker; with one worker it lives in memory. Windows are fixed and aligned to the epoch
(`int(now) // window_seconds`), so every worker agrees where one starts without asking the others.
"""

from __future__ import annotations

import logging
from typing import Protocol

import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Throttle(Protocol):
    async def allow(self, key: str, now: float) -> bool:
        """Count one attempt by `key` at `now` (epoch seconds); False once the window's limit is used up."""
        ...


class MemoryThrottle:
    """Counts in this process (one worker): only the current window's counts are kept."""

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._window = -1
        self._counts: dict[str, int] = {}

    async def allow(self, key: str, now: float) -> bool:
        window = int(now) // self.window_seconds
        if window != self._window:
            self._window, self._counts = window, {}
        count = self._counts.get(key, 0)
        if count >= self.limit:
            return False
        self._counts[key] = count + 1
        return True


class RedisThrottle:
    """Counts in Redis (every worker): one atomic script per attempt on `<prefix>:<window>:<key>`, which
    counts the attempt and, on the window's first one, sets the key to expire once its window is over.

    One command (EVALSHA) instead of MULTI / INCR / EXPIRE / EXEC: a burst of Buys is a burst of these.
    If Redis cannot be reached the attempt is allowed (and logged): the throttle bounds a script's calls,
    it must not stop every buyer while Redis is down.
    """

    # From the first attempt: outlives the window (the window is part of the name).
    _COUNT = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n"

    def __init__(self, client: redis.asyncio.Redis, prefix: str, limit: int, window_seconds: int) -> None:
        self.client = client
        self.prefix = prefix
        self.limit = limit
        self.window_seconds = window_seconds
        self._count = client.register_script(self._COUNT)  # EVALSHA, loaded again if Redis forgot it

    async def allow(self, key: str, now: float) -> bool:
        name = f"{self.prefix}:{int(now) // self.window_seconds}:{key}"
        try:
            count = await self._count(keys=[name], args=[self.window_seconds + 60])
        except RedisError as err:
            log.warning("Throttle %s not counted (Redis: %s); the attempt is allowed", self.prefix, err)
            return True
        return int(count) <= self.limit


def make_throttle(name: str, *, limit: int, window_seconds: int, redis_url: str | None) -> Throttle:
    """A throttle in Redis under `rxshop:throttle:<name>` when the app has REDIS_URL, else in memory.

    Make one per worker and keep it: the Redis client belongs to the event loop that first uses it.
    """
    if redis_url is None:
        return MemoryThrottle(limit, window_seconds)
    client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    return RedisThrottle(client, f"rxshop:throttle:{name}", limit, window_seconds)
