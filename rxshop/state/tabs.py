"""Which tabs listen for what, and which of them are connected now: the registry live updates ask.

`OrdersState.load` (My Orders and the return page) records its tab's client token under its visitor; the
dashboard records its tabs under ADMIN_TOKEN. `listeners` answers with those still connected, so a change for
a visitor without an open tab touches no state and runs no query (touching every paying visitor's state was
60 % of a webhook's cost: bench/RESULTS.md).

Where the record lives: in Redis when the app uses it (several workers: a webhook on one worker must see a
tab connected to another), as a sorted set per visitor whose entries age out with Reflex's own state;
otherwise in this process (one worker), where a token whose socket is gone is dropped when a change finds
it. A tab that comes back reconnects with hydrate_and_load, whose on_load records it again before it reads.

When Redis comes back empty (a restart without persistence, a flush), every record above is gone, and so
are Reflex's own: which worker holds which tab's socket, and every tab's state. The websockets stay open, so
no tab reconnects by itself and none would hear again. `restore_after_redis_loss` (called by
rxshop.state.resync) puts back this worker's socket records and asks each of its tabs to load its page
again, as a reconnect does: the page's on_load records the tab as listening and reads the orders afresh.

It imports no state (the states import it), and it is the one module that reads Reflex's private
attributes: `EventNamespace._token_manager` (`token_manager_of`) and, to recover from a Redis outage, a few of
its RedisTokenManager (`keep_subscribed`, `resubscribe`, `restore_after_redis_loss`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable
from typing import Any

import reflex as rx
from redis.asyncio import Redis
from redis.exceptions import RedisError
from reflex.config import get_config
from reflex.constants import CompileVars
from reflex.event import Event
from reflex.istate.manager.redis import enable_keyspace_notifications
from reflex.state import StateUpdate
from reflex.utils.token_manager import RedisTokenManager, TokenManager

log = logging.getLogger(__name__)

TOKEN_MANAGER_ATTRIBUTE = "_token_manager"  # reflex/app.py EventNamespace.__init__ (Reflex 0.10)
# reflex/utils/token_manager.py RedisTokenManager (Reflex 0.10.1): stores one tab's socket record in Redis
# (set if absent), and (re)starts the subscriber that follows other workers' socket records.
STORE_SOCKET_RECORD = "_store_socket_record"
ENSURE_SOCKET_RECORD_TASK = "_ensure_socket_record_task"
SUBSCRIBER_TASKS = ("_lost_and_found_task", "_socket_record_task")  # the two tasks those subscribers run in

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


# --- After Redis was away or lost its data ------------------------------------------------------------------


def redis_of(app: rx.App) -> Redis | None:
    """The Redis client Reflex keeps this worker's tabs in, or None when the app runs without Redis."""
    manager = token_manager_of(app)
    return manager.redis if isinstance(manager, RedisTokenManager) else None


def _private(manager: RedisTokenManager, name: str) -> Any:
    try:
        return getattr(manager, name)
    except AttributeError as err:
        raise RuntimeError(
            f"Reflex's RedisTokenManager has no {name} any more: live updates cannot recover from a Redis "
            "outage. Update rxshop/state/tabs.py for this Reflex version."
        ) from err


def keep_subscribed(app: rx.App) -> None:
    """Start Reflex's two Redis subscribers of this worker again if they stopped.

    Reflex gives each up after five failures within a minute (reflex/utils/tasks.py) and starts them again
    only when a new tab connects: a Redis outage of more than a few seconds stops both. Without the
    lost-and-found one, a change made on another worker never reaches a tab of this one.
    """
    namespace = app.event_namespace
    manager = token_manager_of(app)
    if namespace is None or not isinstance(manager, RedisTokenManager):
        return
    manager.ensure_lost_and_found_task(namespace.emit_update)
    _private(manager, ENSURE_SOCKET_RECORD_TASK)()


