"""CartState: this tab's view of the visitor's one cart, which lives on the server (rxshop.orders.carts).

Every change is written to the database first (validated there with the rules of rxshop.domain.cart) and
the tab shows what the database then holds. The visitor's other open tabs hear of it at once and read it
again, on any worker: each tab's load listens under "cart-<visitor>" in the registry of rxshop.state.tabs,
and `_tell_tabs` refreshes the CartState of each connected tab there. An order change (rxshop.core.notify)
does the same, because a paid order empties the cart it was made from. Prices always come from the
server's catalog; no cart lives in the browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import reflex as rx

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.domain.cart import Cart, InvalidQuantity, price_cart
from rxshop.domain.catalog import CURRENCY, PRODUCTS, UnknownProduct, format_money
from rxshop.domain.identity import is_visitor_id
from rxshop.domain.shipping import shipping_summary
from rxshop.domain.stock import cart_limit_notice
from rxshop.orders import carts
from rxshop.state import live_stock, tabs
from rxshop.state.visitor import checked_visitor_id

log = logging.getLogger(__name__)

NOT_READY = "Your browser session is not ready yet; please reload the page."

_app: rx.App | None = None
_pushes: set[asyncio.Task] = set()  # strong references until each push ends


def listen_key(visitor_id: str) -> str:
    """The registry key of a visitor's tabs that show the cart (apart from My Orders' key, the visitor id)."""
    return f"cart-{visitor_id}"


class CartState(rx.State):
    quantities: dict[str, int] = {}  # as the server holds them (product id -> quantity)
    notice: str = ""  # the last refused input, shown beside the cart and announced
    _visitor_id: str = ""  # whose cart this tab shows

    @rx.event
    async def load(self):
        """On page load (and every reconnect): listen for this visitor's cart changes, then read it.
        Listening comes first, so a change committed after the read is pushed."""
        visitor_id = checked_visitor_id(self.router)
        if visitor_id != self._visitor_id:  # another visitor in this tab now (forgotten browser)
            self.reset()
        if not visitor_id:
            return
        self._visitor_id = visitor_id
        await tabs.listen(listen_key(visitor_id), self.router.session.client_token)
        await self._read()

    @rx.event
    async def set_quantity(self, product_id: str, value: str | int):
        """Typed into a quantity field: an empty field means 0; anything invalid changes nothing."""
        raw = value.strip() if isinstance(value, str) else value
        await self._change(carts.set_quantity, product_id=product_id, quantity=0 if raw == "" else raw)

    @rx.event
    async def increment(self, product_id: str):
        await self._change(carts.step_quantity, product_id=product_id, delta=1)

    @rx.event
    async def decrement(self, product_id: str):
        await self._change(carts.step_quantity, product_id=product_id, delta=-1)

    @rx.event
    async def clear(self):
        await self._change(carts.clear_cart)

    async def _change(self, change: Callable[..., dict[str, int]], **arguments: Any):
        """Write the change (off the event loop), show the cart as stored, and tell the other tabs."""
        visitor_id = checked_visitor_id(self.router)
        if not visitor_id:
            self.notice = NOT_READY
            return
        try:
            self.quantities = await in_session(change, visitor_id=visitor_id, **arguments)
        except (UnknownProduct, InvalidQuantity, carts.NoVisitor) as err:
            self.notice = str(err)
            return
        self._visitor_id = visitor_id
        if self.notice:
            self.notice = ""
        if "product_id" in arguments:
            await self._cap_to_stock(visitor_id, str(arguments["product_id"]))
        _tell_tabs(visitor_id, but=self.router.session.client_token)

    async def _cap_to_stock(self, visitor_id: str, product_id: str):
        """Never more than is free, by the count as it is now (Buy's hold then checks it exactly)."""
        if self.quantities.get(product_id, 0) == 0:
            return
        limit = await live_stock.orderable_now(product_id)
        if self.quantities.get(product_id, 0) > limit:
            self.quantities = await in_session(
                carts.set_quantity, visitor_id=visitor_id, product_id=product_id, quantity=limit
            )
            self.notice = cart_limit_notice(product_id, limit)

    async def _read(self):
        self.quantities = await carts.fetch_cart(self._visitor_id)

    async def _push(self, visitor_id: str):
        """The visitor's cart changed elsewhere (another tab, a payment): read it again, if this tab still
        shows that visitor."""
        if is_visitor_id(visitor_id) and visitor_id == self._visitor_id:
            await self._read()

    def _show(self, quantities: dict[str, int]):
        """Show the cart as the server just read it (Buy, which read it itself)."""
        if quantities != self.quantities:
            self.quantities = quantities

    @rx.var
    def counts(self) -> dict[str, int]:
        """Every product's quantity, zeros included, for the quantity fields."""
        return {p.id: int(self.quantities.get(p.id, 0)) for p in PRODUCTS}

    @rx.var
    def subtotals(self) -> dict[str, str]:
        return {p.id: format_money(p.unit_amount * int(self.quantities.get(p.id, 0))) for p in PRODUCTS}

    @rx.var
    def summary_lines(self) -> list[dict[str, str]]:
        return [
            {"name": line.name, "quantity": str(line.quantity), "subtotal": format_money(line.subtotal)}
            for line in self._cart().lines
        ]

    @rx.var
    def total_label(self) -> str:
        return format_money(self._cart().total, CURRENCY)

    @rx.var
    def shipping_note(self) -> str:
        """What shipping this cart would be offered at checkout, from the server's rates (rxshop.domain.shipping)."""
        return shipping_summary(self._cart().total)

    @rx.var
    def item_count(self) -> int:
        return self._cart().item_count

    @rx.var
    def is_empty(self) -> bool:
        return self._cart().is_empty

    def _cart(self) -> Cart:
        try:
            return price_cart(self.quantities)
        except (UnknownProduct, InvalidQuantity):  # cannot happen: the server checked every line
            return price_cart({})


def start_cart_sync(app: rx.App) -> None:
    """Lifespan task of the running app: from now on cart changes and paid orders reach the visitor's tabs.

    Wired at start-up, not at import, so importing the app (tests, tools) changes nothing."""
    global _app
    if _app is None:
        notify.subscribe(_order_changed)
    tabs.attach(app)
    _app = app


def _tell_tabs(visitor_id: str, *, but: str = "") -> None:
    """Refresh the cart of the visitor's other open tabs, without making the caller wait for them."""
    if _app is None:
        return
    task = asyncio.get_running_loop().create_task(_push_to_tabs(visitor_id, but))
    _pushes.add(task)
    task.add_done_callback(_pushes.discard)


async def _order_changed(visitor_id: str, _order_id: str) -> None:
    """An order of this visitor changed: if it was paid, the cart it was made from is emptied on the next
    read, so the tabs showing the cart read it now. Only tabs that listen are touched (usually none)."""
    await _push_to_tabs(visitor_id, "")


async def _push_to_tabs(visitor_id: str, but: str) -> None:
    """Best effort, like every live update: the database holds the cart, and a page load reads it again."""
    if _app is None:
        return
    try:
        tokens = await tabs.listeners(listen_key(visitor_id))
    except Exception:
        log.exception("Could not look up the open tabs of a cart")
        return
    for token in tokens:
        if token == but:
            continue
        try:
            await tabs.push_to(_app, token, CartState, lambda state: state._push(visitor_id))
        except Exception:
            log.exception("Could not push a cart change to an open tab")
