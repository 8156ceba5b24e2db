"""AdminInventoryState: the owner's counts per product (Inventory page), and the one-click refund of an
oversold order (a button on the Exceptions page).

Thin, like every admin state: each handler checks the sign-in (`_admin_token`), validates what the browser sent,
and calls one service of rxshop.admin.inventory. The page follows sales and releases live: an order change
refreshes every loaded admin view (rxshop.state.live_admin), this one included.
"""

from __future__ import annotations

import dataclasses
import re

import reflex as rx

from rxshop.admin.inventory import inventory, refund_oversold, update_stock
from rxshop.core import notify
from rxshop.domain.catalog import UnknownProduct, format_money, get_product
from rxshop.domain.stock import InvalidStock, parse_count
from rxshop.payments.gateway import get_gateway
from rxshop.state.admin import AdminState, form_text
from rxshop.state.admin_reports import AdminInboxState
from rxshop.state.visitor import VisitorState

ORDER_ID = re.compile(r"ord_[0-9a-f]{24}")


@dataclasses.dataclass(frozen=True)
class StockRow:
    product_id: str
    name: str
    tracked: bool
    quantity: int
    reserved: int
    free: int
    low_threshold: int
    status: str  # rxshop.domain.stock.StockStatus
    status_label: str
    key: str  # changes whenever the figures do, so the form is drawn again with them


class AdminInventoryState(AdminState):
    loaded: bool = False
    rows: list[StockRow] = []
    message: str = ""
    refund_order_id: str = ""  # the oversold order the last one-click refund was for
    refund_message: str = ""

    async def _refresh(self, admin: str) -> None:
        levels = await self._service(inventory, admin)
        if levels is None:
            return
        self.rows = [
            StockRow(
                product_id=level.product_id,
                name=get_product(level.product_id).name,
                tracked=level.tracked,
                quantity=level.quantity,
                reserved=level.reserved,
                free=level.free,
                low_threshold=level.low_threshold,
                status=level.status.value,
                status_label=level.status.label,
                key=f"{level.product_id}:{level.tracked}:{level.quantity}:{level.low_threshold}",
            )
            for level in levels
        ]
        self.loaded = True

    @rx.event
    async def load(self):
        self.message = ""
        if admin := await self._admin_token():
            await self._refresh(admin)

    @rx.event
    async def save(self, form_data: dict):
        """One product's form: counted or not, units for sale, low-stock threshold."""
        if not (admin := await self._admin_token()):
            return
        product_id = form_text(form_data, "product_id") or ""
        try:
            product = get_product(product_id)
            quantity = parse_count(form_text(form_data, "quantity", 20) or "", what="Units for sale")
            low = parse_count(form_text(form_data, "low_threshold", 20) or "", what="The low-stock threshold")
        except UnknownProduct:
            self.message = "That product is not in the shop."
            return
        except InvalidStock as err:
            self.message = str(err)
            return
        tracked = isinstance(form_data, dict) and form_data.get("tracked") in ("on", True, "true")
        level = await self._service(
            update_stock, admin, product_id=product.id, tracked=tracked, quantity=quantity, low_threshold=low
        )
        if level is None:
            return
        notify.stock_changed()  # the shop's open tabs follow
        self.message = (
            f"Saved: {product.name}, {level.quantity} for sale, {level.free} free."
            if level.tracked
            else f"Saved: {product.name} is not counted; it never sells out."
        )
        await self._refresh(admin)

    @rx.event(background=True)
    async def refund_oversold(self, order_id: str):
        """The inbox's one-click refund of an oversold order: all that remains, units put back, resolved."""
        if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
            return
        async with self:
            admin = await self._admin_token()
            self.refund_order_id, self.refund_message = order_id, "Refunding…"
        if not admin:
            return
        outcome = await self._attempt(
            refund_oversold(admin=admin, order_id=order_id, gateway=get_gateway()),
            lambda done: (
                f"Refunded {format_money(done.amount, done.order.currency)} ({done.stripe_refund_id})."
            ),
            f"The one-click refund of order {order_id}",
        )
        if outcome is None:
            return
        async with self:
            self.refund_message = outcome.message
            visitor = (await self.get_state(VisitorState))._checked_id()
            if visitor and self.signed_in:
                await (await self.get_state(AdminInboxState))._refresh(visitor)
                await self._refresh_summary(visitor)
