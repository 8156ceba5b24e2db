"""apply_stripe_event: each event applied once, in any order, and not at all when the database fails."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import func, select

from rxshop.core.db import new_session
from rxshop.core.models import Order, StripeEvent
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.stripe_events import apply_stripe_event
from rxshop.payments.wire import event_from_json
from tests.fixtures.db import bought_order, checkout_for, session_json, stored_order

VISITOR = "visitor-a"
_counter = iter(range(1, 1_000_000))


@pytest.fixture
def order(session):
    return bought_order(session, VISITOR)


def event(session, event_type, obj, event_id=None):
    """Apply an event as the endpoint does: its JSON body read by payments.event_from_json."""
    body = {
        "id": event_id or f"evt_{next(_counter):06d}",
        "object": "event",
        "type": event_type,
        "created": 1_700_000_000,
        "livemode": False,
        "data": {"object": obj},
    }
    return apply_stripe_event(session=session, event=event_from_json(json.dumps(body).encode()))


def completed(order, **changes):
    return session_json(checkout_for(order, payment_intent="pi_" + order.id[4:], **changes))


def charge(order, amount_refunded, *, payment_intent=None, metadata=None):
    return {
        "id": "ch_" + order.id[4:],
        "object": "charge",
        "amount": order.amount_total,
        "currency": order.currency,
        "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= order.amount_total,
        "payment_intent": payment_intent or "pi_" + order.id[4:],
        "metadata": metadata or {},
    }


def stored(session, order):
    return stored_order(session, order.id, VISITOR)


def event_rows(session):
    return {
        row.id: row for row in session.exec(select(StripeEvent).execution_options(populate_existing=True))
    }


def test_completed_event_fulfills_and_tells_whose_tabs_to_update(session, order):
    result = event(session, "checkout.session.completed", completed(order), event_id="evt_done")
    assert result.outcome == Outcome.FULFILLED
    assert (result.order_id, result.visitor_id) == (order.id, VISITOR)
    assert result.order.status == S.PAID and stored(session, order).status == S.PAID
    row = event_rows(session)["evt_done"]
    assert (row.type, row.session_id, row.order_id, row.outcome) == (
        "checkout.session.completed",
        order.stripe_session_id,
        order.id,
        Outcome.FULFILLED,
    )
    assert row.stripe_created == 1_700_000_000 and row.received_at.utcoffset() == timedelta(0)


def test_a_redelivered_event_is_a_no_op(session, order):
    assert (
        event(session, "checkout.session.completed", completed(order), event_id="evt_1").outcome
        == Outcome.FULFILLED
    )
    again = event(session, "checkout.session.completed", completed(order), event_id="evt_1")
    assert again.outcome == Outcome.DUPLICATE and again.order_id is None
    assert event_rows(session)["evt_1"].outcome == Outcome.FULFILLED  # the first record stands


def test_a_second_completion_event_changes_nothing(session, order):
    first = event(session, "checkout.session.completed", completed(order))
    second = event(session, "checkout.session.completed", completed(order))
    assert (first.outcome, second.outcome) == (Outcome.FULFILLED, Outcome.ALREADY_PAID)
    assert stored(session, order).paid_at == first.order.paid_at


def test_return_page_then_webhook(session, order):
    assert (
        fulfill_checkout(session=session, checkout=checkout_for(order), visitor_id=VISITOR).outcome
        == Outcome.FULFILLED
    )
    assert event(session, "checkout.session.completed", completed(order)).outcome == Outcome.ALREADY_PAID


def test_expired_after_paid_changes_nothing(session, order):
    event(session, "checkout.session.completed", completed(order))
    late = event(
        session, "checkout.session.expired", completed(order, status="expired", payment_status="unpaid")
    )
    assert late.outcome == Outcome.ALREADY_PAID and stored(session, order).status == S.PAID


def test_expired_event(session, order):
    result = event(
        session, "checkout.session.expired", completed(order, status="expired", payment_status="unpaid")
    )
    assert result.outcome == S.EXPIRED and stored(session, order).status == S.EXPIRED
    # the session cannot be paid any more; a duplicate "completed" for it would be a bug, but is harmless
    assert result.visitor_id == VISITOR


def test_delayed_payment_succeeds(session, order):
    unpaid = completed(order, payment_status="unpaid")
    assert event(session, "checkout.session.completed", unpaid).outcome == S.PROCESSING
    assert stored(session, order).status == S.PROCESSING
    succeeded = event(session, "checkout.session.async_payment_succeeded", completed(order))
    assert succeeded.outcome == Outcome.FULFILLED and stored(session, order).status == S.PAID


def test_delayed_payment_fails(session, order):
    unpaid = completed(order, payment_status="unpaid")
    assert event(session, "checkout.session.completed", unpaid).outcome == S.PROCESSING
    failed = event(session, "checkout.session.async_payment_failed", unpaid)
    assert failed.outcome == S.FAILED and stored(session, order).status == S.FAILED
    # a late, repeated "completed" does not bring it back
    assert event(session, "checkout.session.completed", unpaid).outcome == S.FAILED


def test_failure_delivered_before_completion(session, order):
    unpaid = completed(order, payment_status="unpaid")
    assert event(session, "checkout.session.async_payment_failed", unpaid).outcome == S.FAILED
    assert event(session, "checkout.session.completed", unpaid).outcome == S.FAILED
    assert stored(session, order).status == S.FAILED


def test_a_failure_after_payment_changes_nothing(session, order):
    event(session, "checkout.session.completed", completed(order))
    late = event(session, "checkout.session.async_payment_failed", completed(order, payment_status="unpaid"))
    assert late.outcome == Outcome.ALREADY_PAID and stored(session, order).status == S.PAID


def test_unknown_session_is_recorded_but_creates_nothing(session):
    ghost = {
        "id": "cs_test_ghost",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 6000,
        "currency": "usd",
        "client_reference_id": "ord_" + "f" * 24,
        "metadata": {"order_id": "ord_" + "f" * 24},
    }
    result = event(session, "checkout.session.completed", ghost, event_id="evt_ghost")
    assert (result.outcome, result.order_id, result.visitor_id) == (Outcome.UNKNOWN_SESSION, None, None)
    assert event_rows(session)["evt_ghost"].outcome == Outcome.UNKNOWN_SESSION
    assert session.exec(select(func.count()).select_from(Order)).one() == 0


def test_amount_mismatch_in_an_event_is_recorded_not_applied(session, order):
    result = event(
        session, "checkout.session.completed", completed(order, amount_total=1), event_id="evt_bad"
    )
    assert result.outcome == Outcome.MISMATCH and stored(session, order) == order
    assert event_rows(session)["evt_bad"].outcome == Outcome.MISMATCH


def test_other_event_types_are_ignored(session):
    result = event(session, "customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_cus")
    assert result.outcome == Outcome.IGNORED and event_rows(session)["evt_cus"].session_id is None


def test_partial_then_full_refund_and_late_old_refund(session, order):
    event(session, "checkout.session.completed", completed(order))
    partial = event(session, "charge.refunded", charge(order, 1000))
    assert partial.outcome == S.PARTIALLY_REFUNDED and partial.visitor_id == VISITOR
    assert (stored(session, order).status, stored(session, order).amount_refunded) == (
        S.PARTIALLY_REFUNDED,
        1000,
    )
    second = event(session, "charge.refunded", charge(order, 2500))
    assert second.outcome == S.PARTIALLY_REFUNDED and stored(session, order).amount_refunded == 2500
    full = event(session, "charge.refunded", charge(order, order.amount_total))
    assert full.outcome == S.REFUNDED
    # the first partial refund's event, delivered late: cumulative amounts only grow
    late = event(session, "charge.refunded", charge(order, 1000))
    assert late.outcome == S.REFUNDED
    final = stored(session, order)
    assert (final.status, final.amount_refunded, final.refunded_text) == (S.REFUNDED, 6000, "$60.00")


@pytest.mark.parametrize(("refunded", "status"), [(6000, S.REFUNDED), (1500, S.PARTIALLY_REFUNDED)])
def test_refund_before_completion_is_not_lost(session, order, refunded, status):
    # the order has no payment intent yet: the refund finds it through the charge's metadata
    early = event(session, "charge.refunded", charge(order, refunded, metadata={"order_id": order.id}))
    assert early.outcome == Outcome.REFUND_RECORDED
    assert (stored(session, order).status, stored(session, order).amount_refunded) == (S.PENDING, refunded)
    done = event(session, "checkout.session.completed", completed(order))
    assert done.outcome == Outcome.FULFILLED and done.order.status == status
    assert stored(session, order).paid_at is not None


def test_refund_before_delayed_payment_settles(session, order):
    event(session, "checkout.session.completed", completed(order, payment_status="unpaid"))
    assert (
        event(session, "charge.refunded", charge(order, 6000)).outcome == Outcome.REFUND_RECORDED
    )  # found by payment intent
    assert stored(session, order).status == S.PROCESSING
    assert (
        event(session, "checkout.session.async_payment_succeeded", completed(order)).outcome
        == Outcome.FULFILLED
    )
    assert stored(session, order).status == S.REFUNDED


def test_refund_for_an_unknown_payment(session, order):
    result = event(session, "charge.refunded", charge(order, 100, payment_intent="pi_unknown"))
    assert result.outcome == Outcome.UNKNOWN_ORDER and result.order_id is None
    assert stored(session, order).amount_refunded == 0


def test_refund_naming_an_order_of_another_payment_is_refused(session, order):
    event(session, "checkout.session.completed", completed(order))
    forged = charge(order, 6000, payment_intent="pi_other", metadata={"order_id": order.id})
    assert event(session, "charge.refunded", forged).outcome == Outcome.UNKNOWN_ORDER
    assert stored(session, order).status == S.PAID


def test_five_concurrent_deliveries_of_one_event_apply_once(engine, session, order):
    barrier = threading.Barrier(5)
    obj = completed(order)

    def deliver(_):
        barrier.wait(timeout=30)
        with new_session(engine) as s:
            return event(s, "checkout.session.completed", obj, event_id="evt_burst").outcome

    with ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(deliver, range(5), timeout=60))
    assert sorted(outcomes) == [Outcome.DUPLICATE] * 4 + [Outcome.FULFILLED]
    assert list(event_rows(session)) == ["evt_burst"]
    assert stored(session, order).status == S.PAID


def test_webhooks_and_return_pages_racing_pay_once(engine, session, order):
    """20 return-page loads and 10 deliveries of one event, all at once: one fulfillment, one event row."""
    barrier = threading.Barrier(30)
    checkout, obj = checkout_for(order), completed(order)

    def call(i):
        barrier.wait(timeout=30)
        with new_session(engine) as s:
            if i % 3 == 0:
                return event(s, "checkout.session.completed", obj, event_id="evt_race").outcome
            return fulfill_checkout(session=s, checkout=checkout, visitor_id=VISITOR).outcome

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(call, range(30), timeout=60))
    assert outcomes.count(Outcome.FULFILLED) == 1
    assert outcomes.count(Outcome.DUPLICATE) == 9
    assert outcomes.count(Outcome.ALREADY_PAID) == 20
    assert len(event_rows(session)) == 1


def test_a_database_failure_rolls_back_the_event_row_so_stripe_can_retry(engine, session, order):
    # A real failure: the orders table is gone while the event is applied (the event insert succeeds first).
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE orders RENAME TO orders_away")
    try:
        with pytest.raises(DBAPIError):
            event(session, "checkout.session.completed", completed(order), event_id="evt_retry")
        assert event_rows(session) == {}  # the de-duplication row went with the failed transaction
    finally:
        session.close()
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE orders_away RENAME TO orders")

    # Stripe's retry of the same event is processed, not mistaken for a duplicate.
    retry = event(session, "checkout.session.completed", completed(order), event_id="evt_retry")
    assert retry.outcome == Outcome.FULFILLED and stored(session, order).status == S.PAID
