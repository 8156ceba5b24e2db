"""AdminDiscountsState: the owner's promotion codes (rxshop.admin.discounts): list, create, turn off.

Stripe is asked in background events (the list on load and after each change); a live refresh (an order
changed) re-reads only the shop's usage figures from the database, never Stripe. The codes as Stripe
listed them stay in a backend var; the browser gets display rows. A create form's key is made when the
page loads and after each code made, so a double click makes one code.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import reflex as rx

from rxshop.admin.actions import new_request_key
from rxshop.admin.discounts import (
    DiscountRow,
    Usage,
    create_discount,
    deactivate_discount,
    list_discounts,
    parse_discount,
    usage_by_code,
)
from rxshop.domain.catalog import format_money
from rxshop.payments.gateway import get_gateway
from rxshop.payments.wire import PromotionCode
from rxshop.state.admin import AdminState, form_text


@dataclasses.dataclass(frozen=True)
class CodeRow:
    id: str
    code: str
    terms: str  # "10% off", "$5.00 off"
    limit: str  # "100 uses" or "No limit"
    expires: str  # "2027-01-31" or "Never"
    status: str  # Active | Inactive
    active: bool
    used: int  # the shop's orders paid with it
    revenue: str  # what those orders paid, less refunds
    discounted: str  # what the code took off them


def _day(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else "Never"


def _row(code: PromotionCode, usage: Usage) -> CodeRow:
    row = DiscountRow(code, usage)
    return CodeRow(
        id=code.id,
        code=code.code,
        terms=row.terms,
        limit=f"{code.max_redemptions:,} uses" if code.max_redemptions else "No limit",
        expires=_day(code.expires_at),
        status="Active" if code.active else "Inactive",
        active=code.active,
        used=usage.orders,
        revenue=format_money(usage.revenue),
        discounted=format_money(usage.discounted),
    )


async def _create_code(admin: str, fields: dict[str, str], key: str) -> PromotionCode:
    """The form's terms checked (ActionRefused says what is wrong), then the code made at Stripe."""
    terms = parse_discount(**fields, today=datetime.now(UTC).date())
    return await create_discount(admin=admin, gateway=get_gateway(), terms=terms, form_key=key)


class AdminDiscountsState(AdminState):
    loaded: bool = False
    busy: bool = False
    rows: list[CodeRow] = []
    kind: str = "percent"  # the create form's choice: percent | amount
    message: str = ""
    list_error: str = ""
    form_key: int = 0  # bumped after a code is made: the form is drawn again, empty
    _codes: list[PromotionCode] = []
    _form_key: str = ""

    def _show(self, usage: dict[str, Usage]) -> None:
        self.rows = [_row(c, usage.get(c.id, Usage())) for c in self._codes]

    async def _refresh(self, admin: str) -> None:
        """Live refresh: the usage figures from the database (the codes as last listed)."""
        usage = await self._service(usage_by_code, admin)
        if usage is not None:
            self._show(usage)

    async def _reload(self, admin: str) -> None:
        """Outside the state lock: list the codes at Stripe, then show them."""
        outcome = await self._attempt(
            list_discounts(admin=admin, gateway=get_gateway()), lambda _found: "", "Listing promotion codes"
        )
        if outcome is None:
            return
        async with self:
            self.list_error, self.loaded, self.busy = outcome.message, True, False
            if (found := outcome.result) is not None:
                self._codes = [r.code for r in found]
                self.rows = [_row(r.code, r.usage) for r in found]

    @rx.event(background=True)
    async def load(self):
        """On page load: the codes at Stripe with the shop's usage."""
        async with self:
            admin = await self._admin_token()
            if not admin:
                return
            self._form_key, self.message, self.busy = new_request_key(), "", True
        await self._reload(admin)

    @rx.event
    def set_kind(self, kind: str):
        self.kind = kind if kind in ("percent", "amount") else "percent"

    @rx.event(background=True)
    async def create(self, form_data: dict):
        """Make a promotion code at Stripe from the form."""
        fields = {
            name: form_text(form_data, name, 40) or ""
            for name in ("code", "kind", "value", "max_redemptions", "expires_on")
        }
        async with self:
            admin = await self._admin_token()
            key = self._form_key
        if not admin:
            return
        outcome = await self._attempt(
            _create_code(admin, fields, key),
            lambda made: f"Code {made.code} made: {DiscountRow(made, Usage()).terms}.",
            "Making a promotion code",
        )
        if outcome is None:
            return
        async with self:
            self.message = outcome.message
            if outcome.result is not None:
                self._form_key, self.form_key = new_request_key(), self.form_key + 1
        if outcome.result is not None:
            await self._reload(admin)

    @rx.event(background=True)
    async def deactivate(self, promotion_code_id: str):
        """Turn one code off at Stripe."""
        async with self:
            admin = await self._admin_token()
        if not admin:
            return
        outcome = await self._attempt(
            deactivate_discount(admin=admin, gateway=get_gateway(), promotion_code_id=promotion_code_id),
            lambda done: f"Code {done.code} turned off: buyers can no longer use it.",
            f"Turning off promotion code {promotion_code_id!r}",
        )
        if outcome is None:
            return
        async with self:
            self.message = outcome.message
        if outcome.result is not None:
            await self._reload(admin)
