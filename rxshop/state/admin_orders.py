"""AdminOrdersState: the order table (tabs with counts, filters, search, sort, pages) and its CSV, for the
signed-in owner.

Every argument comes from the browser and is checked here: filters are parsed into rxshop.admin.queries'
OrderFilters, unknown sort keys, tabs and statuses are refused, pages are clamped by the service. The tab
comes from the address (?tab=), so the overview's links and the tabs themselves are plain links.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import reflex as rx

from rxshop.admin.export import ExportRequest, export_query
from rxshop.admin.queries import AdminOrderRow, OrderFilters, OrderTab, SortKey, list_orders
from rxshop.core import routes
from rxshop.core.settings import get_settings
from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.views import FulfillmentStatus
from rxshop.state.admin import AdminState, form_text

PAGE_SIZE = 25
SORTABLE = {key.value for key in SortKey}
FULFILLMENT = {FulfillmentStatus.UNFULFILLED, FulfillmentStatus.SHIPPED}


@dataclasses.dataclass(frozen=True)
class AdminRow:
    """One order as the owner's table shows it (text ready to display)."""

    id: str
    number: str
    date: str
    email: str
    customer: str
    shipping_method: str
    summary: str
    total: str
    status: str
    status_label: str
    shipped: bool
    refunded: str

    @classmethod
    def of(cls, row: AdminOrderRow) -> AdminRow:
        return cls(
            id=row.id,
            number=row.number,
            date=row.created_at.strftime("%Y-%m-%d %H:%M"),
            email=row.email,
            customer=row.customer,
            shipping_method=row.shipping_method,
            summary=row.items,
            total=format_money(row.total, row.currency),
            status=row.status.value,
            status_label=row.status.label,
            shipped=row.fulfillment_status == FulfillmentStatus.SHIPPED,
            refunded=format_money(row.refunded, row.currency) if row.refunded else "",
        )


@dataclasses.dataclass(frozen=True)
class TabLink:
    key: str
    label: str
    count: int
    href: str


def orders_text(count: int) -> str:
    return f"{count} order" if count == 1 else f"{count:,} orders"


def parse_day(text: str | None) -> date | None | bool:
    """'' -> None; 'YYYY-MM-DD' -> date; anything else -> False (refused)."""
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else False
    except ValueError:
        return False


class AdminOrdersState(AdminState):
    rows: list[AdminRow] = []
    total_count: int = 0
    page: int = 0
    page_count: int = 1
    loaded: bool = False
    filter_error: str = ""
    date_problem: str = ""  # the service's word on an impossible range (shown instead of "0 orders")
    form_key: int = 0
    tabs: list[TabLink] = []
    # The filters as applied (echoed into the form).
    tab: str = OrderTab.ALL.value
    status: str = ""
    fulfillment: str = ""
    date_from: str = ""
    date_to: str = ""
    search: str = ""
    sort: str = SortKey.DATE.value
    descending: bool = True

    def _filters(self) -> OrderFilters:
        return OrderFilters(
            tab=OrderTab(self.tab),
            statuses=(OrderStatus(self.status),) if self.status else (),
            fulfillment=self.fulfillment or None,
            date_from=date.fromisoformat(self.date_from) if self.date_from else None,
            date_to=date.fromisoformat(self.date_to) if self.date_to else None,
            search=self.search,
        )

    async def _refresh(self, admin: str) -> None:
        found = await self._service(
            list_orders,
            admin,
            filters=self._filters(),
            sort=SortKey(self.sort),
            descending=self.descending,
            page=self.page,
            page_size=PAGE_SIZE,
        )
        if found is None:
            return
        counts = found.tab_counts  # read with the page (one grouped query gives the total and every tab)
        self.rows = [AdminRow.of(row) for row in found.rows]
        self.total_count, self.page, self.page_count = found.total_count, found.page, found.page_count
        self.date_problem = found.problem
        self.tabs = [
            TabLink(tab.value, tab.label, counts[tab], routes.ADMIN_ORDERS_TAB + tab.value)
            for tab in OrderTab
        ]
        self.loaded = True

    @rx.var
    def count_text(self) -> str:
        """ "1 order", "12 orders", or why none can match."""
        if not self.loaded:
            return ""
        return self.date_problem or orders_text(self.total_count)

    @rx.event
    async def load(self):
        """On page load: the tab the address names (All without one), with the other filters this tab
        last used."""
        if not (admin := await self._admin_token()):
            return
        wanted = self.router.url.query_parameters.get("tab", "")
        tab = wanted if wanted in {t.value for t in OrderTab} else OrderTab.ALL.value
        if tab != self.tab:
            self.tab, self.page = tab, 0
        await self._refresh(admin)

    @rx.event
    async def apply_filters(self, form_data: dict):
        """The filter form: status, shipped or not, dates (UTC days), and search text."""
        admin = await self._admin_token()
        if not admin:
            return
        status = form_text(form_data, "status")
        fulfillment = form_text(form_data, "fulfillment")
        search = form_text(form_data, "search")
        day_from = parse_day(form_text(form_data, "date_from"))
        day_to = parse_day(form_text(form_data, "date_to"))
        if status is None or (status not in ("", "all") and status not in set(OrderStatus)):
            self.filter_error = "Choose a status from the list."
        elif fulfillment is None or (fulfillment not in ("", "all") and fulfillment not in FULFILLMENT):
            self.filter_error = "Choose shipped or not shipped from the list."
        elif day_from is False or day_to is False:
            self.filter_error = "Dates look like 2025-01-31."
        elif day_from and day_to and day_from > day_to:
            self.filter_error = "“From” is after “To”: no order can match. Swap the dates or clear one."
        elif search is None:
            self.filter_error = "The search text is too long."
        else:
            self.filter_error = ""
            self.status = "" if status == "all" else status
            self.fulfillment = "" if fulfillment == "all" else fulfillment
            self.date_from = day_from.isoformat() if day_from else ""
            self.date_to = day_to.isoformat() if day_to else ""
            self.search, self.page = search, 0
        await self._refresh(admin)

    @rx.event
    async def clear_filters(self):
        if admin := await self._admin_token():
            self.status = self.fulfillment = self.date_from = self.date_to = self.search = ""
            self.filter_error, self.page = "", 0
            self.form_key += 1
            await self._refresh(admin)

    @rx.event
    async def sort_by(self, key: str):
        """A column header: sort by it; again: reverse."""
        admin = await self._admin_token()
        if not admin or not isinstance(key, str) or key not in SORTABLE:
            return
        self.descending = not self.descending if key == self.sort else key == SortKey.DATE.value
        self.sort, self.page = key, 0
        await self._refresh(admin)

    @rx.event
    async def go_to_page(self, page: int):
        admin = await self._admin_token()
        if not admin or isinstance(page, bool) or not isinstance(page, int) or not 0 <= page < 10**6:
            return
        self.page = page
        await self._refresh(admin)

    @rx.event
    async def download_csv(self):
        """Every order matching the filters (not only this page), as a CSV file: the browser fetches it from
        GET /admin/orders.csv with its admin cookie (streamed, rxshop.web.admin_export); this event only
        builds the address from the filters as applied."""
        if not await self._admin_token():
            return
        wanted = ExportRequest(self._filters(), SortKey(self.sort), self.descending)
        url = get_settings().backend_url + routes.ADMIN_ORDERS_CSV + "?" + export_query(wanted)
        return rx.call_script(f"window.location.assign({json.dumps(url)})")
