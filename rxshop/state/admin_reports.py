"""AdminRevenueState and AdminInboxState: net revenue per day and per product beside the period before;
the exceptions inbox in plain words.

Figures are formatted here (integer money from rxshop.admin.reports). The chart's points carry the net
revenue in major units as a number: recharts needs numbers to draw; every figure the owner reads in text
(the table, the cards, the chart's own accessible table) is formatted from the integers.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import reflex as rx

from rxshop.admin.actions import ActionRefused, resolve
from rxshop.admin.auth import NotSignedIn
from rxshop.admin.reports import (
    MAX_RANGE_DAYS,
    RevenueReport,
    compare_revenue,
    exceptions,
    previous_period,
    product_totals,
)
from rxshop.core import notify
from rxshop.core.models import utcnow
from rxshop.domain.catalog import CURRENCY, format_money
from rxshop.state.admin import INBOX_LABELS, AdminState, form_text
from rxshop.state.admin_orders import parse_day

REFERENCE = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


@dataclasses.dataclass(frozen=True)
class DayBar:
    day: str
    orders: int
    revenue: str  # gross: what buyers paid
    refunds: str
    discounts: str
    net: str  # revenue: what was paid less what was refunded of it


@dataclasses.dataclass(frozen=True)
class Figure:
    """One headline figure with the previous period's beside it."""

    key: str
    label: str
    value: str
    previous: str
    change: str  # "+12%", "−5%", "new", "" (no change to speak of)


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
    summary: str  # what happened, in plain words
    detail: str  # the technical detail, for Stripe support
    order_id: str
    order_number: str
    email: str
    amount: str
    stripe_url: str
    stripe_label: str
    resolved: bool
    note: str


def _change(now: int, before: int) -> str:
    if now == before:
        return "no change"
    if before <= 0:
        return "new" if before == 0 else ""
    percent = round(100 * (now - before) / before)
    return f"+{percent}%" if percent > 0 else f"−{-percent}%" if percent < 0 else "about the same"


def figures(now: RevenueReport, before: RevenueReport) -> list[Figure]:
    """The cards: net revenue, orders, average order value, refunds, discounts; the period before beside."""
    pairs = (
        ("net", "Revenue (net of refunds)", now.net, before.net, True),
        ("orders", "Paid orders", now.orders, before.orders, False),
        ("aov", "Average order value", now.average_order_value, before.average_order_value, True),
        ("refunds", "Refunds", now.refunds, before.refunds, True),
        ("discounts", "Discounts", now.discounts, before.discounts, True),
    )
    return [
        Figure(
            key,
            label,
            format_money(a) if money else str(a),
            format_money(b) if money else str(b),
            _change(a, b),
        )
        for key, label, a, b, money in pairs
    ]


class AdminRevenueState(AdminState):
    start: str = ""
    end: str = ""
    loaded: bool = False
    range_error: str = ""
    previous_start: str = ""
    previous_end: str = ""
    days: list[DayBar] = []
    points: list[dict[str, str | int | float]] = []  # the chart's: day, orders, net (major units)
    figures: list[Figure] = []
    products: list[ProductRow] = []
    total_orders: int = 0
    total_revenue: str = ""  # gross
    net: str = ""

    async def _refresh(self, admin: str) -> None:
        """Both parts at once (a live refresh, rxshop.state.admin's `_refresh_live`)."""
        if await self._refresh_report(admin):
            await self._refresh_products(admin)

    async def _refresh_report(self, admin: str) -> bool:
        """The report (per day, beside the period before); True when the product totals should follow.

        Two steps, each its own delta: the handlers yield between them, so the figures show while the
        product totals (a join of every line of the range: most of the time at 100,000 orders) are read."""
        start, end = parse_day(self.start), parse_day(self.end)
        if not start or not end:
            return False
        both = await self._service(compare_revenue, admin, start=start, end=end)
        if both is None:
            return False
        report = both.current
        self.days = [
            DayBar(
                d.day.isoformat(),
                d.orders,
                format_money(d.revenue),
                format_money(d.refunds),
                format_money(d.discounts),
                format_money(d.net),
            )
            for d in report.days
        ]
        self.points = [
            {"day": f"{d.day:%b} {d.day.day}", "orders": d.orders, "net": d.net / 100} for d in report.days
        ]
        self.figures = figures(report, both.previous)
        low, high = previous_period(start, end)
        self.previous_start, self.previous_end = low.isoformat(), high.isoformat()
        self.total_orders = report.orders
        self.total_revenue, self.net = format_money(report.revenue), format_money(report.net)
        self.loaded = True
        return True

    async def _refresh_products(self, admin: str) -> None:
        start, end = parse_day(self.start), parse_day(self.end)
        if not start or not end:
            return
        totals = await self._service(product_totals, admin, start=start, end=end)
        if totals is not None:
            self.products = [ProductRow(t.name, t.quantity, format_money(t.amount)) for t in totals]

    @rx.var
    def currency_name(self) -> str:
        return CURRENCY.upper()

    @rx.event
    async def load(self):
        """On page load: today with ?range=today (the overview's link); else the last 14 days, unless this
        tab chose a range."""
        if not (admin := await self._admin_token()):
            return
        today = utcnow().date()
        if self.router.url.query_parameters.get("range", "") == "today":
            self.start = self.end = today.isoformat()
        elif not self.start:
            self.start, self.end = (today - timedelta(days=13)).isoformat(), today.isoformat()
        if await self._refresh_report(admin):
            yield
            await self._refresh_products(admin)

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
        if await self._refresh_report(admin):
            yield
            await self._refresh_products(admin)


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
                label=e.title,
                reference=e.reference,
                when=e.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                summary=e.summary,
                detail=e.detail,
                order_id=e.order_id or "",
                order_number=e.order_number or "",
                email=e.email or "",
                amount=format_money(e.amount, e.currency or "usd") if e.amount is not None else "",
                stripe_url=e.stripe_url or "",
                stripe_label=e.stripe_label,
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
                notify.inbox_changed()  # the owner's other tabs count one less
            except ActionRefused as err:
                self.message = str(err)
            except NotSignedIn:
                await self._signed_out()
                return
        await self._refresh(admin)
        await self._refresh_summary(admin)
