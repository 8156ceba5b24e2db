"""Live updates: when an order changes (rxshop.core.notify), every open My Orders tab of its visitor re-reads.

Only where a tab listens (rxshop.state.tabs): a change refreshes the OrdersState of each of the visitor's
connected tabs, on any worker (Reflex sends the change to a tab on another worker through Redis), and of no
other visitor. The dashboard's pushes (rxshop.state.live_admin) ask the same registry. A push that fails (Redis
or the database away) is tried again until it goes through (rxshop.state.resync).
"""

from __future__ import annotations

import reflex as rx

from rxshop.core import notify
from rxshop.state import resync, tabs
from rxshop.state.orders import OrdersState

_app: rx.App | None = None


def start_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the visitors' open tabs.

    Wired at start-up, not at import, so importing the app (tests, tools) changes nothing.
    """
    global _app
    if _app is None:
        notify.subscribe(publish_orders_changed)
    tabs.attach(app)
    _app = app


async def publish_orders_changed(visitor_id: str, order_id: str) -> None:
    """Refresh the My Orders state of each connected tab of this visitor (on any worker: Reflex sends the
    change to a tab on another worker through Redis). If that fails (Redis or the database away), it is
    tried again every second once Redis answers (rxshop.state.resync): the database already holds the
    truth, the tabs only need to hear of it."""
    if not await _deliver(visitor_id, order_id, quiet=False):
        resync.retry_later(_deliver, visitor_id, order_id)


async def _deliver(visitor_id: str, order_id: str, quiet: bool = True) -> bool:
    """One try; False if any listening tab may have missed the change (a retry logs no trace back)."""
    if _app is None:
        return True
    return await tabs.push_to_listeners(
        _app,
        visitor_id,
        OrdersState,
        lambda state: state._push(visitor_id),
        f"the change of order {order_id}",
        quiet,
    )
