"""fulfill_checkout: every outcome, nothing written on a mismatch, exactly one winner under concurrency."""

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from rxshop.core.db import new_session
from rxshop.core.models import Order
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome
from rxshop.orders.buy import plan_checkout_order, settle_checkout
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.records import expire_stale_orders
from rxshop.payments.wire import SessionLine
from tests.fixtures.db import bought_order, checkout_for, sample_cart, stored_order

VISITOR = "visitor-a"


@pytest.fixture
def order(session):
    return bought_order(session, VISITOR)


def _stored(session, order_id):
    return stored_order(session, order_id, VISITOR)


def test_paid_session_fulfills_once(session, order):
    checkout = checkout_for(order, payment_intent="pi_123", customer_email="ann@example.com")
    first = fulfill_checkout(session=session, checkout=checkout, visitor_id=VISITOR)
    assert first.outcome == Outcome.FULFILLED
    assert first.order.status == S.PAID
    assert (first.order.payment_intent_id, first.order.customer_email) == ("pi_123", "ann@example.com")
    assert first.order.paid_at is not None and first.order.paid_at.utcoffset() == timedelta(0)

    again = fulfill_checkout(session=session, checkout=checkout, visitor_id=VISITOR)
    assert again.outcome == Outcome.ALREADY_PAID
    assert again.order.paid_at == first.order.paid_at  # the second call wrote nothing
    assert _stored(session, order.id) == first.order


def test_no_payment_required_counts_as_paid(session, order):
    result = fulfill_checkout(
        session=session, checkout=checkout_for(order, payment_status="no_payment_required")
    )
    assert (result.outcome, result.order.status) == (Outcome.FULFILLED, S.PAID)


def test_open_unpaid_session_writes_nothing(session, order):
    result = fulfill_checkout(
        session=session, checkout=checkout_for(order, status="open", payment_status="unpaid")
    )
    assert result.outcome == Outcome.NOT_PAID and result.order.status == S.PENDING
    assert _stored(session, order.id) == order


def test_complete_but_unpaid_is_processing_until_paid(session, order):
    delayed = checkout_for(order, status="complete", payment_status="unpaid", payment_intent="pi_slow")
    result = fulfill_checkout(session=session, checkout=delayed)
    assert result.outcome == S.PROCESSING and result.order.status == S.PROCESSING
    assert result.order.payment_intent_id == "pi_slow" and result.order.paid_at is None
    assert fulfill_checkout(session=session, checkout=delayed).outcome == S.PROCESSING  # repeat: no change

    paid = fulfill_checkout(session=session, checkout=dataclasses.replace(delayed, payment_status="paid"))
    assert (paid.outcome, paid.order.status) == (Outcome.FULFILLED, S.PAID)
    # a stale "still processing" report after the payment changes nothing
    assert fulfill_checkout(session=session, checkout=delayed).outcome == Outcome.ALREADY_PAID


def test_expired_session_expires_the_order(session, order):
    result = fulfill_checkout(
        session=session, checkout=checkout_for(order, status="expired", payment_status="unpaid")
    )
    assert (result.outcome, result.order.status) == (S.EXPIRED, S.EXPIRED)


def test_expired_after_paid_changes_nothing(session, order):
    fulfill_checkout(session=session, checkout=checkout_for(order))
    result = fulfill_checkout(
        session=session, checkout=checkout_for(order, status="expired", payment_status="unpaid")
    )
    assert (result.outcome, result.order.status) == (Outcome.ALREADY_PAID, S.PAID)


def test_a_payment_after_our_own_expiry_sweep_is_still_recorded(session, order):
    expire_stale_orders(session=session, now=order.session_expires_at + timedelta(seconds=1))
    assert _stored(session, order.id).status == S.EXPIRED
    result = fulfill_checkout(session=session, checkout=checkout_for(order))
    assert (result.outcome, result.order.status) == (Outcome.FULFILLED, S.PAID)


def test_another_visitor_learns_nothing(session, order):
    result = fulfill_checkout(session=session, checkout=checkout_for(order), visitor_id="visitor-b")
    assert result.outcome == Outcome.NOT_FOUND and result.order is None
    assert _stored(session, order.id).status == S.PENDING


def test_unknown_order(session, order):
    result = fulfill_checkout(
        session=session, checkout=checkout_for(order, client_reference_id="ord_" + "0" * 24, metadata={})
    )
    assert (result.outcome, result.order) == (Outcome.NOT_FOUND, None)


def test_order_ids_that_disagree_are_not_trusted(session, order):
    other = bought_order(session, VISITOR, sample_cart({"mug": 5}), answered=False)  # another cart
    checkout = checkout_for(order, metadata={"order_id": other.id})
    assert fulfill_checkout(session=session, checkout=checkout).outcome == Outcome.NOT_FOUND
    assert _stored(session, order.id).status == _stored(session, other.id).status == S.PENDING


