"""Live updates: refresh a visitor's shared My Orders state from outside any browser event (webhooks)."""

import logging

import reflex as rx
from reflex.utils.prerequisites import get_and_validate_app

from rxshop.state.orders import OrdersState, visitor_token

log = logging.getLogger(__name__)


async def publish_orders_changed(visitor_id: str) -> None:
    """Every open tab of this visitor re-reads its orders (on any worker, through the state manager).

    Best effort: the database already holds the truth, and a tab reads it again on its next load.
    """
    try:
        app = get_and_validate_app().app
        token = rx.BaseStateToken(ident=visitor_token(visitor_id), cls=OrdersState)
        async with app.modify_state(token) as root:
            state = await root.get_state(OrdersState)
            await state._refresh(visitor_id)
    except Exception:
        log.exception("Could not push the order change to visitor %s's open tabs", visitor_id[:8])
