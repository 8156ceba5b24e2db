"""OrdersState: the visitor's My Orders in this tab, following changes live.

Each tab's load records the tab as listening under its visitor (rxshop.state.tabs); when an order changes
(rxshop.core.notify), rxshop.state.live refreshes the OrdersState of each connected tab of that visitor, on any worker
(Redis), and of no other visitor. A plain state, not rx.SharedState: once an app has any shared state, Reflex
loads and writes its shared-state bookkeeping on every event of every tab, ~2 ms of CPU per Buy
(bench/RESULTS.md).
"""

import dataclasses

import reflex as rx

from rxshop.core.db import in_session
from rxshop.domain.catalog import discount_text, format_money, shipping_amount_text
from rxshop.domain.identity import is_visitor_id
from rxshop.domain.lifecycle import LISTED_STATUSES, SHIPPABLE_STATUSES, OrderStatus
from rxshop.domain.shipping import tracking_url
from rxshop.orders.records import OrderPage, OrderView, list_orders
from rxshop.orders.views import FulfillmentStatus, items_text
from rxshop.state import tabs
from rxshop.state.visitor import VisitorState

PAGE_SIZE = 20


@dataclasses.dataclass(frozen=True)
class OrderItemRow:
    """One line of an order: '2 × Morning Mug' and what it cost."""

    text: str
    amount: str


@dataclasses.dataclass(frozen=True)
class OrderRow:
    """One order as My Orders and the return page show it (text ready to display; the browser computes
    nothing). Amounts are the ones Stripe charged, as fulfillment stored them."""

    id: str
    number: str  # "RX-7K2M9Q": what the buyer quotes; the id stays internal
    date: str
    summary: str  # "2 × Mug, 1 × Tote"
    item_lines: list[OrderItemRow]
    subtotal: str
    shipping_name: str  # the rate chosen at checkout ("Express"); "" for an order without shipping
    shipping: str  # "Free" or "$15.00"
    discount: str  # "−$4.30"; "" when there was none
    total: str
    status: OrderStatus
    status_label: str
    refunded: str  # "" when nothing was refunded
    ship_to: list[str]  # the address, one line each, country by name; [] when none was given
    fulfillment: FulfillmentStatus
    fulfillment_text: str  # "Paid — preparing your order", "Shipped", or "" while the payment is not in
    carrier: str
    tracking_number: str
    tracking_url: str  # "" unless the carrier is known and the number is plain (see shipping.tracking_url)
    shipped_on: str

    @classmethod
    def of(cls, order: OrderView) -> "OrderRow":
        currency = order.currency
        fulfillment = FulfillmentStatus(order.fulfillment_status)
        if fulfillment == FulfillmentStatus.SHIPPED:
            fulfillment_text = "Shipped"
        elif order.status in SHIPPABLE_STATUSES:  # before that, the payment status says it all
            fulfillment_text = "Paid — preparing your order"
        else:
            fulfillment_text = ""
        address = order.shipping
        return cls(
            id=order.id,
            number=order.number,
            date=order.created_at.strftime("%d %b %Y, %H:%M UTC"),
            summary=items_text(order.lines),
            item_lines=[
                OrderItemRow(line.text, format_money(line.quantity * line.unit_amount, currency))
                for line in order.lines
            ],
            subtotal=format_money(order.amount_subtotal, currency),
            shipping_name=order.shipping_rate_name or "",
            shipping=shipping_amount_text(order.amount_shipping, currency)
            if order.shipping_rate_name
            else "",
            discount=discount_text(order.amount_discount, currency),
            total=order.total_text,
            status=order.status,
            status_label=order.status.label,
            refunded=order.refunded_text if order.amount_refunded else "",
            ship_to=list(address.lines) if address is not None else [],
            fulfillment=fulfillment,
            fulfillment_text=fulfillment_text,
            carrier=order.carrier or "",
            tracking_number=order.tracking_number or "",
            tracking_url=tracking_url(order.carrier, order.tracking_number),
            shipped_on=order.shipped_at.strftime("%d %b %Y") if order.shipped_at else "",
        )


class OrdersState(rx.State):
    orders: list[OrderRow] = []
    page: int = 0
    total_count: int = 0
    loaded: bool = False
    _visitor_id: str = ""

    @rx.event
    async def load(self):
        """On page load (and every reconnect): listen for this visitor's changes, then read the orders
        fresh. Listening comes first, so a change committed after the read is pushed."""
        visitor_id = (await self.get_state(VisitorState))._checked_id()
        if visitor_id != self._visitor_id:  # another visitor in this tab now (forgotten browser): start over
            self.reset()  # backend vars (_visitor_id) included
        if not visitor_id:
            return
        await tabs.listen(visitor_id, self.router.session.client_token)
        await self._refresh(visitor_id)

    @rx.event
    async def go_to_page(self, page: int):
        """Pagination; the page number comes from the browser, so it is checked."""
        if isinstance(page, bool) or not isinstance(page, int) or page < 0 or page >= self.page_count:
            return
        self.page = page
        await self._refresh()

    async def _refresh(self, visitor_id: str = ""):
        """Re-read this visitor's placed orders (off the event loop: it serves everyone else meanwhile)."""
        if is_visitor_id(visitor_id):
            self._visitor_id = visitor_id
        if not self._visitor_id:
            return
        found = await self._read(self.page)
        if not found.orders and self.page > 0:  # the page emptied (fewer orders than before): show the first
            self.page = 0
            found = await self._read(0)
        self.orders = [OrderRow.of(order) for order in found.orders]
        self.total_count, self.loaded = found.total, True

    async def _push(self, visitor_id: str):
        """An order of this visitor changed (rxshop.state.live): re-read, if this tab still shows that visitor."""
        if visitor_id and visitor_id == self._visitor_id:
            await self._refresh()

    async def _read(self, page: int) -> OrderPage:
        return await in_session(
            list_orders,
            visitor_id=self._visitor_id,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
            statuses=LISTED_STATUSES,
        )

    @rx.var
    def statuses(self) -> dict[str, str]:
        """Each listed order's status by id: the return page follows its own order here live."""
        return {row.id: row.status for row in self.orders}

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total_count // PAGE_SIZE))

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 0

    @rx.var
    def has_next(self) -> bool:
        return (self.page + 1) * PAGE_SIZE < self.total_count