def test_a_session_other_than_the_bound_one_is_not_found(session, order):
    result = fulfill_checkout(session=session, checkout=checkout_for(order, id="cs_test_someone_else"))
    assert result.outcome == Outcome.NOT_FOUND
    assert _stored(session, order.id) == order


def test_the_order_is_found_by_metadata_or_by_session_id(session, order):
    by_meta = checkout_for(order, client_reference_id=None)
    assert fulfill_checkout(session=session, checkout=by_meta).outcome == Outcome.FULFILLED
    by_session = checkout_for(order, client_reference_id=None, metadata={})
    assert fulfill_checkout(session=session, checkout=by_session).outcome == Outcome.ALREADY_PAID


def test_fulfill_binds_an_order_whose_session_was_not_attached_yet(session):
    # the webhook can arrive before the code that created the session has attached it
    order = bought_order(session, VISITOR, answered=False)
    checkout = checkout_for(order, id="cs_test_early")
    result = fulfill_checkout(session=session, checkout=checkout)
    assert result.outcome == Outcome.FULFILLED and result.order.stripe_session_id == "cs_test_early"
    # The Buy path's late answer for that order cannot bind another session to it.
    planned = plan_checkout_order(
        order_id=order.id, visitor_id=VISITOR, cart=sample_cart(), session_expires_at=datetime.now(UTC)
    )
    settled = settle_checkout(
        session=session,
        planned=planned,
        session_id="cs_test_other",
        url="u",
        expires_at=datetime.now(UTC),
        now=datetime.now(UTC),
    )
    assert settled.burned and _stored(session, order.id).stripe_session_id == "cs_test_early"


def _tamper_lines(lines):
    first = lines[0]
    return {
        "quantity": (dataclasses.replace(first, quantity=first.quantity + 1),) + lines[1:],
        "unit_amount": (dataclasses.replace(first, unit_amount=first.unit_amount - 1),) + lines[1:],
        "name": (dataclasses.replace(first, description="Something else"),) + lines[1:],
        "missing line": lines[1:],
        "extra line": lines + (SessionLine("Dot-Grid Notebook", 1, 1250, 1250),),
    }


@pytest.mark.parametrize(
    "tamper",
    ["amount", "currency", "quantity", "unit_amount", "name", "missing line", "extra line"],
)
@pytest.mark.parametrize("payment_status", ["paid", "unpaid"])
def test_a_session_that_does_not_match_the_order_writes_nothing(
    session, order, caplog, tamper, payment_status
):
    checkout = checkout_for(order, payment_status=payment_status)
    if tamper == "amount":
        checkout = dataclasses.replace(checkout, amount_total=order.amount_total - 1)
    elif tamper == "currency":
        checkout = dataclasses.replace(checkout, currency="eur")
    else:
        checkout = dataclasses.replace(checkout, line_items=_tamper_lines(checkout.line_items)[tamper])
    with caplog.at_level(logging.WARNING, logger="rxshop.orders.records"):
        result = fulfill_checkout(session=session, checkout=checkout, visitor_id=VISITOR)
    assert result.outcome == Outcome.MISMATCH
    assert _stored(session, order.id) == order  # not paid, not processing, timestamps untouched
    assert any(order.id in r.getMessage() and "does not match" in r.getMessage() for r in caplog.records)


def test_matching_lines_in_another_order_are_fine(session, order):
    checkout = checkout_for(order)
    reordered = dataclasses.replace(checkout, line_items=tuple(reversed(checkout.line_items)))
    assert fulfill_checkout(session=session, checkout=reordered).outcome == Outcome.FULFILLED


def _fulfill_concurrently(engine, checkouts, workers):
    """Each call in its own thread with its own Session, released together by a barrier."""
    barrier = threading.Barrier(len(checkouts))

    def call(checkout):
        barrier.wait(timeout=30)
        with new_session(engine) as s:
            return fulfill_checkout(session=s, checkout=checkout).outcome

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [f.result(timeout=60) for f in [pool.submit(call, c) for c in checkouts]]


def test_fifty_concurrent_fulfillments_pay_the_order_once(engine, session, order):
    outcomes = _fulfill_concurrently(engine, [checkout_for(order, payment_intent="pi_once")] * 50, workers=50)
    assert outcomes.count(Outcome.FULFILLED) == 1
    assert outcomes.count(Outcome.ALREADY_PAID) == 49
    paid = session.exec(select(Order).where(Order.status == S.PAID)).all()
    assert [o.id for o in paid] == [order.id] and paid[0].payment_intent_id == "pi_once"


def test_concurrent_fulfillment_of_an_unattached_order_binds_one_session(engine, session):
    order = bought_order(session, VISITOR, answered=False)
    checkout = checkout_for(order, id="cs_test_race")
    outcomes = _fulfill_concurrently(engine, [checkout] * 20, workers=20)
    assert (
        sorted(set(outcomes)) == [Outcome.ALREADY_PAID, Outcome.FULFILLED]
        and outcomes.count(Outcome.FULFILLED) == 1
    )
    assert _stored(session, order.id).stripe_session_id == "cs_test_race"
