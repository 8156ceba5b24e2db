"""OrderLinkState: one order, opened by the secret link in its emails, on any device, following it live.

The token comes from the address (?key=); the order it opens is looked up by the token's hash on every
read, so a revoked link stops showing the order at the next push or load. Each load records the tab under
the order (rxshop.state.tabs, key ORDER_LINK_KEY + order id): rxshop.state.mail_push re-reads it when the
order changes. Nothing but that one order reaches the browser, and only while the link works.
"""

import reflex as rx

from rxshop.core.db import in_session
from rxshop.orders import links
from rxshop.state import tabs
from rxshop.state.orders import OrderRow

ORDER_LINK_KEY = "order-link-"  # + order id: the registry key of the tabs showing it by its link


class OrderLinkState(rx.State):
    orders: list[OrderRow] = []  # the one order, or none (a list: the order card of My Orders shows it)
    loaded: bool = False
    _token: str = ""  # the secret of the address this tab opened (what the browser holds anyway)
    _order_id: str = ""

    @rx.event
    async def load(self):
        """On page load (and every reconnect): the order of ?key=, if the link works."""
        token = self.router.url.query_parameters.get("key", "")
        self._token = token if isinstance(token, str) and links.TOKEN.fullmatch(token) else ""
        self._order_id = ""
        if not self._token:
            self.orders, self.loaded = [], True
            return
        await self._read()
        if self._order_id:
            await tabs.listen(ORDER_LINK_KEY + self._order_id, self.router.session.client_token)
            await self._read()  # listening first, then read: a change committed in between is pushed

    async def _read(self) -> None:
        order = await in_session(links.order_for_token, token=self._token) if self._token else None
        self._order_id = order.id if order is not None else ""
        self.orders = [OrderRow.of(order)] if order is not None else []
        self.loaded = True

    async def _push(self, order_id: str) -> None:
        """That order changed (or its links were revoked): read it again through the link."""
        if order_id and order_id == self._order_id:
            await self._read()
