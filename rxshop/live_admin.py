"""Live dashboard: when an order changes (rxshop.notify), every open, signed-in admin tab re-reads its views.

Beside rxshop.live (the buyer's My Orders), subscribed the same way, in its own module so the two evolve
apart. The open admin tabs are the clients linked to the shared token `admin-dashboard` (AdminLiveState's
`_linked_from`, kept by Reflex in its state manager: on any worker with Redis). Nothing is touched while no
dashboard tab is connected (each signed-in load records its tab with rxshop.live.listen); each tab's refresh
checks that tab's own sign-in before it reads anything.
"""

from __future__ import annotations

import logging

import reflex as rx

from rxshop import live, notify
from rxshop.state.admin import ADMIN_TOKEN, AdminLiveState, AdminState

log = logging.getLogger(__name__)

_app: rx.App | None = None


def start_admin_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the open dashboards."""
    global _app
    if _app is None:
        notify.subscribe(publish_to_dashboards)
    _app = app


async def publish_to_dashboards(visitor_id: str, order_id: str) -> None:
    """Refresh every connected admin tab (best effort: a dashboard reads the database again on load)."""
    if _app is None:
        return
    try:
        # The signed-in tabs that loaded a dashboard page are recorded as listeners (rxshop.live), like My
        # Orders tabs: with none connected, an order change costs one lookup (it was a query on the
        # database thread per change, 18 % of a webhook's samples: bench/RESULTS.md).
        if not await live.has_listener(ADMIN_TOKEN):
            return
        async with _app.modify_state(rx.BaseStateToken(ident=ADMIN_TOKEN, cls=AdminLiveState)) as root:
            tabs = set((await root.get_state(AdminLiveState))._linked_from)
        manager = getattr(_app.event_namespace, "_token_manager", None)
        for tab in tabs:
            if manager is not None and not await manager.is_token_connected(tab):
                continue
            async with _app.modify_state(rx.BaseStateToken(ident=tab, cls=AdminState)) as root:
                await (await root.get_state(AdminState))._refresh_live()
    except Exception:
        log.exception("Could not push the change of order %s to the open dashboards", order_id)
