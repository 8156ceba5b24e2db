"""The owner's CSV export: every order matching the list's filters, one row each, safe to open in a spreadsheet.

Amounts are integer minor units written as major units with two decimals; every cell a buyer could have
typed is kept from running as a formula. `csv_pieces` streams it (GET /admin/orders.csv, rxshop.web.
admin_export): one read transaction, orders fetched EXPORT_CHUNK at a time (`yield_per`: a server-side
cursor on PostgreSQL, SQLite's own cursor), so memory holds one chunk whatever the number of orders.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlmodel import Session, col

from rxshop.admin.auth import require_admin
from rxshop.admin.queries import NO_FILTERS, OrderFilters, OrderTab, SortKey, filter_clauses, sort_clauses
from rxshop.core.models import Order, OrderLine
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.views import FulfillmentStatus

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
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    # The `in` tests first: most cells have no `;` and start with a letter or digit (~2 million cells per
    # export of 100,000 orders).
    if ";" in text:
        text = _FORMULA_AFTER_SEMICOLON.sub(";'", text)
    if text[:1].isalnum():
        return text
    return "'" + text if _FORMULA_START.match(text) else text


def _stamp(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


# The orders' columns the CSV reads, in this order (`_csv_row` unpacks them by position: a row's attributes
# by name cost more than the rest of the row at 100,000 orders).
_COLUMNS = tuple(
    getattr(Order, name)
    for name in (
        "number", "id", "created_at", "paid_at", "status", "fulfillment_status", "customer_email", "phone",
        "currency", "amount_subtotal", "amount_discount", "amount_shipping", "amount_total", "amount_refunded",
        "shipping_rate_name", "ship_name", "ship_line1", "ship_line2", "ship_city", "ship_state",
        "ship_postal_code", "ship_country", "carrier", "tracking_number", "shipped_at", "stripe_session_id",
        "payment_intent_id",
    )
)  # fmt: skip


def _csv_row(row: Sequence[Any]) -> list[str]:
    """One order's cells. Text anyone could have typed goes through `_cell` (inlined for the common case: a
    letter or digit first and no `;`); numbers, dates and amounts (never negative) cannot start a formula.
    This runs for every order of the export."""
    (number, order_id, created_at, paid_at, status, fulfillment, email, phone, currency, subtotal, discount,
     shipping, total, refunded, rate, *address, carrier, tracking, shipped_at, session_id, intent, items,
     count) = row  # fmt: skip
    if not (address[0] or address[1]):  # no address: every part empty (as the order page shows none)
        address = [None] * 7
    typed = [email, phone, items, rate, *address, carrier, tracking, session_id, intent]
    safe = [t if t and t[:1].isalnum() and ";" not in t else _cell(t) for t in typed]
    return [
        _cell(number or ""), order_id, _stamp(created_at), _stamp(paid_at), status, fulfillment,
        *safe[:3], str(count), currency.upper(), _amount(subtotal), _amount(discount), _amount(shipping),
        _amount(total), _amount(refunded), *safe[3:13], _stamp(shipped_at), *safe[13:],
    ]  # fmt: skip


def _items_columns() -> tuple[Any, Any]:
    """Each order's items as `items_text(lines, plain=True)` writes them ('2 x Morning Mug; 1 x Canvas Tote',
    in line order) and its item count, made by the database beside the order's row (correlated subqueries
    on the lines' order_id index): reading ~170,000 lines into Python took a third of the export."""
    text = (sa.cast(col(OrderLine.quantity), sa.String) + " x " + col(OrderLine.name)).label("text")
    ordered = (
        sa.select(text)
        .where(col(OrderLine.order_id) == col(Order.id))
        .order_by(col(OrderLine.id))  # the aggregate keeps its input's order (SQLite, PostgreSQL)
        .correlate(Order)
        .subquery()
    )
    items = sa.select(sa.func.aggregate_strings(ordered.c.text, "; ")).scalar_subquery()
    count = (
        sa.select(sa.func.coalesce(sa.func.sum(col(OrderLine.quantity)), 0))
        .where(col(OrderLine.order_id) == col(Order.id))
        .scalar_subquery()
    )
    return items, count


def _amount(amount: int) -> str:
    return _money(amount) if amount >= 0 else _cell(_money(amount))


