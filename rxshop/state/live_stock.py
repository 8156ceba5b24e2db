"""Live stock on the shop: "Only 3 left" and "Sold out" on every open shop tab, and the cart's limits.

Each shop tab's load records it in rxshop.state.tabs' registry under STOCK_TOKEN (with Redis, for every
worker to see) and reads the counts. Each worker then watches the counts (`watch_stock_forever`, a
lifespan task): it re-reads them when it holds units for a Buy or the owner counts anew
(`notify.stock_changed`), when an order changes while some product is counted (a sale, a release), and
every POLL_SECONDS anyway (a count set from the command line, a change on another worker); open dashboards
are refreshed on every change it sees (rxshop.state.live_admin). When what the tabs show changes (rxshop.domain.stock.shown: counts above the cart's maximum are all "plenty"), it is
pushed to every listening tab, on any worker; with Redis one worker claims each new picture, so a change is
pushed once, not once per worker.

`orderable(product)` is this worker's latest count, for the cart's quantity controls; Buy checks exactly.
"""

from __future__ import annotations

import asyncio
import logging

import reflex as rx
from reflex.utils.token_manager import RedisTokenManager

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.domain.catalog import MAX_QUANTITY, PRODUCTS
from rxshop.domain.stock import StockLevel, shown
from rxshop.orders import stock
from rxshop.state import live_admin, tabs

log = logging.getLogger(__name__)

STOCK_TOKEN = "stock"  # the registry's key for shop tabs (never a visitor id: those are 32 hex digits)
POLL_SECONDS = 3.0
COALESCE_SECONDS = 0.15  # a burst of changes is read and pushed once
_CLAIM_KEY = "rxshop:stock:shown"

_app: rx.App | None = None
_levels: dict[str, StockLevel] = {}  # this worker's latest read
_shown: tuple = ()  # what this worker last saw the tabs should show
_wake: asyncio.Event | None = None


def orderable(product_id: str) -> int:
    """The most a cart may hold of this product by this worker's latest count (no count read yet: the
    cart's own maximum)."""
    level = _levels.get(product_id)
    return level.orderable if level is not None else MAX_QUANTITY


async def orderable_now(product_id: str) -> int:
    """`orderable` from a count read now, for a cart that grows: another worker may have sold the last unit
    a moment ago (this worker re-reads only every POLL_SECONDS). Nothing to read for an uncounted product."""
    level = _levels.get(product_id)
    if level is None or level.tracked:
        _remember(await in_session(stock.levels))
    return orderable(product_id)


def _remember(levels: tuple[StockLevel, ...]) -> None:
    _levels.update({level.product_id: level for level in levels})


class StockState(rx.State):
    # product id -> the most the cart may hold now; product id -> "Only 3 left", "Sold out" or "".
    left: dict[str, int] = {p.id: MAX_QUANTITY for p in PRODUCTS}
    badges: dict[str, str] = {p.id: "" for p in PRODUCTS}

    def _show(self, picture: tuple) -> None:
        left = {product: limit for product, limit, _badge in picture}
        badges = {product: badge for product, _limit, badge in picture}
        if left != self.left:  # setting a var sends it, changed or not
            self.left = left
        if badges != self.badges:
            self.badges = badges

    @rx.event
    async def load(self):
        """On the shop's load: listen first (a change after the read is pushed), then read the counts."""
        try:
            await tabs.listen(STOCK_TOKEN, self.router.session.client_token)
            levels = await in_session(stock.levels)
        except Exception:  # the shop still sells: Buy checks the stock itself
            log.exception("Reading the stock for a shop tab failed")
            return
        _remember(levels)
        self._show(shown(levels))


async def watch_stock_forever(app: rx.App) -> None:
    """Lifespan task of the running app: read the counts now, then again when told or every POLL_SECONDS;
    push each new picture to the listening tabs, and refresh open dashboards on any change."""
    global _app, _wake, _shown
    if _app is None:  # once per process, however often the app starts
        notify.subscribe(_order_changed)
        notify.subscribe_stock(_stock_changed)
    _app, _wake = app, asyncio.Event()
    tabs.attach(app)
    seen: tuple[StockLevel, ...] | None = None  # this watcher's last read (None: none yet)
    while True:
        if seen is not None:
            try:
                await asyncio.wait_for(_wake.wait(), timeout=POLL_SECONDS)
                await asyncio.sleep(COALESCE_SECONDS)
            except TimeoutError:
                pass
        _wake.clear()
        try:
            levels = await in_session(stock.levels)
        except Exception:
            log.exception("Reading the stock failed; trying again in %s s", POLL_SECONDS)
            seen = seen or ()
            continue
        _remember(levels)
        picture = shown(levels)
        if seen and picture != _shown and await _claim(picture):
            await _push(picture)
        if seen and levels != seen:  # open dashboards (the Inventory page) follow every count
            await live_admin.publish_to_dashboards("", "(stock)")
        seen, _shown = levels, picture


async def _order_changed(_visitor_id: str, _order_id: str) -> None:
    """A sale or a release comes with an order change: recount, unless nothing is counted at all."""
    if _wake is not None and any(level.tracked for level in _levels.values()):
        _wake.set()


async def _stock_changed() -> None:
    if _wake is not None:
        _wake.set()


async def _claim(picture: tuple) -> bool:
    """Whether this worker pushes this picture: with Redis, only the first worker to see it."""
    manager = tabs.token_manager_of(_app) if _app is not None else None
    if not isinstance(manager, RedisTokenManager):
        return True
    try:
        before = await manager.redis.set(_CLAIM_KEY, repr(picture), get=True)
    except Exception:
        log.exception("Could not claim the stock picture in Redis; pushing it from here")
        return True
    before = before.decode() if isinstance(before, bytes) else before
    return before != repr(picture)


async def _push(picture: tuple) -> None:
    """Best effort: a tab that misses it reads the counts on its next load, and Buy checks exactly."""
    if _app is not None:
        await tabs.push_to_listeners(
            _app, STOCK_TOKEN, StockState, lambda state: state._show(picture), "a change of stock"
        )
