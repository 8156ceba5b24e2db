"""The owner's CSV export: every order matching the list's filters, one row each, safe to open in a spreadsheet.

Amounts are integer minor units written as major units with two decimals; every cell a buyer could have
typed is kept from running as a formula.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from sqlmodel import Session, select

from rxshop.admin.auth import require_admin
from rxshop.admin.queries import NO_FILTERS, OrderFilters, SortKey, filter_clauses, sort_clauses
from rxshop.core.models import Order
from rxshop.orders.records import lines_of, transaction
from rxshop.orders.views import OrderView, items_text
from rxshop.orders.views import view as _view

CSV_COLUMNS = (
    "number", "order_id", "created_at", "paid_at", "status", "fulfillment_status", "email", "phone",
    "items", "item_count", "currency", "subtotal", "discount", "shipping", "total", "refunded",
    "shipping_rate", "ship_name", "ship_line1", "ship_line2", "ship_city", "ship_state",
    "ship_postal_code", "ship_country", "carrier", "tracking_number", "shipped_at",
    "stripe_session_id", "payment_intent_id",
)  # fmt: skip


def _money(amount: int) -> str:
    """Major units with two decimals ('60.00'): what a spreadsheet reads as a number; integer arithmetic."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{whole}.{cents:02d}"


# What makes a spreadsheet read a cell as a formula: = + - @ first (after any spaces or quotes), or a tab or
# carriage return first. A semicolon-locale spreadsheet may split a line on `;` whatever the quoting, so what
# follows each `;` inside a cell is a cell start too.
_FORMULA = r"(?:[\t\r]|[\s\"]*[=+\-@])"
_FORMULA_START = re.compile(_FORMULA)
_FORMULA_AFTER_SEMICOLON = re.compile(";(?=" + _FORMULA + ")")


def _cell(value: object) -> str:
    """Text a spreadsheet will not run as a formula (buyers choose their names, emails and addresses): an
    apostrophe before every start that could be one, at the cell's start and after each `;`."""
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    text = _FORMULA_AFTER_SEMICOLON.sub(";'", text)
    return "'" + text if _FORMULA_START.match(text) else text


def _csv_row(v: OrderView) -> list[str]:
    address = v.shipping
    values: list[object] = [
        v.number, v.id, v.created_at, v.paid_at, v.status.value, v.fulfillment_status,
        v.customer_email, v.phone, items_text(v.lines, plain=True),
        sum(x.quantity for x in v.lines), v.currency.upper(), _money(v.amount_subtotal),
        _money(v.amount_discount), _money(v.amount_shipping), _money(v.amount_total),
        _money(v.amount_refunded), v.shipping_rate_name,
        address and address.name, address and address.line1, address and address.line2,
        address and address.city, address and address.state, address and address.postal_code,
        address and address.country, v.carrier, v.tracking_number, v.shipped_at,
        v.stripe_session_id, v.payment_intent_id,
    ]  # fmt: skip
    return [_cell(x) for x in values]


def orders_csv(
    *,
    session: Session,
    admin: str,
    filters: OrderFilters = NO_FILTERS,
    sort: SortKey = SortKey.DATE,
    descending: bool = True,
    now: datetime | None = None,
) -> str:
    """Every order matching `filters` (not only one page), one row each; columns in CSV_COLUMNS."""
    out = io.StringIO()
    # Every cell quoted: a `;` or `,` inside one never splits it in a spreadsheet that honours quotes.
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_COLUMNS)
    with transaction(session):
        require_admin(session, admin, now)
        orders = session.exec(
            select(Order).where(*filter_clauses(filters)).order_by(*sort_clauses(sort, descending))
        ).all()
        for start in range(0, len(orders), 500):
            chunk = orders[start : start + 500]
            lines = lines_of(session, [o.id for o in chunk])
            writer.writerows(_csv_row(_view(o, lines[o.id])) for o in chunk)
    return out.getvalue()
