"""rxshop.state.resync against a redis-server of the test's own: it tells a Redis that restarted or was
flushed (its data lost) from one that was only away, and what a worker then does with Reflex's real
RedisTokenManager. The whole recovery, tabs and all, runs in tests/chaos/test_postgres_redis.py."""

from __future__ import annotations

import pickle
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio
from reflex.utils.token_manager import RedisTokenManager

from rxshop.state import resync, tabs
from tests.fixtures.chaos import OwnRedis


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.close()


async def test_the_watch_tells_same_away_back_and_lost(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.asyncio.Redis.from_url(own_redis.url)
    watch = resync.RedisWatch()
    try:
        assert await watch.check(client) is resync.RedisState.SAME  # the first answer
        assert await watch.check(client) is resync.RedisState.SAME
        own_redis.kill()
        assert await watch.check(client) is resync.RedisState.AWAY
        assert not watch.settled()
        own_redis.start()  # empty, with a new run_id
        assert await watch.check(client) is resync.RedisState.LOST
        assert await watch.check(client) is resync.RedisState.SAME
        assert not watch.settled()  # every worker gets a tick to subscribe again first

        await client.flushall()  # the same server, its data gone
        assert await watch.check(client) is resync.RedisState.LOST

        other = redis.Redis.from_url(own_redis.url)
        other.client_pause(3000)  # away (no answer within the timeout), then back with its data
        monkeypatch.setattr(resync, "REDIS_TIMEOUT_SECONDS", 0.3)
        try:
            assert await watch.check(client) is resync.RedisState.AWAY
        finally:
            other.client_unpause()
            other.close()
        assert await watch.check(client) is resync.RedisState.BACK
    finally:
        await client.aclose()


async def test_a_restore_cut_short_by_redis_going_away_again_is_done_on_the_next_tick(
    own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis.asyncio.Redis.from_url(own_redis.url)
    restored: list[str] = []

    async def restore(_app) -> int:
        restored.append("try")
        if len(restored) == 1:
            raise redis.ConnectionError("gone again")
        return 0

    monkeypatch.setattr(tabs, "redis_of", lambda _app: client)
    monkeypatch.setattr(tabs, "restore_after_redis_loss", restore)
    monkeypatch.setattr(tabs, "keep_subscribed", lambda _app: None)
    watch = resync.RedisWatch()
    try:
        assert await resync.tick(None, watch) is resync.RedisState.SAME
        await client.flushall()
        with pytest.raises(redis.ConnectionError):
            await resync.tick(None, watch)
        assert await resync.tick(None, watch) is resync.RedisState.SAME  # nothing new to see, yet:
        assert restored == ["try", "try"]  # the tabs were restored this time
        await resync.tick(None, watch)
        assert restored == ["try", "try"]
    finally:
        await client.aclose()


async def test_failed_pushes_are_retried_until_they_go_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resync, "_waiting", {})
    outcomes = {"alice": [False, True], "bob": [False, False]}
    tried: list[str] = []

    async def deliver(visitor: str, order: str) -> bool:
        tried.append(f"{visitor}:{order}")
        return outcomes[visitor].pop(0) if outcomes[visitor] else False

    resync.retry_later(deliver, "alice", "ord_1")
    resync.retry_later(deliver, "alice", "ord_2")  # one waiting push per visitor: the latest order
    resync.retry_later(deliver, "bob", "ord_3")
    await resync.retry_waiting()
    assert tried == ["alice:ord_2", "bob:ord_3"] and len(resync._waiting) == 2
    await resync.retry_waiting()
    assert (deliver, "alice") not in resync._waiting and (deliver, "bob") in resync._waiting

    monkeypatch.setattr(resync, "RETRY_FOR_SECONDS", 0.0)  # bob's tabs read it on their next load
    await resync.retry_waiting()
    assert resync._waiting == {}


class _Namespace:
    """Reflex's EventNamespace as tabs.py uses it: the token manager, and emit_update (recorded)."""

    def __init__(self, manager: RedisTokenManager) -> None:
        setattr(self, tabs.TOKEN_MANAGER_ATTRIBUTE, manager)
        self.emitted: list[tuple[str, list[str]]] = []

    async def emit_update(self, update, token: str) -> None:
        self.emitted.append((token, [event.name for event in update.events]))


class _App:
    def __init__(self, manager: RedisTokenManager) -> None:
        self.event_namespace = _Namespace(manager)


async def test_after_a_loss_the_worker_puts_back_its_socket_records_and_reloads_its_tabs(
    own_redis: OwnRedis,
) -> None:
    here = RedisTokenManager(redis.asyncio.Redis.from_url(own_redis.url))
    elsewhere = RedisTokenManager(redis.asyncio.Redis.from_url(own_redis.url))
    app = _App(here)
    try:
        await here.link_token_to_sid("tab-here", "sid-1")
        await elsewhere.link_token_to_sid("tab-elsewhere", "sid-2")
        assert await elsewhere.is_token_connected("tab-here")
        await here.redis.flushall()
        assert not await elsewhere.is_token_connected("tab-here")  # the issue: other workers lose the tab

        assert await tabs.restore_after_redis_loss(app) == 1  # only the tabs whose socket is here
        record = pickle.loads(await here.redis.get("token_manager_socket_record_tab-here"))
        assert record.instance_id == here.instance_id
        assert await elsewhere.is_token_connected("tab-here")
        assert app.event_namespace.emitted == [("tab-here", ["reflex___state____state.hydrate_and_load"])]
        assert await here.redis.config_get("notify-keyspace-events") != {"notify-keyspace-events": ""}
        # Reflex's subscribers of this worker run (started again, not waiting out a retry pause).
        for attribute in tabs.SUBSCRIBER_TASKS:
            task = getattr(here, attribute)
            assert task is not None and not task.done()
    finally:
        await here.close()
        await elsewhere.close()


def test_the_private_reflex_names_tabs_uses_exist() -> None:
    """A Reflex that renamed them must fail here, not leave tabs deaf after the next Redis restart."""
    for name in (tabs.STORE_SOCKET_RECORD, tabs.ENSURE_SOCKET_RECORD_TASK):
        assert callable(getattr(RedisTokenManager, name))
    manager = RedisTokenManager(redis.asyncio.Redis())
    for attribute in tabs.SUBSCRIBER_TASKS:
        assert hasattr(manager, attribute)
