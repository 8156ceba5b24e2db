"""rxshop.state.live pushes an order change only to a visitor with a connected My Orders tab (any worker).

A change for anyone else must not load or write any Reflex state (it was 60 % of a webhook's cost and one
state file per paying visitor). The app is a stand-in holding Reflex's real EventNamespace with its real
token managers (local, and Redis for two workers), read through rxshop.state.tabs' one adapter; the
end-to-end tests (tests/e2e/test_live_orders.py, test_deployment.py) cover the real app.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio
from reflex.app import EventNamespace
from reflex.utils.token_manager import LocalTokenManager, RedisTokenManager, TokenManager

from rxshop.state import live, resync, tabs
from tests.fixtures.db import service_missing

ALICE, BOB = "a" * 32, "b" * 32


class FakeApp:
    """What rxshop.state.live uses of rx.App: Reflex's own EventNamespace, and modify_state (recorded)."""

    def __init__(self, manager: TokenManager) -> None:
        self.event_namespace = EventNamespace("/_event", self)
        # The token manager a worker with (or without) Redis would have; the name is the adapter's one constant.
        setattr(self.event_namespace, tabs.TOKEN_MANAGER_ATTRIBUTE, manager)
        self.manager = manager
        self.modified: list[str] = []
        self.refreshed: list[str] = []
        self.failing: set[str] = set()  # tabs whose state cannot be reached (Redis away for them)

    @contextlib.asynccontextmanager
    async def modify_state(self, token):
        if token.ident in self.failing:
            raise ConnectionError(f"the state of {token.ident} is out of reach")
        self.modified.append(token.ident)
        app = self

        class TabState:  # OrdersState._push and AdminState._refresh_live, recorded
            async def _push(self, visitor_id: str) -> None:
                app.refreshed.append(visitor_id)

            async def _refresh_live(self) -> None:
                app.refreshed.append("dashboard")

        class Root:
            async def get_state(self, _cls):
                return TabState()

        yield Root()


@pytest.fixture
def local_app(monkeypatch: pytest.MonkeyPatch) -> FakeApp:
    app = FakeApp(LocalTokenManager())
    monkeypatch.setattr(live, "_app", app)
    monkeypatch.setattr(tabs, "_app", app)
    monkeypatch.setattr(tabs, "_local", {})
    return app


async def test_a_change_for_a_visitor_without_a_tab_touches_no_state(local_app: FakeApp) -> None:
    await live.publish_orders_changed(ALICE, "ord_1")
    assert local_app.modified == [] and local_app.refreshed == []


async def test_a_listening_tab_is_refreshed_and_another_visitor_is_not(local_app: FakeApp) -> None:
    manager = local_app.manager
    await manager.link_token_to_sid("tab-1", "sid-1")
    await tabs.listen(ALICE, "tab-1")

    await live.publish_orders_changed(BOB, "ord_b")
    assert local_app.modified == []
    await live.publish_orders_changed(ALICE, "ord_a")
    assert local_app.modified == ["tab-1"] and local_app.refreshed == [ALICE]


async def test_every_connected_tab_of_the_visitor_is_refreshed_until_it_stops_listening(
    local_app: FakeApp,
) -> None:
    manager = local_app.manager
    for tab in ("tab-1", "tab-2", "tab-bob"):
        await manager.link_token_to_sid(tab, "sid-" + tab)
    await tabs.listen(ALICE, "tab-1")
    await tabs.listen(ALICE, "tab-2")
    await tabs.listen(BOB, "tab-bob")
    assert await tabs.listeners(ALICE) == ["tab-1", "tab-2"]

    await live.publish_orders_changed(ALICE, "ord_a")
    assert local_app.modified == ["tab-1", "tab-2"] and local_app.refreshed == [ALICE, ALICE]
    await tabs.unlisten(ALICE, "tab-1")
    await live.publish_orders_changed(ALICE, "ord_a")
    assert local_app.modified[2:] == ["tab-2"]


async def test_a_closed_tab_stops_the_pushes_and_is_forgotten(local_app: FakeApp) -> None:
    manager = local_app.manager
    await manager.link_token_to_sid("tab-1", "sid-1")
    await manager.link_token_to_sid("tab-2", "sid-2")
    await tabs.listen(ALICE, "tab-1")
    await tabs.listen(ALICE, "tab-2")
    await manager.disconnect_token("tab-1", "sid-1")

    await live.publish_orders_changed(ALICE, "ord_a")  # tab-2 still listens
    assert local_app.modified == ["tab-2"] and tabs._local[ALICE] == {"tab-2"}
    await manager.disconnect_token("tab-2", "sid-2")
    await live.publish_orders_changed(ALICE, "ord_a")
    assert local_app.modified == ["tab-2"] and ALICE not in tabs._local


