"""AdminOrderState: one order in full (lines, amounts, address, Stripe ids, timeline), shipping (and editing
the tracking), refunds with a reason, and internal notes.

Ship and refund are background events: they wait on the database and on Stripe, and must not hold this
tab's state meanwhile (`async with self` only around reading and writing vars). A refund's request key is
made when the refund form opens and kept until it is opened again, so a double click (two events at once)
asks Stripe for one refund (rxshop.admin.actions settles it in the database and by idempotency key).
"""

from __future__ import annotations

import dataclasses
import re

import reflex as rx

from rxshop.admin.actions import new_request_key, refund_order, ship_order
from rxshop.admin.auth import is_signed_in
from rxshop.admin.order_edits import NOTE_MAX, change_tracking, note_order
from rxshop.admin.queries import OrderDetail, order_detail
from rxshop.core.db import in_session
from rxshop.domain.catalog import format_money
from rxshop.domain.lifecycle import OrderStatus
from rxshop.domain.refunds import NOTE_MAX as REFUND_NOTE_MAX
from rxshop.domain.shipping import carrier_id_of, tracking_url
from rxshop.payments.gateway import get_gateway
from rxshop.state.admin import AdminState, admin_token, form_text

ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
AMOUNT = re.compile(r"\$?\s*(\d{1,7})(?:\.(\d{1,2}))?")


@dataclasses.dataclass(frozen=True)
class LineRow:
    name: str
    quantity: int
    unit: str
    amount: str


@dataclasses.dataclass(frozen=True)
class EntryRow:
    """A timeline entry, a refund request or a labelled value: text ready to show."""

    at: str
    label: str
    text: str


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _checked(form_data: dict, name: str) -> bool:
    return isinstance(form_data, dict) and form_data.get(name) in ("on", True, "true")


def _ship_note(detail: OrderDetail) -> str:
    """What the Ship section says when there is no form: why this order does not ship (yet)."""
    status = detail.order.status
    if status == OrderStatus.REFUNDED:
        return "Refunded in full before it was shipped: there is nothing to ship."
    if status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        return "It can be shipped once it is paid."
    return f"It was not paid ({status.label}): there is nothing to ship."


def parse_amount(text: str | None) -> int | None:
    """'12', '12.5', '$12.50' -> minor units; anything else -> None."""
    match = AMOUNT.fullmatch(text or "")
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


