"""Live updates: refresh a visitor's shared My Orders state from outside any browser event (webhooks)."""

import logging

import reflex as rx

from rxshop import webhooks
from rxshop.state.orders import OrdersState, visitor_token

log = logging.getLogger(__name__)

_app: rx.App | None = None


def start_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the visitors' open tabs.

    Wired at start-up, not at import, so importing the app (tests, tools) changes nothing.
    """
    global _app
    _app = app
    webhooks.order_listener = publish_orders_changed


async def publish_orders_changed(visitor_id: str) -> None:
    """Every open tab of this visitor re-reads its orders (on any worker, through the state manager).

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
        log.exception("Could not push the order change to visitor %s's open tabs", visitor_id[:8])
