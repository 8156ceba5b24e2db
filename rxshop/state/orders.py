"""OrdersState: the visitor's My Orders, one shared state per visitor so every open tab follows changes.

Each tab links to the token `visitor-<id>` (rx.SharedState) and is recorded as listening (rxshop.live);
when an order changes (rxshop.notify) and a tab of that visitor listens, rxshop.live refreshes that token's
state and Reflex pushes the change to every linked tab, on any worker (Redis), and to no other visitor.
"""

import dataclasses

import reflex as rx

from rxshop.db import in_session
from rxshop.identity import is_visitor_id
from rxshop.lifecycle import LISTED_STATUSES, OrderStatus
from rxshop.orders import OrderPage, OrderView, list_orders
from rxshop.state.visitor import VisitorState

PAGE_SIZE = 20


def visitor_token(visitor_id: str) -> str:
    """The shared-state token of one visitor (Reflex forbids '_' in it; ids are hex)."""
    return f"visitor-{visitor_id}"


@dataclasses.dataclass(frozen=True)
class OrderRow:
    """One order as My Orders shows it (text ready to display; the browser computes nothing)."""

    id: str
    date: str
    summary: str  # "2 × Mug, 1 × Tote"
    total: str
    status: OrderStatus
    status_label: str
    refunded: str  # "" when nothing was refunded

    @classmethod
    def of(cls, order: OrderView) -> "OrderRow":
        return cls(
            id=order.id,
            date=order.created_at.strftime("%d %b %Y, %H:%M UTC"),
            summary=", ".join(f"{line.quantity} × {line.name}" for line in order.lines),
            total=order.total_text,
            status=order.status,
            status_label=order.status.label,
            refunded=order.refunded_text if order.amount_refunded else "",
        )


class OrdersState(rx.SharedState):
    orders: list[OrderRow] = []
    page: int = 0
    total_count: int = 0
    loaded: bool = False
    _visitor_id: str = ""

    @rx.event
    async def load(self):
        """On page load (and every reconnect): listen for this visitor's changes, join the shared orders
        and read them fresh. Listening comes first, so a change committed after the read is pushed."""
        from rxshop import live  # live imports this module

        visitor = await self.get_state(VisitorState)  # this tab's own state (self may be the shared one)
        visitor_id = visitor._checked_id()
        if not visitor_id:
            return
        await live.listen(visitor_id, visitor.router.session.client_token)
        linked = await self._link_to(visitor_token(visitor_id))
        await linked._refresh(visitor_id)

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
