"""AdminRevenueState and AdminInboxState: paid revenue per day and per product; the exceptions inbox.

Figures are formatted here (integer money from rxshop.admin.reports); bar heights are percentages of the
range's best day, so the chart needs no charting library in the browser.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import reflex as rx

from rxshop.admin.actions import ActionRefused, resolve
from rxshop.admin.auth import NotSignedIn
from rxshop.admin.reports import MAX_RANGE_DAYS, exceptions, product_totals, revenue
from rxshop.core.models import utcnow
from rxshop.domain.catalog import format_money
from rxshop.state.admin import INBOX_LABELS, AdminState, form_text
from rxshop.state.admin_orders import parse_day

REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


@dataclasses.dataclass(frozen=True)
class DayBar:
    day: str
    orders: int
    revenue: str
    refunds: str
    discounts: str
    height: int  # percent of the best day's revenue (0-100)


@dataclasses.dataclass(frozen=True)
class ProductRow:
    name: str
    quantity: int
    amount: str


@dataclasses.dataclass(frozen=True)
class InboxRow:
    kind: str
    label: str
    reference: str
    when: str
    detail: str
    order_id: str
    order_number: str
    amount: str
    resolved: bool
    note: str


class AdminRevenueState(AdminState):
    start: str = ""
    end: str = ""
    loaded: bool = False
    range_error: str = ""
    days: list[DayBar] = []
    products: list[ProductRow] = []
    total_orders: int = 0
    total_revenue: str = ""
    total_refunds: str = ""
    total_discounts: str = ""
    net: str = ""

    async def _refresh(self, admin: str) -> None:
        start, end = parse_day(self.start), parse_day(self.end)
        if not start or not end:
            return
        report = await self._service(revenue, admin, start=start, end=end)
        totals = await self._service(product_totals, admin, start=start, end=end)
        if report is None or totals is None:
            return
        best = max((d.revenue for d in report.days), default=0) or 1
        self.days = [
            DayBar(
                d.day.isoformat(),
                d.orders,
                format_money(d.revenue),
                format_money(d.refunds),
                format_money(d.discounts),
                round(100 * d.revenue / best),
            )
            for d in report.days
        ]
        self.products = [ProductRow(t.name, t.quantity, format_money(t.amount)) for t in totals]
        self.total_orders = report.orders
        self.total_revenue, self.total_refunds = format_money(report.revenue), format_money(report.refunds)
        self.total_discounts, self.net = format_money(report.discounts), format_money(report.net)
        self.loaded = True

    @rx.event
    async def load(self):
        """On page load: the last 14 days, unless this tab chose a range."""
        if not (admin := await self._admin_token()):
            return
        if not self.start:
            today = utcnow().date()
            self.start, self.end = (today - timedelta(days=13)).isoformat(), today.isoformat()
        await self._refresh(admin)

    @rx.event
    async def set_range(self, form_data: dict):
        if not (admin := await self._admin_token()):
            return
        start, end = parse_day(form_text(form_data, "start")), parse_day(form_text(form_data, "end"))
        if not start or not end:
            self.range_error = "Enter both dates, like 2025-01-31."
        elif abs((end - start).days) >= MAX_RANGE_DAYS:
            self.range_error = f"Choose at most {MAX_RANGE_DAYS} days."
        else:
            self.range_error = ""
            self.start, self.end = min(start, end).isoformat(), max(start, end).isoformat()
        await self._refresh(admin)


class AdminInboxState(AdminState):
    inbox: list[InboxRow] = []
    loaded: bool = False
    show_resolved: bool = False
    message: str = ""

    async def _refresh(self, admin: str) -> None:
        found = await self._service(exceptions, admin, include_resolved=self.show_resolved)
        if found is None:
            return
        self.inbox = [
            InboxRow(
                kind=e.kind,
                label=INBOX_LABELS.get(e.kind, e.kind),
                reference=e.reference,
                when=e.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                detail=e.detail,
                order_id=e.order_id or "",
                order_number=e.order_number or "",
                amount=format_money(e.amount, e.currency or "usd") if e.amount is not None else "",
                resolved=e.resolved_at is not None,
                note=e.resolution_note or "",
            )
            for e in found
        ]
        self.loaded = True

    @rx.event
    async def load(self):
        if admin := await self._admin_token():
            await self._refresh(admin)

    @rx.event
    async def toggle_resolved(self, show: bool):
        if not (admin := await self._admin_token()) or not isinstance(show, bool):
            return
        self.show_resolved = show
        await self._refresh(admin)

    @rx.event
    async def resolve(self, form_data: dict):
        """Mark one item resolved with the owner's note (kind and reference come from the item's form)."""
        if not (admin := await self._admin_token()):
            return
        kind, reference = form_text(form_data, "kind"), form_text(form_data, "reference")
        note = form_text(form_data, "note", 2000)
        if kind not in INBOX_LABELS or not reference or not REFERENCE.fullmatch(reference):
            self.message = "That item is not in the inbox any more."
        elif not note:
            self.message = "Write a short note: what was done about it."
        else:
            try:
                await resolve(admin=admin, kind=kind, reference=reference, note=note)
                self.message = "Marked resolved."
            except ActionRefused as err:
                self.message = str(err)
            except NotSignedIn:
                await self._signed_out()
                return
        await self._refresh(admin)
        await self._refresh_summary(admin)
