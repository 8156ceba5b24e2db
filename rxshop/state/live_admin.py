"""Live dashboard: when an order changes (rxshop.core.notify), every open, signed-in admin tab re-reads its views.

Beside rxshop.state.live (the buyer's My Orders), subscribed the same way, in its own module so the two evolve
apart. The open admin tabs are those recorded by each signed-in dashboard load in rxshop.state.tabs' registry
under ADMIN_TOKEN (in Redis with several workers). Nothing is touched while no dashboard tab is connected;
each tab's refresh checks that tab's own sign-in before it reads anything. A refresh that fails (Redis or the
database away) is tried again until it goes through (rxshop.state.resync). Once a minute they re-read anyway
(`follow_the_clock`): an order becoming overdue for shipping changes nothing but the time.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx

from rxshop.core import notify
from rxshop.state import resync, tabs
from rxshop.state.admin import ADMIN_TOKEN, AdminState

log = logging.getLogger(__name__)

_app: rx.App | None = None
COALESCE_SECONDS = 0.3  # the changes of a moment (a webhook batch, a Buy burst) share one refresh
CLOCK_SECONDS = 60.0  # what time alone changes reaches an open dashboard within this
_CLOCK_KEY = "rxshop:dashboard-clock"  # with Redis: the worker that refreshes this round
_dirty = False  # a change came in that no refresh has read yet
_refresher: asyncio.Task[None] | None = None


def start_admin_live_updates(app: rx.App) -> None:
    """Lifespan task of the running app: from now on order changes reach the open dashboards."""
    global _app
    if _app is None:
        notify.subscribe(publish_to_dashboards)
        notify.subscribe_inbox(publish_inbox_to_dashboards)
    tabs.attach(app)
    _app = app


async def publish_to_dashboards(visitor_id: str, order_id: str) -> None:
    """Refresh every connected admin tab within COALESCE_SECONDS: the changes of that moment share one
    refresh (each reads every view anew, and its cost grows with the shop: bench/soak.py counted ~4 per
    order with one per change, and its webhook p95 crept 1.32 x over 20 minutes; 0.93 x coalesced).
    Returns once the refresh that covers this change has run; if it fails, it is tried again every second
    until it goes through."""
    global _dirty, _refresher
    _dirty = True
    loop = asyncio.get_running_loop()
    if _refresher is None or _refresher.done() or _refresher.get_loop() is not loop:
        _refresher = loop.create_task(_refresh_while_changing())
    await asyncio.shield(_refresher)


async def _refresh_while_changing() -> None:
    """One refresh after COALESCE_SECONDS, and another while changes came in meanwhile."""
    global _dirty
    while _dirty:
        await asyncio.sleep(COALESCE_SECONDS)
        _dirty = False
        if not await _deliver(ADMIN_TOKEN, "(changes)", quiet=False):
            resync.retry_later(_deliver, ADMIN_TOKEN, "(changes)")


async def publish_inbox_to_dashboards() -> None:
    """The inbox changed with no order: the same refresh (every count and view is read anew)."""
    await publish_to_dashboards("", "(none: the inbox)")


async def follow_the_clock(app: rx.App) -> None:
    """Lifespan task: every CLOCK_SECONDS the open dashboards re-read what time alone changes. An order
    becomes overdue for shipping, today's figures start again at midnight UTC, and a sign-in that ended
    while the tab sat idle clears that tab's order data (each refresh checks its tab's sign-in first)."""
    while True:
        await asyncio.sleep(CLOCK_SECONDS)
        try:
            await clock_tick(app)
        except Exception:
            log.exception("Refreshing the open dashboards for the clock failed; trying again next round")


async def clock_tick(app: rx.App) -> bool:
    """One round; True if this worker refreshed the dashboards (with Redis, the first worker of the round)."""
    redis = tabs.redis_of(app)
    if redis is not None and not await redis.set(_CLOCK_KEY, "1", nx=True, px=int(CLOCK_SECONDS * 900)):
        return False
    await publish_to_dashboards("", "(the clock)")
    return True


async def _deliver(_key: str, order_id: str, quiet: bool = True) -> bool:
    """One try. With no dashboard tab connected, an order change costs one registry lookup (it was a query on
    the database thread per change, 18 % of a webhook's samples: bench/RESULTS.md)."""
    if _app is None:
        return True
    return await tabs.push_to_listeners(
        _app,
        ADMIN_TOKEN,
        AdminState,
        lambda state: state._refresh_live(),
        f"the change of order {order_id}",
        quiet,
    )
