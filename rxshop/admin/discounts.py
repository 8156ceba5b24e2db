"""The owner's promotion codes: made, listed and turned off through Stripe's API (coupons + promotion codes),
so the same page works on Stripe and on the simulator; how often each was used and what it brought in,
from the shop's own paid orders.

Stripe holds the codes; the shop remembers each code's text by its id (`discount_codes`), because a
Checkout Session reports only the id of the code used, and the order page shows the code. Usage counts
the orders paid with the code (refunded ones too: the code was used), revenue is what they paid less
what was refunded. Form checks are pure (`parse_discount`), with messages for the owner.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from rxshop.admin.actions import ActionRefused
from rxshop.admin.auth import require_admin
from rxshop.core.db import in_session
from rxshop.core.models import DiscountCode, Order, utcnow
from rxshop.domain.catalog import CURRENCY, format_money
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.records import transaction
from rxshop.payments.gateway import CheckoutGateway, PaymentError, PaymentRejected, SessionNotFound
from rxshop.payments.wire import PromotionCode

CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")
PROMOTION_CODE_ID = re.compile(r"promo_[A-Za-z0-9]{1,200}")
MONEY = re.compile(r"\$?\s*(\d{1,6})(?:\.(\d{1,2}))?")
PERCENT = re.compile(r"(\d{1,3})(?:\.(\d{1,2}))?\s*%?")
USED_STATUSES = (S.PAID, S.PARTIALLY_REFUNDED, S.REFUNDED)


@dataclass(frozen=True)
class DiscountTerms:
    """A checked "new code" form."""

    code: str
    percent_off: float | None
    amount_off: int | None  # minor units of CURRENCY
    max_redemptions: int | None
    expires_at: int | None  # unix seconds: the end of the chosen UTC day


@dataclass(frozen=True)
class Usage:
    orders: int = 0
    revenue: int = 0  # paid less refunded, minor units
    discounted: int = 0  # what the code took off those orders


@dataclass(frozen=True)
class DiscountRow:
    code: PromotionCode
    usage: Usage

    @property
    def terms(self) -> str:
        c = self.code
        if c.percent_off is not None:
            return f"{c.percent_off:g}% off"
        return f"{format_money(c.amount_off or 0, c.currency or CURRENCY)} off"


def _int(text: str, what: str, *, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ActionRefused(f"{what} must be a whole number from {low} to {high:,}.")
    return int(text)


def parse_discount(
    *, code: str, kind: str, value: str, max_redemptions: str = "", expires_on: str = "", today: date
) -> DiscountTerms:
    """The form's fields, checked: a code of 3-40 letters, digits, - or _ (upper-cased, as buyers type it
    any case), percent (up to 100, two decimals) or amount off, an optional limit and last day (UTC)."""
    text = code.strip().upper()
    if not CODE.fullmatch(text):
        raise ActionRefused("A code is 3 to 40 letters or digits (and - or _), e.g. SPRING10.")
    value = value.strip()
    percent = amount = None
    if kind == "percent":
        match = PERCENT.fullmatch(value)
        percent = float(value.rstrip("% ")) if match else 0.0
        if not 0 < percent <= 100:
            raise ActionRefused("Enter a percentage above 0 and at most 100, e.g. 10 or 12.5.")
    elif kind == "amount":
        match = MONEY.fullmatch(value)
        amount = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0")) if match else 0
        if amount <= 0:
            raise ActionRefused("Enter an amount above zero, e.g. 5 or 7.50.")
    else:
        raise ActionRefused("Choose percent off or amount off.")
    limit = (
        _int(max_redemptions.strip(), "The limit", low=1, high=1_000_000) if max_redemptions.strip() else None
    )
    expires_at = None
    if expires_on.strip():
        try:
            last_day = date.fromisoformat(expires_on.strip())
        except ValueError:
            raise ActionRefused("Enter the last day as a date, e.g. 2027-01-31.") from None
        if last_day < today:
            raise ActionRefused("The last day is in the past.")
        expires_at = int(datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=UTC).timestamp()) - 1
    return DiscountTerms(text, percent, amount, limit, expires_at)


# --- the database side ---------------------------------------------------------------------------------------


def _remember(session: Session, codes: Sequence[PromotionCode]) -> None:
    """Keep each code's text by id (insert new ones; a code's text never changes on Stripe)."""
    if not codes:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    rows = [{"id": c.id, "code": c.code, "coupon_id": c.coupon_id, "seen_at": utcnow()} for c in codes]
    session.exec(insert(DiscountCode).values(rows).on_conflict_do_nothing(index_elements=["id"]))


def usage_by_code(*, session: Session, admin: str, codes: Sequence[PromotionCode] = ()) -> dict[str, Usage]:
    """Orders paid with each promotion code (by id), their revenue net of refunds and the discount given;
    remembers `codes`' texts on the way (one transaction)."""
    with transaction(session):
        require_admin(session, admin)
        _remember(session, codes)
        rows = session.exec(
            select(
                Order.promotion_code_id,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(col(Order.amount_total) - col(Order.amount_refunded)), 0),
                sa.func.coalesce(sa.func.sum(Order.amount_discount), 0),
            )
            .where(col(Order.promotion_code_id).is_not(None), col(Order.status).in_(USED_STATUSES))
            .group_by(col(Order.promotion_code_id))
        ).all()
    return {str(promo): Usage(int(n), int(revenue), int(off)) for promo, n, revenue, off in rows}


