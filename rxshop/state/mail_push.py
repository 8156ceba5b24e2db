"""Live pushes for the buyer's side channels and the owner's Messages section.

When an order changes (rxshop.core.notify): the tabs showing it through its secret link re-read it (through
the link, so a revoked one stops), and, only if some tab shows orders found by email, the tabs showing its
address re-read theirs. When the sender records what became of messages (rxshop.mail.sender), the open
dashboards showing those orders' Messages re-read them. Registry lookups only (rxshop.state.tabs): with no
such tab open a change touches no state and runs no query.
"""

from __future__ import annotations

import logging

import reflex as rx

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.mail import sender
from rxshop.orders.email_access import email_of_order
from rxshop.state import tabs
from rxshop.state.admin import ADMIN_TOKEN
from rxshop.state.admin_messages import AdminMessagesState
from rxshop.state.find_orders import FOUND_KEY, FindOrdersState
from rxshop.state.order_link import ORDER_LINK_KEY, OrderLinkState

log = logging.getLogger(__name__)

_app: rx.App | None = None


def start_mail_pushes(app: rx.App) -> None:
    """Lifespan task of the running app (wired at start-up, never at import)."""
    global _app
    if _app is None:
        notify.subscribe(push_order_views)
        sender.subscribe_outcomes(push_messages)
    tabs.attach(app)
    _app = app


async def push_order_views(visitor_id: str, order_id: str) -> None:
    """An order changed: its link pages, and the pages showing orders found by its address."""
    if _app is None:
        return
    what = f"the change of order {order_id}"
    link_key = ORDER_LINK_KEY + order_id
    await tabs.push_to_listeners(_app, link_key, OrderLinkState, lambda state: state._push(order_id), what)
    try:  # the address is read only while some tab shows orders found by email
        found = await tabs.listeners(FOUND_KEY)
        email = await in_session(email_of_order, order_id=order_id) if found else None
    except Exception:
        log.exception("Could not look up the tabs showing orders found by the address of order %s", order_id)
        return
    if email:
        await tabs.push_to_each(_app, found, FindOrdersState, lambda state: state._push(email), what)


async def _refresh_messages(state: AdminMessagesState, order_ids: set[str]) -> None:
    if state.loaded and state.order_id in order_ids:
        admin = await state._admin_token(touch=False)
        if admin:
            await state._refresh(admin)


async def push_messages(order_ids: set[str]) -> None:
    """The sender recorded outcomes for these orders' messages: the dashboards showing them re-read."""
    if _app is not None and order_ids:
        await tabs.push_to_listeners(
            _app,
            ADMIN_TOKEN,
            AdminMessagesState,
            lambda state: _refresh_messages(state, order_ids),
            "messages",
        )