class AdminOrderState(AdminState):
    order_id: str = ""
    loaded: bool = False
    found: bool = False
    number: str = ""
    status: str = ""
    status_label: str = ""
    facts: list[EntryRow] = []  # created, paid, email, phone, shipping, carrier...
    amounts: list[EntryRow] = []  # subtotal, discount, shipping, total, refunded
    address: list[str] = []
    lines: list[LineRow] = []
    stripe_ids: list[EntryRow] = []
    stripe_links: list[EntryRow] = []  # label, url (Stripe mode only)
    timeline: list[EntryRow] = []
    refunds: list[EntryRow] = []
    can_ship: bool = False
    ship_note: str = ""  # why there is no Ship form (refunded, unpaid...)
    shipped: bool = False
    carrier_id: str = ""  # the shipment: carrier (rxshop.domain.shipping.CARRIERS id), number, link, date
    carrier_name: str = ""
    tracking_number: str = ""
    tracking_link: str = ""
    shipped_on: str = ""
    tracking_open: bool = False
    promotion_code: str = ""
    refundable: str = ""
    refund_default: str = ""  # what remains, pre-filled in the amount field ("31.00")
    can_refund: bool = False
    refund_open: bool = False
    ship_message: str = ""
    refund_message: str = ""
    note_message: str = ""
    note_form: int = 0  # bumped after a note is added: the form is drawn again, empty
    _refund_key: str = ""

    def _show(self, detail: OrderDetail) -> None:
        o, money = detail.order, lambda amount: format_money(amount, detail.order.currency)
        self.found, self.number, self.status, self.status_label = (
            True,
            o.number,
            o.status.value,
            o.status.label,
        )
        self.facts = [
            EntryRow("", label, text)
            for label, text in (
                ("Created", _when(o.created_at)),
                ("Paid", _when(o.paid_at)),
                ("Email", o.customer_email or ""),
                ("Phone", o.phone or ""),
                ("Shipping rate", o.shipping_rate_name or ""),
                ("Fulfillment", o.fulfillment_label),
                ("Promotion code", detail.promotion_code),
            )
            if text
        ]
        self.amounts = [
            EntryRow("", "Subtotal", money(o.amount_subtotal)),
            EntryRow("", "Discount", money(-o.amount_discount) if o.amount_discount else money(0)),
            EntryRow("", "Shipping", money(o.amount_shipping)),
            EntryRow("", "Total", money(o.amount_total)),
            EntryRow("", "Refunded", money(o.amount_refunded)),
        ]
        self.address = list(o.shipping.lines) if o.shipping else []
        self.lines = [
            LineRow(x.name, x.quantity, money(x.unit_amount), money(x.unit_amount * x.quantity))
            for x in o.lines
        ]
        self.stripe_ids = [
            EntryRow("", label, value)
            for label, value in (("Checkout Session", o.stripe_session_id), ("Payment", o.payment_intent_id))
            if value
        ]
        self.stripe_links = [EntryRow("", label, url) for label, url in detail.stripe_links.items()]
        self.timeline = [EntryRow(_when(x.at), x.who, x.text) for x in detail.plain_timeline]
        self.refunds = [
            EntryRow(
                _when(r.requested_at), r.status, f"{money(r.amount)} {r.stripe_refund_id or r.error or ''}"
            )
            for r in detail.refunds
        ]
        self.shipped = o.fulfillment_status == "shipped"
        self.can_ship = detail.can_ship and not self.shipped
        self.ship_note = "" if self.shipped or self.can_ship else _ship_note(detail)
        self.carrier_id, self.carrier_name = carrier_id_of(o.carrier), o.carrier or ""
        self.tracking_number, self.shipped_on = o.tracking_number or "", _when(o.shipped_at)
        self.tracking_link = tracking_url(o.carrier, o.tracking_number)
        self.promotion_code = detail.promotion_code
        self.can_refund = detail.refundable > 0
        self.refundable = money(detail.refundable)
        self.refund_default = f"{detail.refundable // 100}.{detail.refundable % 100:02d}"

    async def _refresh(self, admin: str) -> None:
        if not self.order_id:
            return
        detail = await self._service(order_detail, admin, order_id=self.order_id)
        self.loaded = True
        if detail is None:
            self.found = False
            return
        self._show(detail)

    @rx.event
    async def load(self):
        """On page load: the order named by ?id= in the address."""
        order_id = self.router.url.query_parameters.get("id", "")
        self.ship_message = self.refund_message = self.note_message = ""
        self.refund_open = self.tracking_open = False
        admin = await self._admin_token()
        if not admin:
            return
        if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
            self.order_id, self.loaded, self.found = "", True, False
            return
        self.order_id = order_id
        await self._refresh(admin)

    @rx.event
    async def open_refund(self):
        """Open the refund form: one request key for every click until it is opened again."""
        if await self._admin_token():
            self._refund_key, self.refund_open, self.refund_message = new_request_key(), True, ""

    @rx.event
    def close_refund(self):
        self.refund_open = False

    @rx.event
    def open_tracking(self):
        self.tracking_open, self.ship_message = True, ""

    @rx.event
    def close_tracking(self):
        self.tracking_open = False

    async def _begin(self) -> tuple[str, str, str]:
        """Inside `async with self`: (admin token, order id, refund key) for a background action."""
        return admin_token(self.router), self.order_id, self._refund_key

    async def _still_admin(self, admin: str) -> bool:
        """Outside the state lock: the sign-in checked in the database; if it ended, the tab is emptied."""
        if admin and await in_session(is_signed_in, admin=admin):
            return True
        async with self:
            await self._signed_out()
        return False

    async def _finish(self, admin: str, message_var: str, message: str) -> None:
        """Inside `async with self`: show the outcome and the order as it is now."""
        setattr(self, message_var, message)
        if admin and self.signed_in:
            await self._refresh(admin)

    @rx.event(background=True)
    async def ship(self, form_data: dict):
        """Mark this (paid) order shipped with its carrier and tracking number."""
        carrier, tracking = form_text(form_data, "carrier", 100), form_text(form_data, "tracking_number", 100)
        async with self:
            admin, order_id, _key = await self._begin()
        if not await self._still_admin(admin):
            return
        if not carrier or not tracking:
            async with self:
                self.ship_message = "Choose the carrier and enter the tracking number (up to 100 characters)."
            return
        outcome = await self._attempt(
            ship_order(admin=admin, order_id=order_id, carrier=carrier, tracking_number=tracking),
            lambda shipped: (
                f"Order {shipped.number} marked shipped: {shipped.carrier} {shipped.tracking_number}."
            ),
            f"Shipping order {order_id}",
        )
        if outcome is None:
            return
        async with self:
            await self._finish(admin, "ship_message", outcome.message)

    @rx.event(background=True)
    async def refund(self, form_data: dict):
        """Refund part or all of this order through Stripe (the amount in dollars, e.g. 10 or 10.50)."""
        amount = parse_amount(form_text(form_data, "amount", 20))
        restock = _checked(form_data, "restock")
        reason = form_text(form_data, "reason", 40) or ""
        note = form_text(form_data, "refund_note", REFUND_NOTE_MAX)
        async with self:
            admin, order_id, key = await self._begin()
        if not await self._still_admin(admin):
            return
        async with self:
            if amount is None or amount <= 0:
                self.refund_message = "Enter an amount like 10 or 10.50."
                return
            if not key:
                self.refund_message = "Open the refund form again."
                return
            if note is None:
                self.refund_message = f"The note is at most {REFUND_NOTE_MAX} characters."
                return
        refund = refund_order(
            admin=admin,
            order_id=order_id,
            amount=amount,
            request_key=key,
            gateway=get_gateway(),
            restock=restock,
            reason=reason,
            note=note or "",
        )
        back = " Its items are back in stock." if restock else ""
        outcome = await self._attempt(
            refund,
            lambda done: (
                f"Refund of {format_money(done.amount)} made at Stripe ({done.stripe_refund_id}).{back}"
            ),
            f"Refunding order {order_id}",
        )
        if outcome is None:
            return
        async with self:
            if outcome.result is not None:
                self.refund_open = False  # a new refund opens the form again (a new key)
            await self._finish(admin, "refund_message", outcome.message)

    @rx.event(background=True)
    async def edit_tracking(self, form_data: dict):
        """Change this shipped order's carrier and tracking number; optionally have the buyer emailed."""
        carrier, tracking = form_text(form_data, "carrier", 100), form_text(form_data, "tracking_number", 100)
        tell = _checked(form_data, "tell_buyer")
        async with self:
            admin, order_id, _key = await self._begin()
        if not await self._still_admin(admin):
            return
        if not carrier or not tracking:
            async with self:
                self.ship_message = "Choose the carrier and enter the tracking number (up to 100 characters)."
            return
        emailed = " The buyer will be emailed." if tell else ""
        outcome = await self._attempt(
            change_tracking(
                admin=admin, order_id=order_id, carrier=carrier, tracking_number=tracking, tell_buyer=tell
            ),
            lambda order: f"Tracking changed to {order.carrier} {order.tracking_number}.{emailed}",
            f"Editing the tracking of order {order_id}",
        )
        if outcome is None:
            return
        async with self:
            if outcome.result is not None:
                self.tracking_open = False
            await self._finish(admin, "ship_message", outcome.message)

    @rx.event(background=True)
    async def add_note(self, form_data: dict):
        """An internal note on this order's timeline (the buyer never sees it)."""
        text = form_text(form_data, "note", NOTE_MAX)
        async with self:
            admin, order_id, _key = await self._begin()
        if not await self._still_admin(admin):
            return
        if not text:
            async with self:
                self.note_message = f"Write the note first (at most {NOTE_MAX} characters)."
            return
        outcome = await self._attempt(
            note_order(admin=admin, order_id=order_id, text=text),
            lambda _order: "Note added.",
            f"Adding a note to order {order_id}",
        )
        if outcome is None:
            return
        async with self:
            if outcome.result is not None:
                self.note_form += 1
            await self._finish(admin, "note_message", outcome.message)
