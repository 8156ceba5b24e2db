"""The per-address bound on Checkout Session requests (rxshop.core.throttle, as checkout uses it), without
Stripe or a database: in memory for one worker, in the real Redis at TEST_REDIS_URL for several."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
import redis
import redis.asyncio

from rxshop.core.throttle import MemoryThrottle, RedisThrottle, Throttle
from rxshop.orders.checkout import CHECKOUT_WINDOW_SECONDS, MAX_SESSION_REQUESTS_PER_CLIENT, session_throttle
from tests.fixtures.db import service_missing
from tests.fixtures.servers import free_port

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START = 1_000 * CHECKOUT_WINDOW_SECONDS

MakeThrottle = Callable[[int], Throttle]  # limit -> a throttle with checkout's window


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3) as probe:
            probe.ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {REDIS_URL}: {exc}")
    prefix = "rxshop-test:throttle:" + secrets.token_hex(6)
    yield prefix
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    async for name in client.scan_iter(match=prefix + ":*"):
        await client.delete(name)
    await client.aclose()


@pytest.fixture
async def workers(redis_prefix: str) -> AsyncIterator[Callable[[int], RedisThrottle]]:
    """Makes one worker's throttle: its own Redis connection, the test's shared key prefix."""
    clients: list[redis.asyncio.Redis] = []

    def worker(limit: int) -> RedisThrottle:
        clients.append(redis.asyncio.Redis.from_url(REDIS_URL))
        return RedisThrottle(clients[-1], redis_prefix, limit, CHECKOUT_WINDOW_SECONDS)

    yield worker
    for client in clients:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> MakeThrottle:
    if request.param == "memory":
        return lambda limit: MemoryThrottle(limit, CHECKOUT_WINDOW_SECONDS)
    return request.getfixturevalue("workers")


async def test_each_address_gets_its_limit_per_window_then_a_fresh_one(make: MakeThrottle):
    throttle = make(3)
    assert [await throttle.allow("203.0.113.9", START + i) for i in range(4)] == [True, True, True, False]
    assert await throttle.allow("203.0.113.10", START + 5)  # another address is not affected
    assert await throttle.allow(
        "203.0.113.9", START + CHECKOUT_WINDOW_SECONDS
    )  # the next window starts afresh


async def test_two_workers_share_one_count_through_redis(workers, redis_prefix: str):
    worker_a, worker_b = workers(3), workers(3)
    answers = [await w.allow("203.0.113.9", START + i) for i, w in enumerate([worker_a, worker_b] * 2)]
    assert answers == [True, True, True, False]
    assert not await worker_a.allow("203.0.113.9", START + 10)
    assert await worker_b.allow("203.0.113.10", START + 10)
    # The count is forgotten once its window is over (the window is part of the key's name).
    ttl = await worker_a.client.ttl(f"{redis_prefix}:{START // CHECKOUT_WINDOW_SECONDS}:203.0.113.9")
    assert CHECKOUT_WINDOW_SECONDS < ttl <= CHECKOUT_WINDOW_SECONDS + 60


async def test_without_redis_the_attempt_is_allowed_and_logged(caplog: pytest.LogCaptureFixture):
    unreachable = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    throttle = RedisThrottle(unreachable, "rxshop-test:down", 1, CHECKOUT_WINDOW_SECONDS)
    assert [await throttle.allow("203.0.113.9", START) for _ in range(2)] == [True, True]
    assert "not counted" in caplog.text
    await unreachable.aclose()


def test_checkout_counts_in_redis_exactly_when_the_app_has_redis():
    local = session_throttle(None)
    assert isinstance(local, MemoryThrottle)
    assert (local.limit, local.window_seconds) == (MAX_SESSION_REQUESTS_PER_CLIENT, CHECKOUT_WINDOW_SECONDS)
    assert session_throttle(None) is local  # one per worker, kept
    shared = session_throttle(REDIS_URL)  # its client connects on first use only
    assert isinstance(shared, RedisThrottle) and shared.prefix == "rxshop:throttle:checkout-sessions"
    assert (shared.limit, shared.window_seconds) == (MAX_SESSION_REQUESTS_PER_CLIENT, CHECKOUT_WINDOW_SECONDS)