async def test_a_tab_out_of_reach_does_not_stop_the_others_and_is_tried_again(
    local_app: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resync, "_waiting", {})
    manager = local_app.manager
    for tab in ("tab-1", "tab-2"):
        await manager.link_token_to_sid(tab, "sid-" + tab)
        await tabs.listen(ALICE, tab)
    local_app.failing.add("tab-1")

    await live.publish_orders_changed(ALICE, "ord_a")
    assert local_app.modified == ["tab-2"] and list(resync._waiting.values())[0][0] == "ord_a"
    local_app.failing.clear()
    await resync.retry_waiting()
    assert local_app.modified == ["tab-2", "tab-1", "tab-2"] and resync._waiting == {}


async def test_without_a_running_app_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "_app", None)
    monkeypatch.setattr(tabs, "_app", None)
    await tabs.listen(ALICE, "tab-1")
    assert await tabs.listeners(ALICE) == []
    await live.publish_orders_changed(ALICE, "ord_a")


@pytest.fixture
def redis_url() -> str:
    parts = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    url = f"{parts.scheme}://{parts.netloc}/12"  # this test's own database, flushed before and after
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3)
        client.flushdb()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {url}: {exc}")
    yield url
    client.flushdb()
    client.close()


async def test_with_redis_a_tab_on_another_worker_is_seen(redis_url: str, monkeypatch) -> None:
    """Two workers: the tab's socket and its load on worker B, the webhook's change on worker A."""
    worker_a = RedisTokenManager(redis.asyncio.Redis.from_url(redis_url))
    worker_b = RedisTokenManager(redis.asyncio.Redis.from_url(redis_url))
    app_a, app_b = FakeApp(worker_a), FakeApp(worker_b)
    tab = "tab-" + secrets.token_hex(4)
    try:
        await worker_b.link_token_to_sid(tab, "sid-1")
        monkeypatch.setattr(live, "_app", app_b)
        monkeypatch.setattr(tabs, "_app", app_b)
        await tabs.listen(ALICE, tab)

        monkeypatch.setattr(live, "_app", app_a)
        monkeypatch.setattr(tabs, "_app", app_a)
        await live.publish_orders_changed(BOB, "ord_b")
        await live.publish_orders_changed(ALICE, "ord_a")
        assert app_a.modified == [tab]
        ttl = await worker_a.redis.ttl(tabs._redis_key(ALICE))
        assert 0 < ttl <= tabs._ttl_seconds()

        await worker_b.disconnect_token(tab, "sid-1")
        await live.publish_orders_changed(ALICE, "ord_a")
        assert app_a.modified == [tab]  # no second push

        # Reconnected (on worker A now): its load records it again, and it hears again.
        await worker_a.link_token_to_sid(tab, "sid-2")
        await tabs.listen(ALICE, tab)
        await live.publish_orders_changed(ALICE, "ord_a")
        assert app_a.modified == [tab] * 2

        # An entry older than Reflex's state lifetime ages out.
        key = tabs._redis_key(ALICE)
        await worker_a.redis.zadd(key, {"tab-old": time.time() - tabs._ttl_seconds() - 10})
        assert await tabs.listeners(ALICE) == [tab]
        assert await worker_a.redis.zrange(key, 0, -1) == [tab.encode()]
        await tabs.unlisten(ALICE, tab)
        assert await tabs.listeners(ALICE) == []
    finally:
        await worker_a.close()
        await worker_b.close()


