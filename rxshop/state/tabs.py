"""Which tabs listen for what, and which of them are connected now: the registry live updates ask.

`OrdersState.load` (My Orders and the return page) records its tab's client token under its visitor; the
dashboard records its tabs under ADMIN_TOKEN. `listeners` answers with those still connected, so a change for
a visitor without an open tab touches no state and runs no query (touching every paying visitor's state was
60 % of a webhook's cost: bench/RESULTS.md).

Where the record lives: in Redis when the app uses it (several workers: a webhook on one worker must see a
tab connected to another), as a sorted set per visitor whose entries age out with Reflex's own state;
otherwise in this process (one worker), where a token whose socket is gone is dropped when a change finds
it. A tab that comes back reconnects with hydrate_and_load, whose on_load records it again before it reads.

It imports no state (the states import it), and it is the one module that reads Reflex's private
`EventNamespace._token_manager` (`token_manager_of`).
"""

from __future__ import annotations

import time

import reflex as rx
from reflex.config import get_config
from reflex.utils.token_manager import RedisTokenManager, TokenManager

TOKEN_MANAGER_ATTRIBUTE = "_token_manager"  # reflex/app.py EventNamespace.__init__ (Reflex 0.10)

_app: rx.App | None = None
_local: dict[str, set[str]] = {}  # visitor id -> client tokens of tabs that listen (no Redis)
_PRUNE_EVERY = 1000  # local records: drop visitors without a connected tab every this many `listen`s
_listens = 0


def token_manager_of(app: rx.App) -> TokenManager | None:
    """Reflex's own map of connected tabs (None before the app has set up its websocket namespace).

    The one read of a private Reflex attribute in rxshop. A Reflex that renamed it raises here, loudly, instead
    of live updates stopping in silence (tests/unit/test_tabs.py checks it against the real EventNamespace).
    """
    namespace = app.event_namespace
    if namespace is None:
        return None
    try:
        manager = getattr(namespace, TOKEN_MANAGER_ATTRIBUTE)
    except AttributeError as err:
        raise RuntimeError(
            f"Reflex's EventNamespace has no {TOKEN_MANAGER_ATTRIBUTE} any more: live updates cannot find the "
            "connected tabs. Update rxshop/state/tabs.py for this Reflex version."
        ) from err
    if not isinstance(manager, TokenManager):
        raise RuntimeError(
            f"Reflex's EventNamespace.{TOKEN_MANAGER_ATTRIBUTE} is not a TokenManager any more."
        )
    return manager


def attach(app: rx.App) -> None:
    """The running app's start-up: from now on tabs are recorded and found (checks the adapter at once)."""
    global _app
    token_manager_of(app)
    _app = app


def _token_manager() -> TokenManager | None:
    return token_manager_of(_app) if _app is not None else None


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
