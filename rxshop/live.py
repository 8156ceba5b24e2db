"""Live updates: when an order changes (rxshop.notify), every open tab of its visitor re-reads its orders."""

import logging

import reflex as rx

from rxshop import notify
from rxshop.state.orders import OrdersState, visitor_token

log = logging.getLogger(__name__)

_app: rx.App | None = None


def start_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the visitors' open tabs.

    Wired at start-up, not at import, so importing the app (tests, tools) changes nothing.
    """
    global _app
    if _app is None:
        notify.subscribe(publish_orders_changed)
    _app = app


async def publish_orders_changed(visitor_id: str, order_id: str) -> None:
    """Refresh this visitor's shared My Orders state (on any worker, through the state manager).

    Best effort: the database already holds the truth, and a tab reads it again on its next load.
    """
    if _app is None:
        return
    try:
        token = rx.BaseStateToken(ident=visitor_token(visitor_id), cls=OrdersState)
        async with _app.modify_state(token) as root:
            state = await root.get_state(OrdersState)
            await state._refresh(visitor_id)
    except Exception:
        log.exception("Could not push the change of order %s to its visitor's open tabs", order_id)
