"""OrdersState: the visitor's My Orders, one shared state per visitor so every open tab follows changes.

Each tab links to the token `visitor-<id>` (rx.SharedState); a webhook or another tab that changes an
order refreshes that token's state (rxshop.live), and Reflex pushes the change to every linked tab, on
any worker (Redis), and to no other visitor.
"""

import reflex as rx

from rxshop import orders
from rxshop.checkout import is_visitor_id
from rxshop.db import new_session, run_sync
from rxshop.state.visitor import VisitorState

PAGE_SIZE = 20


def visitor_token(visitor_id: str) -> str:
    """The shared-state token of one visitor (Reflex forbids '_' in it; ids are hex)."""
    return f"visitor-{visitor_id}"


def _row(order: orders.OrderView) -> dict[str, str]:
    refunded = order.refunded_text if order.amount_refunded else ""
    return {
        "id": order.id,
        "date": order.created_at.strftime("%d %b %Y, %H:%M UTC"),
        "items": ", ".join(f"{line.quantity} × {line.name}" for line in order.lines),
        "total": order.total_text,
        "status": order.status,
        "status_label": order.status_label,
        "refunded": refunded,
    }


def _read(visitor_id: str, page: int) -> tuple[list[dict[str, str]], int, dict[str, str]]:
    """One page of placed orders, plus the status of the newest orders of any status (the return page
    watches its order there, even while it is still pending or has expired)."""
    with new_session() as session:
        shown = orders.list_orders(
            session=session,
            visitor_id=visitor_id,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
            statuses=orders.LISTED_STATUSES,
        )
        newest = orders.list_orders(session=session, visitor_id=visitor_id, offset=0, limit=PAGE_SIZE)
    return [_row(o) for o in shown.orders], shown.total, {o.id: o.status for o in newest.orders}


class OrdersState(rx.SharedState):
    orders: list[dict[str, str]] = []
    page: int = 0
    total_count: int = 0
    status_of: dict[str, str] = {}
    loaded: bool = False
    _visitor_id: str = ""

    @rx.event
    async def load(self):
        """On page load: join this visitor's shared orders and read them fresh."""
        visitor_id = (await self.get_state(VisitorState))._checked_id()
        if not visitor_id:
            return
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
        """Re-read from the database (in a thread: the event loop serves everyone else meanwhile)."""
        if is_visitor_id(visitor_id):
            self._visitor_id = visitor_id
        if not self._visitor_id:
            return
        rows, total, status_of = await run_sync(_read, self._visitor_id, self.page)
        if not rows and self.page > 0:  # the page emptied (fewer orders than before): show the first
            self.page = 0
            rows, total, status_of = await run_sync(_read, self._visitor_id, 0)
        self.orders, self.total_count, self.status_of, self.loaded = rows, total, status_of, True

    @rx.var
    def page_count(self) -> int:
        return max(1, -(-self.total_count // PAGE_SIZE))

    @rx.var
    def has_previous(self) -> bool:
        return self.page > 0

    @rx.var
    def has_next(self) -> bool:
        return (self.page + 1) * PAGE_SIZE < self.total_count