# --- what the page calls -------------------------------------------------------------------------------------


async def _signed_in(admin: str) -> None:
    await in_session(usage_by_code, admin=admin)  # raises NotSignedIn before anything is asked of Stripe


async def list_discounts(*, admin: str, gateway: CheckoutGateway) -> list[DiscountRow]:
    """Every promotion code on the account, newest first, with the shop's usage of each."""
    await _signed_in(admin)
    try:
        codes = await gateway.list_promotion_codes()
    except PaymentError as err:
        raise ActionRefused(f"Stripe did not list the codes: {err}") from err
    usage = await in_session(usage_by_code, admin=admin, codes=codes)
    return [DiscountRow(c, usage.get(c.id, Usage())) for c in codes]


async def create_discount(
    *, admin: str, gateway: CheckoutGateway, terms: DiscountTerms, form_key: str
) -> PromotionCode:
    """Make the coupon and its code at Stripe; `form_key` (one per opened form) makes a double click one."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", form_key or ""):
        raise ActionRefused("This form has expired; reload the page.")
    await _signed_in(admin)
    try:
        made = await gateway.create_promotion_code(
            code=terms.code,
            currency=CURRENCY,
            idempotency_key=f"rxshop-discount-{form_key}",
            percent_off=terms.percent_off,
            amount_off=terms.amount_off,
            max_redemptions=terms.max_redemptions,
            expires_at=terms.expires_at,
        )
    except PaymentRejected as err:
        raise ActionRefused(f"Stripe refused the code: {err}") from err
    except PaymentError as err:
        raise ActionRefused(f"{err} Nothing was made; try again.") from err
    await in_session(usage_by_code, admin=admin, codes=[made])
    return made


async def deactivate_discount(
    *, admin: str, gateway: CheckoutGateway, promotion_code_id: str
) -> PromotionCode:
    """Turn a code off at Stripe: buyers can no longer apply it; orders that used it keep their discount."""
    if not isinstance(promotion_code_id, str) or not PROMOTION_CODE_ID.fullmatch(promotion_code_id):
        raise ActionRefused("There is no such code.")
    await _signed_in(admin)
    try:
        return await gateway.deactivate_promotion_code(promotion_code_id)
    except SessionNotFound:
        raise ActionRefused("There is no such code.") from None
    except PaymentError as err:
        raise ActionRefused(f"Stripe did not turn the code off: {err}") from err
