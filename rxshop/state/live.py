"""Live updates: when an order changes (rxshop.core.notify), every open My Orders tab of its visitor re-reads.

Only where a tab listens: `OrdersState.load` (My Orders and the return page) records its tab's client token
under its visitor, and a change refreshes the OrdersState of each of those tabs that is connected. No
connected tab, no state touched and no query (touching every paying visitor's state was 60 % of a webhook's
cost: bench/RESULTS.md). The dashboard (rxshop.state.live_admin) keeps its tabs here too, under ADMIN_TOKEN.

Where the record lives: in Redis when the app uses it (several workers: a webhook on one worker must see a
tab connected to another), as a sorted set per visitor whose entries age out with Reflex's own state;
otherwise in this process (one worker), where a token whose socket is gone is dropped when a change finds
it. A tab that comes back reconnects with hydrate_and_load, whose on_load records it again before it reads.
"""

from __future__ import annotations

import logging
import time

import reflex as rx
from reflex.config import get_config
from reflex.utils.token_manager import RedisTokenManager, TokenManager

from rxshop.core import notify
from rxshop.state.orders import OrdersState

log = logging.getLogger(__name__)

_app: rx.App | None = None
_local: dict[str, set[str]] = {}  # visitor id -> client tokens of tabs that loaded My Orders (no Redis)
_PRUNE_EVERY = 1000  # local records: drop visitors without a connected tab every this many `listen`s
_listens = 0


def start_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the visitors' open tabs.

    Wired at start-up, not at import, so importing the app (tests, tools) changes nothing.
    """
    global _app
    if _app is None:
        notify.subscribe(publish_orders_changed)
    _app = app


def _token_manager() -> TokenManager | None:
    namespace = _app.event_namespace if _app is not None else None
    return getattr(namespace, "_token_manager", None)  # Reflex's own map of connected tabs


def _redis_key(visitor_id: str) -> str:
    return f"rxshop:orders-tabs:{visitor_id}"


def _ttl_seconds() -> int:
    """As long as Reflex keeps a state in Redis: past that Reflex forgets the tab's state too."""
    return int(get_config().redis_token_expiration)


async def listen(visitor_id: str, client_token: str) -> None:
    """This tab shows the visitor's orders: changes of them are pushed to it from now on.

    Call before the tab reads its orders, so a change committed after the read is always pushed.
    """
    global _listens
    manager = _token_manager()
    if not visitor_id or not client_token or manager is None:
        return
    if isinstance(manager, RedisTokenManager):
        key = _redis_key(visitor_id)
        async with manager.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {client_token: time.time()})
            pipe.expire(key, _ttl_seconds())
            await pipe.execute()
        return
    _local.setdefault(visitor_id, set()).add(client_token)
    _listens += 1
    if _listens % _PRUNE_EVERY == 0:
        _prune_local(manager)


def _prune_local(manager: TokenManager) -> None:
    """Forget the tabs whose socket is gone (a local token manager knows every socket of this process)."""
    for visitor_id, tokens in list(_local.items()):
        tokens.intersection_update(manager.token_to_socket)
        if not tokens:
            _local.pop(visitor_id, None)


async def unlisten(visitor_id: str, client_token: str) -> None:
    """This tab no longer shows what it listened for (a dashboard tab signed out)."""
    manager = _token_manager()
    if not visitor_id or not client_token or manager is None:
        return
    if isinstance(manager, RedisTokenManager):
        await manager.redis.zrem(_redis_key(visitor_id), client_token)
        return
    tokens = _local.get(visitor_id)
    if tokens is not None:
        tokens.discard(client_token)


async def listeners(visitor_id: str) -> list[str]:
    """The client tokens of this visitor's tabs that listen and are connected now (to any worker)."""
    manager = _token_manager()
    if manager is None:
        return []
    if isinstance(manager, RedisTokenManager):
        return await _listeners_in_redis(manager, visitor_id)
    tokens = _local.get(visitor_id)
    if not tokens:
        return []
    # A local token manager answers without awaiting anything: no other task runs between check and discard.
    tokens.intersection_update([token for token in tokens if await manager.is_token_connected(token)])
    if not tokens:
        _local.pop(visitor_id, None)
    return sorted(tokens)


async def _listeners_in_redis(manager: RedisTokenManager, visitor_id: str) -> list[str]:
    """The record is a sorted set: token -> when it last listened (or was found connected).

    Nothing is removed for being disconnected: the tab may be reconnecting on another worker right now, its
    load re-adding it between our check and a removal. Entries only age out (older than Reflex's state
    lifetime), and one found connected is renewed, so a tab open for hours keeps hearing.
    """
    key, now, ttl = _redis_key(visitor_id), time.time(), _ttl_seconds()
    members = await manager.redis.zrangebyscore(key, now - ttl, "+inf")
    tokens = [t.decode() if isinstance(t, bytes) else t for t in members]
    connected = [token for token in tokens if await manager.is_token_connected(token)]
    async with manager.redis.pipeline(transaction=False) as pipe:
        pipe.zremrangebyscore(key, "-inf", f"({now - ttl}")
        if connected:
            pipe.zadd(key, dict.fromkeys(connected, now), xx=True)
            pipe.expire(key, ttl)
        await pipe.execute()
    return connected


async def publish_orders_changed(visitor_id: str, order_id: str) -> None:
    """Refresh the My Orders state of each connected tab of this visitor (on any worker: Reflex sends the
    change to a tab on another worker through Redis). Best effort: the database already holds the truth,
    and a tab reads it again on its next load."""
    if _app is None:
        return
    try:
        tabs = await listeners(visitor_id)
    except Exception:
        log.exception("Could not look up the open tabs for the change of order %s", order_id)
        return
    for tab in tabs:
        try:
            async with _app.modify_state(rx.BaseStateToken(ident=tab, cls=OrdersState)) as root:
                await (await root.get_state(OrdersState))._push(visitor_id)
        except Exception:
            log.exception("Could not push the change of order %s to an open tab", order_id)
