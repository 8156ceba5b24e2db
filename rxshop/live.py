"""Live updates: when an order changes (rxshop.notify), every open My Orders tab of its visitor re-reads.

Only where a tab listens. Without this, every order change (a webhook, the return page, an expiry) loaded,
refreshed and wrote the shared state `visitor-<id>` of a visitor who had no page open: 60 % of a
webhook's cost, and one more state file per paying visitor (bench/RESULTS.md). Now `OrdersState.load`
(My Orders and the return page) records its tab's client token under its visitor, and a change looks there
first: no connected tab, no state touched and no query.

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

from rxshop import notify
from rxshop.state.orders import OrdersState, visitor_token

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
    """As long as Reflex keeps a state in Redis: past that the shared state forgets its tabs too."""
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


async def has_listener(visitor_id: str) -> bool:
    """Whether a tab of this visitor that loaded My Orders is connected now (to any worker)."""
    manager = _token_manager()
    if manager is None:
        return False
    if isinstance(manager, RedisTokenManager):
        return await _has_listener_in_redis(manager, visitor_id)
    tokens = _local.get(visitor_id)
    if not tokens:
        return False
    # A local token manager answers without awaiting anything: no other task runs between check and discard.
    tokens.intersection_update([token for token in tokens if await manager.is_token_connected(token)])
    if not tokens:
        _local.pop(visitor_id, None)
    return bool(tokens)


async def _has_listener_in_redis(manager: RedisTokenManager, visitor_id: str) -> bool:
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
    return bool(connected)


async def publish_orders_changed(visitor_id: str, order_id: str) -> None:
    """Refresh this visitor's shared My Orders state if a tab of theirs listens (on any worker).

    Reflex then sends the change to every linked tab. Best effort: the database already holds the truth,
    and a tab reads it again on its next load.
    """
    if _app is None:
        return
    try:
        if not await has_listener(visitor_id):
            return
        token = rx.BaseStateToken(ident=visitor_token(visitor_id), cls=OrdersState)
        async with _app.modify_state(token) as root:
            state = await root.get_state(OrdersState)
            await state._refresh(visitor_id)
    except Exception:
        log.exception("Could not push the change of order %s to its visitor's open tabs", order_id)
