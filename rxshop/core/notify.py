"""The one way to say "an order changed": every path that changes an order calls `order_changed`.

A port with no reflex in it (Cosmic Python's notifications, handed in rather than reached for): the
webhook, the expiry sweep, the return page and reconciliation call it; the running app subscribes at
start-up (`rxshop.state.live`) and pushes the change to open tabs. Outside the app nobody listens: a no-op.

`stock_changed` is its sibling for what no order change tells: a Buy holding units, the owner's count
(`rxshop.state.live_stock` listens to both, since sales and releases always come with an order change).
`inbox_changed` is the third: something only the owner's dashboard shows changed without any order
changing (money for a session the shop has no order for, a Stripe event it could not apply, an item
resolved in another tab). Without it an open Overview kept "Open exceptions 0" while a newly loaded page
said "1 open" (rxshop.state.live_admin listens).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Listener = Callable[[str, str], Awaitable[None]]  # (visitor_id, order_id)

_listeners: list[Listener] = []
_deliveries: set[asyncio.Task] = set()  # strong references until each delivery ends


def subscribe(listener: Listener) -> Callable[[], None]:
    """Hear every order change from now on; returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def order_changed(visitor_id: str, order_id: str) -> None:
    """Tell every listener, without waiting for them: a webhook answers Stripe before any browser hears.

    Call it from the event loop after the change is committed. Listeners are best effort: the database
    holds the truth, and a page reads it again on its next load.
    """
    if not _listeners or not visitor_id:
        return
    for listener in list(_listeners):
        task = asyncio.get_running_loop().create_task(_deliver(listener, visitor_id, order_id))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)


async def _deliver(listener: Listener, visitor_id: str, order_id: str) -> None:
    try:
        await listener(visitor_id, order_id)
    except Exception:
        log.exception("A listener failed on the change of order %s", order_id)


_stock_listeners: list[Callable[[], Awaitable[None]]] = []


def subscribe_stock(listener: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Hear every `stock_changed` from now on; returns the function that stops it."""
    _stock_listeners.append(listener)
    return lambda: _stock_listeners.remove(listener) if listener in _stock_listeners else None


def stock_changed() -> None:
    """Units were held or counted anew (committed): tell every listener, without waiting for them."""
    for listener in list(_stock_listeners):
        task = asyncio.get_running_loop().create_task(_deliver_stock(listener))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)


async def _deliver_stock(listener: Callable[[], Awaitable[None]]) -> None:
    try:
        await listener()
    except Exception:
        log.exception("A listener failed on a change of stock")


_inbox_listeners: list[Callable[[], Awaitable[None]]] = []


def subscribe_inbox(listener: Callable[[], Awaitable[None]]) -> Callable[[], None]:
    """Hear every `inbox_changed` from now on; returns the function that stops it."""
    _inbox_listeners.append(listener)
    return lambda: _inbox_listeners.remove(listener) if listener in _inbox_listeners else None


def inbox_changed() -> None:
    """The owner's inbox changed with no order changing (committed): tell every listener, without waiting."""
    for listener in list(_inbox_listeners):
        task = asyncio.get_running_loop().create_task(_deliver_inbox(listener))
        _deliveries.add(task)
        task.add_done_callback(_deliveries.discard)


async def _deliver_inbox(listener: Callable[[], Awaitable[None]]) -> None:
    try:
        await listener()
    except Exception:
        log.exception("A listener failed on a change of the owner's inbox")
