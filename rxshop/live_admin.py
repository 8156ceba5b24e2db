"""Live dashboard: when an order changes (rxshop.notify), every open, signed-in admin tab re-reads its views.

Beside rxshop.live (the buyer's My Orders), subscribed the same way, in its own module so the two evolve
apart. The open admin tabs are the clients linked to the shared token `admin-dashboard` (AdminLiveState's
`_linked_from`, kept by Reflex in its state manager: on any worker with Redis). Nothing is touched while no
owner is signed in; each tab's refresh checks that tab's own sign-in before it reads anything.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import reflex as rx
import sqlalchemy as sa
from sqlmodel import Session, select

from rxshop import notify
from rxshop.admin.auth import IDLE_TIMEOUT
from rxshop.db import in_session
from rxshop.models import AdminSession, utcnow
from rxshop.state.admin import ADMIN_TOKEN, AdminLiveState, AdminState

log = logging.getLogger(__name__)

_app: rx.App | None = None


def start_admin_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the open dashboards."""
    global _app
    if _app is None:
        notify.subscribe(publish_to_dashboards)
    _app = app


def _anyone_signed_in(*, session: Session) -> bool:
    since = utcnow() - IDLE_TIMEOUT - timedelta(minutes=1)
    return (
        session.exec(select(sa.literal(1)).where(AdminSession.last_seen_at > since).limit(1)).first()
        is not None
    )


async def publish_to_dashboards(visitor_id: str, order_id: str) -> None:
    """Refresh every connected admin tab (best effort: a dashboard reads the database again on load)."""
    if _app is None:
        return
    try:
        if not await in_session(_anyone_signed_in):
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