async def test_the_dashboards_are_refreshed_only_while_a_dashboard_tab_listens(
    local_app: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rxshop.state.live_admin asks the same registry: no connected dashboard tab, no state loaded."""
    from rxshop.state import live_admin
    from rxshop.state.admin import ADMIN_TOKEN

    monkeypatch.setattr(live_admin, "_app", local_app)
    await live_admin.publish_to_dashboards(ALICE, "ord_a")
    assert local_app.modified == []

    manager = local_app.manager
    await manager.link_token_to_sid("admin-tab", "sid-1")
    await tabs.listen(ADMIN_TOKEN, "admin-tab")
    await live_admin.publish_to_dashboards(ALICE, "ord_a")
    assert local_app.modified == ["admin-tab"] and local_app.refreshed == ["dashboard"]
    await tabs.unlisten(ADMIN_TOKEN, "admin-tab")  # signed out
    await live_admin.publish_to_dashboards(ALICE, "ord_a")
    assert local_app.modified == ["admin-tab"]


async def test_the_changes_of_one_moment_share_one_dashboard_refresh(
    local_app: FakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook batch or a burst of Buys changes many orders at once: one refresh of each dashboard reads
    them all (each refresh reads every view anew), and a change after it gets a refresh of its own."""
    import asyncio

    from rxshop.state import live_admin
    from rxshop.state.admin import ADMIN_TOKEN

    monkeypatch.setattr(live_admin, "_app", local_app)
    await local_app.manager.link_token_to_sid("admin-tab", "sid-1")
    await tabs.listen(ADMIN_TOKEN, "admin-tab")
    await asyncio.gather(*(live_admin.publish_to_dashboards(ALICE, f"ord_{n}") for n in range(20)))
    assert local_app.refreshed == ["dashboard"]
    await live_admin.publish_to_dashboards(ALICE, "ord_later")
    assert local_app.refreshed == ["dashboard", "dashboard"]
    await tabs.unlisten(ADMIN_TOKEN, "admin-tab")


def test_the_adapter_reads_the_connected_tabs_from_reflex_s_real_event_namespace() -> None:
    """The one private Reflex attribute rxshop reads, on Reflex's own object: a rename fails here, loudly."""
    app = FakeApp(LocalTokenManager())
    namespace = EventNamespace("/_event", app)  # as rx.App builds it, with its own token manager
    app.event_namespace = namespace
    assert isinstance(tabs.token_manager_of(app), TokenManager)
    assert tabs.token_manager_of(app) is vars(namespace)[tabs.TOKEN_MANAGER_ATTRIBUTE]


def test_a_reflex_without_the_attribute_stops_the_start_with_a_clear_error() -> None:
    app = FakeApp(LocalTokenManager())
    delattr(app.event_namespace, tabs.TOKEN_MANAGER_ATTRIBUTE)
    with pytest.raises(RuntimeError, match="Update rxshop/state/tabs.py"):
        tabs.attach(app)


async def test_the_clock_refreshes_the_open_dashboards(local_app: FakeApp, monkeypatch) -> None:
    """What time alone changes (an order overdue for shipping, midnight, a sign-in ended idle) reaches an open
    dashboard without any order changing; with no dashboard open the clock touches no state."""
    from rxshop.state import live_admin
    from rxshop.state.admin import ADMIN_TOKEN

    monkeypatch.setattr(live_admin, "_app", local_app)
    monkeypatch.setattr(live_admin, "COALESCE_SECONDS", 0.01)
    assert await live_admin.clock_tick(local_app) is True
    assert local_app.modified == []
    await local_app.manager.link_token_to_sid("admin-tab", "sid-1")
    await tabs.listen(ADMIN_TOKEN, "admin-tab")
    assert await live_admin.clock_tick(local_app) is True
    assert local_app.modified == ["admin-tab"] and local_app.refreshed == ["dashboard"]


async def test_with_redis_one_worker_a_round_refreshes_the_dashboards_for_the_clock(
    redis_url: str, monkeypatch
) -> None:
    import asyncio

    from rxshop.state import live_admin
    from rxshop.state.admin import ADMIN_TOKEN

    monkeypatch.setattr(live_admin, "COALESCE_SECONDS", 0.01)
    monkeypatch.setattr(live_admin, "CLOCK_SECONDS", 0.2)
    worker_a = RedisTokenManager(redis.asyncio.Redis.from_url(redis_url))
    worker_b = RedisTokenManager(redis.asyncio.Redis.from_url(redis_url))
    app_a, app_b = FakeApp(worker_a), FakeApp(worker_b)
    try:
        await worker_b.link_token_to_sid("admin-tab", "sid-1")
        monkeypatch.setattr(tabs, "_app", app_b)
        await tabs.listen(ADMIN_TOKEN, "admin-tab")

        monkeypatch.setattr(live_admin, "_app", app_a)
        assert await live_admin.clock_tick(app_a) is True
        monkeypatch.setattr(live_admin, "_app", app_b)
        assert await live_admin.clock_tick(app_b) is False  # the same round: worker A did it
        assert app_a.refreshed == ["dashboard"] and app_b.refreshed == []
        await asyncio.sleep(0.25)  # the next round
        assert await live_admin.clock_tick(app_b) is True
        assert app_b.refreshed == ["dashboard"]
    finally:
        await worker_a.close()
        await worker_b.close()