async def resubscribe(app: rx.App) -> None:
    """Redis answers again: Reflex's subscribers of this worker subscribe again now.

    Still running, each may be waiting a second between failed attempts; a change another worker publishes
    for a tab of this one meanwhile reaches nobody (Redis drops a message without subscribers, silently).
    """
    manager = token_manager_of(app)
    if not isinstance(manager, RedisTokenManager):
        return
    for attribute in SUBSCRIBER_TASKS:
        task = _private(manager, attribute)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    keep_subscribed(app)


def connected_here(app: rx.App) -> list[str]:
    """The client tokens of the tabs whose websocket this worker holds."""
    manager = token_manager_of(app)
    if manager is None:
        return []
    return [
        token
        for token, record in list(manager.token_to_socket.items())
        if record.instance_id == manager.instance_id
    ]


def _reload_event() -> Event:
    """What a tab sends on every (re)connect: Reflex sends it the whole state and runs the page's on_load."""
    return Event(name=f"{rx.State.get_full_name()}.{CompileVars.HYDRATE_AND_LOAD}")


async def restore_after_redis_loss(app: rx.App) -> int:
    """Redis is back without (some of) its data: make this worker's open tabs hear again.

    1. Keyspace notifications on again (a restarted Redis forgot them; Reflex's state locks and socket
       records follow them), and Reflex's subscribers subscribed again (`resubscribe`);
    2. Reflex's socket record of each tab connected here, stored again (unless a newer one is there): other
       workers find the tab through it, both to ask whether it is connected and to send it a change;
    3. each of those tabs asked to load its page again, exactly as after a reconnect (the frontend sends the
       event back with its route): Reflex sends the tab its whole (new) state and runs the page's on_load,
       which records the tab as listening again and reads the orders afresh, so a change made while Redis
       was away shows too. The subscribers have long subscribed by the time a tab listens again: that
       takes the tab's round trip and its on_load, subscribing one round trip to Redis.
    Returns the number of tabs asked.
    """
    namespace = app.event_namespace
    manager = token_manager_of(app)
    if namespace is None or not isinstance(manager, RedisTokenManager):
        return 0
    try:
        await enable_keyspace_notifications(manager.redis)
    except RedisError:
        log.warning("Could not turn Redis keyspace notifications on again", exc_info=True)
    await resubscribe(app)
    store = _private(manager, STORE_SOCKET_RECORD)
    tokens = connected_here(app)
    for token in tokens:
        record = manager.token_to_socket.get(token)
        if record is not None:
            await store(token, record, nx=True)
    for token in tokens:
        await namespace.emit_update(StateUpdate(events=[_reload_event()]), token)
    return len(tokens)


async def push_to(app: rx.App, tab: str, cls: type[rx.State], push: Callable[[Any], object]) -> None:
    """Run `push` on this tab's state of `cls`, as an event of that tab would (on any worker: Reflex routes
    the change through Redis); `push` may be a coroutine function. Raises what it raises."""
    async with app.modify_state(rx.BaseStateToken(ident=tab, cls=cls)) as root:
        done = push(await root.get_state(cls))
        if inspect.isawaitable(done):
            await done


async def push_to_listeners(
    app: rx.App, key: str, cls: type[rx.State], push: Callable[[Any], object], what: str, quiet: bool = False
) -> bool:
    """`push_to` every tab listening under `key` and connected now. False if any of them may have missed
    `what` (the lookup or a push failed; logged as a warning, or at debug level when `quiet`: a retry)."""
    try:
        listening = await listeners(key)
    except Exception:
        report = log.debug if quiet else log.warning
        report("Could not look up the open tabs for %s", what, exc_info=True)
        return False
    return await push_to_each(app, listening, cls, push, what, quiet)


async def push_to_each(
    app: rx.App,
    tokens: list[str],
    cls: type[rx.State],
    push: Callable[[Any], object],
    what: str,
    quiet: bool = False,
) -> bool:
    """`push_to` each of these tabs (looked up already); False if any push failed (each one logged)."""
    report = log.debug if quiet else log.warning
    delivered = True
    for tab in tokens:
        try:
            await push_to(app, tab, cls, push)
        except Exception:
            report("Could not push %s to an open tab", what, exc_info=True)
            delivered = False
    return delivered
