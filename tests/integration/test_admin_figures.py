"""The owner's figures agree with each other: revenue net of refunds beside the period before, the average
order value, the order list's tabs and their counts (the overview's to-ship count among them), the message
for an impossible date range, and the inbox in plain words (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from rxshop.admin.actions import mark_shipped
from rxshop.admin.auth import SignInStatus, redeem_grant, sign_in
from rxshop.admin.queries import OrderFilters, OrderTab, list_orders, tab_counts
from rxshop.admin.reports import compare_revenue, exceptions, previous_period, summary
from rxshop.core.models import Order, utcnow
from rxshop.core.settings import get_settings
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.history import InboxKind
from rxshop.orders.stripe_events import apply_stripe_event
from rxshop.payments.wire import event_from_json
from tests.fixtures.db import bought_order, checkout_for, sample_cart, session_json
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor

NOW = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
TODAY = NOW.date()


@pytest.fixture
def admin(session, app_env) -> str:
    """The owner's admin token, signed in as the dashboard does (password, then the grant), valid both at
    NOW (the figures are asked for at noon) and at the clock's time (the actions that take no `now`): signed
    in at the later of the two, each is inside the 2-hour idle window whatever the time of day (signed in at
    noon, the tests failed from 14:00 UTC)."""
    app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)
    visitor, at = new_visitor(), max(NOW, utcnow())
    done = sign_in(
        session=session, visitor_id=visitor, client_ip="127.0.0.1", password=ADMIN_PASSWORD, now=at
    )
    assert done.status == SignInStatus.SIGNED_IN, done
    token = redeem_grant(session=session, grant=done.grant, visitor_id=visitor, now=at)
    assert token
    return token


def _event(session, event_type: str, obj: dict, event_id: str):
    """Apply a Stripe event as the webhook does: its JSON read by the one parser."""
    body = {"id": event_id, "object": "event", "type": event_type, "created": 1_700_000_000,
            "livemode": False, "data": {"object": obj}}  # fmt: skip
    return apply_stripe_event(session=session, event=event_from_json(json.dumps(body).encode()))


def _paid(session, quantities: dict[str, int], paid_at: datetime):
    order = bought_order(session, new_visitor(), sample_cart(quantities))
    result = fulfill_checkout(session=session, checkout=checkout_for(order))
    assert result.outcome == "fulfilled", result
    session.exec(sa.update(Order).where(Order.id == order.id).values(paid_at=paid_at))
    session.commit()
    return result.order


def _refund(session, order, amount_refunded: int) -> None:
    """Stripe's charge.refunded for the order's payment (cumulative amount, as Stripe reports it)."""
    charge = {"id": "ch_" + order.id[4:], "object": "charge", "amount": order.amount_total,
              "currency": order.currency, "amount_refunded": amount_refunded,
              "refunded": amount_refunded >= order.amount_total,
              "payment_intent": order.payment_intent_id, "metadata": {"order_id": order.id}}  # fmt: skip
    result = _event(session, "charge.refunded", charge, f"evt_refund_{order.id[4:]}_{amount_refunded}")
    assert result.outcome in ("refunded", "partially_refunded"), result


def test_revenue_is_net_of_refunds_beside_the_period_before(session, admin) -> None:
    refunded = _paid(session, {"mug": 1}, NOW)  # paid today, then refunded in full
    kept = _paid(session, {"tote": 1}, NOW)
    partly = _paid(session, {"notebook": 2}, NOW - timedelta(days=3))
    before = _paid(session, {"mug": 2}, NOW - timedelta(days=10))  # in the previous 7 days
    _refund(session, refunded, refunded.amount_total)
    _refund(session, partly, 1000)

    today = summary(session=session, admin=admin, now=NOW)
    assert (today.orders_today, today.revenue_today) == (2, kept.amount_total)  # the refund takes it all back

    start = TODAY - timedelta(days=6)
    assert previous_period(start, TODAY) == (TODAY - timedelta(days=13), TODAY - timedelta(days=7))
    both = compare_revenue(session=session, admin=admin, start=start, end=TODAY, now=NOW)
    net = kept.amount_total + partly.amount_total - 1000
    assert (both.current.orders, both.current.net, both.current.refunds) == (
        3,
        net,
        refunded.amount_total + 1000,
    )
    assert both.current.average_order_value == (2 * net + 3) // 6  # rounded half up, in cents
    assert both.current.days[-1].net == kept.amount_total
    assert (both.previous.orders, both.previous.net) == (1, before.amount_total)
    assert both.previous.average_order_value == before.amount_total
    assert len(both.previous.days) == len(both.current.days) == 7


def test_tabs_list_what_they_count_and_the_overview_agrees(session, admin) -> None:
    open_checkout = bought_order(session, new_visitor())
    unshipped = _paid(session, {"mug": 1}, NOW)
    shipped = _paid(session, {"tote": 1}, NOW)
    partly = _paid(session, {"notebook": 1}, NOW)
    fully = _paid(session, {"mug": 2}, NOW)
    mark_shipped(session=session, admin=admin, order_id=shipped.id, carrier="UPS",
                 tracking_number="1Z999AA10123456784")  # fmt: skip
    _refund(session, partly, 500)
    _refund(session, fully, fully.amount_total)

    counts = tab_counts(session=session, admin=admin)
    assert counts == {
        OrderTab.ALL: 4,
        OrderTab.AWAITING: 1,
        OrderTab.TO_SHIP: 2,  # the partly refunded one still ships
        OrderTab.SHIPPED: 1,
        OrderTab.REFUNDED: 2,
    }
    expected = {
        OrderTab.ALL: {unshipped.id, shipped.id, partly.id, fully.id},
        OrderTab.AWAITING: {open_checkout.id},
        OrderTab.TO_SHIP: {unshipped.id, partly.id},
        OrderTab.SHIPPED: {shipped.id},
        OrderTab.REFUNDED: {partly.id, fully.id},
    }
    for tab, ids in expected.items():
        page = list_orders(session=session, admin=admin, filters=OrderFilters(tab=tab))
        assert ({r.id for r in page.rows}, page.total_count) == (ids, counts[tab]), tab
    assert summary(session=session, admin=admin, now=NOW).to_ship == counts[OrderTab.TO_SHIP]

    row = next(r for r in list_orders(session=session, admin=admin).rows if r.id == shipped.id)
    assert row.shipping_method == "Standard" and row.email == "buyer@example.com"
    only_mugs = tab_counts(session=session, admin=admin, filters=OrderFilters(search=unshipped.number))
    assert only_mugs == {**dict.fromkeys(OrderTab, 0), OrderTab.ALL: 1, OrderTab.TO_SHIP: 1}


def test_an_impossible_date_range_says_so_instead_of_no_orders(session, admin) -> None:
    _paid(session, {"mug": 1}, NOW)
    backwards = OrderFilters(date_from=date(2025, 3, 2), date_to=date(2025, 3, 1))
    page = list_orders(session=session, admin=admin, filters=backwards)
    assert page.rows == () and page.total_count == 0
    assert "2025-03-02" in page.problem and "2025-03-01" in page.problem and "after" in page.problem
    assert set(tab_counts(session=session, admin=admin, filters=backwards).values()) == {0}
    same_day = OrderFilters(date_from=TODAY, date_to=TODAY)
    assert list_orders(session=session, admin=admin, filters=same_day).problem == ""


def test_the_inbox_says_what_happened_in_plain_words_with_who_and_where(session, admin) -> None:
    stranger = checkout_for(bought_order(session, new_visitor()), id="cs_test_" + "a" * 24,
                            client_reference_id=None, metadata={}, customer_email="ann@example.com")  # fmt: skip
    stranger = dataclasses.replace(stranger, amount_total=2300)
    assert _event(session, "checkout.session.completed", session_json(stranger), "evt_stranger").outcome == (
        "unknown_session"
    )
    late = _paid(session, {"tote": 1}, NOW - timedelta(days=get_settings().ship_within_days + 1))

    items = {e.kind: e for e in exceptions(session=session, admin=admin, now=NOW)}
    unknown, overdue = items[InboxKind.UNKNOWN_SESSION], items[InboxKind.SHIP_OVERDUE]
    assert unknown.title == "Money received without an order"
    assert unknown.summary.startswith("ann@example.com paid $23.00 through Stripe Checkout")
    for internal in ("None", "unknown_session", "session for order"):
        assert internal not in unknown.summary and internal not in unknown.title
    assert "ann@example.com" in unknown.detail and stranger.id in unknown.detail  # kept for Stripe support
    assert unknown.stripe_url is None  # the simulator has no Dashboard
    assert overdue.email == "buyer@example.com" and overdue.order_number == late.number
    assert overdue.summary.startswith(
        f"buyer@example.com paid ${late.amount_total / 100:.2f} for order {late.number}"
    )

    stripe = dataclasses.replace(get_settings(), payments_mode="stripe")
    linked = {e.kind: e for e in exceptions(session=session, admin=admin, now=NOW, settings=stripe)}
    assert linked[InboxKind.UNKNOWN_SESSION].stripe_url == (
        f"https://dashboard.stripe.com/test/checkout/sessions/{stranger.id}"
    )
    assert linked[InboxKind.SHIP_OVERDUE].stripe_url is None  # its link is the order's own page