MAX_QUERY_VALUE = 200  # the search box's own limit
EXPORT_CHUNK = 1000  # orders per fetch and per piece of the stream (~300 KiB of CSV)


def _text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    # Every cell quoted: a `;` or `,` inside one never splits it in a spreadsheet that honours quotes.
    csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue()


def csv_pieces(
    *,
    session: Session,
    admin: str,
    filters: OrderFilters = NO_FILTERS,
    sort: SortKey = SortKey.DATE,
    descending: bool = True,
    now: datetime | None = None,
) -> Generator[str]:
    """The CSV of every order matching `filters` (not only one page), in pieces: the header first (once the
    sign-in is checked: NotSignedIn comes from the first `next`), then EXPORT_CHUNK orders per piece.

    One transaction from first to last piece, the orders read through one cursor (a snapshot: PostgreSQL's
    transaction; on SQLite in WAL mode the open statement's); the caller closes the session (also when it
    stops early). Columns in CSV_COLUMNS.
    """
    require_admin(session, admin, now)
    yield _text([list(CSV_COLUMNS)])
    # Columns, not Order objects (a third of the time at 100,000 orders).
    statement = (
        sa.select(*_COLUMNS, *_items_columns())
        .where(*filter_clauses(filters))
        .order_by(*sort_clauses(sort, descending))
        .execution_options(yield_per=EXPORT_CHUNK)
    )
    for chunk in session.connection().execute(statement).partitions():
        yield _text([_csv_row(row) for row in chunk])
    session.rollback()  # read only: end the transaction (the caller's session stays usable)


def orders_csv(
    *,
    session: Session,
    admin: str,
    filters: OrderFilters = NO_FILTERS,
    sort: SortKey = SortKey.DATE,
    descending: bool = True,
    now: datetime | None = None,
) -> str:
    """The whole CSV as one text (tests, small exports): `csv_pieces` joined."""
    pieces = csv_pieces(
        session=session, admin=admin, filters=filters, sort=sort, descending=descending, now=now
    )
    return "".join(pieces)


# The export's address carries the list's filters as query parameters (the page builds it, the route reads it).
QUERY_NAMES = ("tab", "status", "fulfillment", "from", "to", "q", "sort", "order")
FULFILLMENTS = frozenset({FulfillmentStatus.UNFULFILLED, FulfillmentStatus.SHIPPED})


@dataclass(frozen=True)
class ExportRequest:
    filters: OrderFilters = NO_FILTERS
    sort: SortKey = SortKey.DATE
    descending: bool = True


def export_query(request: ExportRequest) -> str:
    """The query string for these filters and sort ('' for the whole list newest first)."""
    f = request.filters
    values = {
        "tab": "" if f.tab == OrderTab.ALL else f.tab.value,
        "status": f.statuses[0].value if f.statuses else "",
        "fulfillment": f.fulfillment or "",
        "from": f.date_from.isoformat() if f.date_from else "",
        "to": f.date_to.isoformat() if f.date_to else "",
        "q": f.search,
        "sort": "" if request.sort == SortKey.DATE else request.sort.value,
        "order": "" if request.descending else "asc",
    }
    return urlencode({k: v for k, v in values.items() if v})


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def parse_export_query(params: Mapping[str, str]) -> ExportRequest | None:
    """What `export_query` wrote, checked (anyone can type an address): None for anything else."""
    get = {name: params.get(name, "") for name in QUERY_NAMES}
    if set(params) - set(QUERY_NAMES) or any(len(v) > MAX_QUERY_VALUE for v in get.values()):
        return None
    try:
        filters = OrderFilters(
            tab=OrderTab(get["tab"] or OrderTab.ALL),
            statuses=(OrderStatus(get["status"]),) if get["status"] else (),
            fulfillment=get["fulfillment"] or None,
            date_from=_day(get["from"]),
            date_to=_day(get["to"]),
            search=get["q"],
        )
        sort = SortKey(get["sort"] or SortKey.DATE)
    except ValueError:
        return None
    if filters.fulfillment not in (None, *FULFILLMENTS) or get["order"] not in ("", "asc"):
        return None
    return ExportRequest(filters, sort, get["order"] != "asc")
