"""The webhook's fast path (here: a paid checkout.session.completed for a pending order; the other events in
test_webhook_fast_events.py): it leaves exactly what the full path leaves, and anything unusual falls back
to the full path unwritten."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from rxshop.core.models import InboxItem, Order, OrderEvent, StripeEvent
from rxshop.domain.addresses import ShippingAddress
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome
from rxshop.orders import webhook_batch
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.stripe_events import apply_stripe_event
from rxshop.orders.webhook_batch import apply_webhook_events
from rxshop.payments.wire import CheckoutSession, Event
from tests.fixtures.db import bought_order, checkout_for, run_together

VISITOR = "visitor-fast"
ADDRESS = ShippingAddress("Ada Lovelace", "1 Analytical Way", None, "San Francisco", "CA", "94107", "US")
_counter = iter(range(1, 1_000_000))

# Columns that differ between two orders by construction (ids, session, times).
_OWN = {
    "id",
    "number",
    "stripe_session_id",
    "checkout_url",
    "created_at",
    "updated_at",
    "paid_at",
    "session_expires_at",
}


def bought(session, count):
    """`count` orders of VISITOR's one cart, bought an hour apart (each once the one before had expired:
    the Buy path hands an open checkout of the same cart back), the last one now."""
    now = datetime.now(UTC)
    return [bought_order(session, VISITOR, at=now - timedelta(hours=count - 1 - i)) for i in range(count)]


def _apply_one(session, event):
    """One delivery as the endpoint applies it: a batch of one (fast path, else the full path)."""
    [result] = apply_webhook_events(session=session, events=[event])
    if isinstance(result, Exception):
        raise result
    return result


@pytest.fixture
def full_path(monkeypatch):
    """The events `apply_webhook_events` handed to the full path (`apply_stripe_event`), each with what the
    database held when it got there: an event not in it was answered by the fast path."""
    reached = {}
    full = webhook_batch.apply_stripe_event

    def spy(*, session, event, **kwargs):
        reached[event.id] = snapshot(session)
        return full(session=session, event=event, **kwargs)

    monkeypatch.setattr(webhook_batch, "apply_stripe_event", spy)
    return reached


def completed(
    checkout: CheckoutSession, event_id: str | None = None, type_: str = "checkout.session.completed"
):
    """The event as the endpoint reads it: no line items in a webhook's session object."""
    return Event(
        id=event_id or f"evt_fast_{next(_counter):06d}",
        type=type_,
        created=1_700_000_000,
        livemode=False,
        object_id=checkout.id,
        checkout=dataclasses.replace(checkout, line_items=None),
    )


def row(session, order_id):
    return session.exec(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    ).one()


def timeline(session, order_id):
    rows = session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    return [(e.kind, e.detail, e.actor) for e in rows]


def events(session):
    rows = session.exec(select(StripeEvent).execution_options(populate_existing=True))
    return {e.id: (e.type, e.session_id, e.order_id, e.outcome) for e in rows}


def snapshot(session):
    session.commit()
    orders = [o.model_dump() for o in session.exec(select(Order).execution_options(populate_existing=True))]
    inbox = [(i.kind, i.reference) for i in session.exec(select(InboxItem))]
    everything = (sorted(orders, key=lambda o: o["id"]), events(session), inbox)
    session.commit()
    return everything


@pytest.mark.parametrize(
    "extra",
    [{}, {"shipping": ADDRESS, "phone": "+1 415 555 0100"}, {"customer_email": None, "payment_intent": None}],
    ids=["no address", "address and phone", "no email or intent"],
)
def test_the_fast_path_leaves_exactly_what_the_full_path_leaves(session, full_path, extra):
    fast_order, full_order = bought(session, 2)
    same = {"payment_intent": "pi_same", **extra}
    fast_event = completed(checkout_for(fast_order, **same), "evt_fast_a")
    full_event = completed(checkout_for(full_order, **same), "evt_full_a")

    fast = _apply_one(session, fast_event)
    full = apply_stripe_event(session=session, event=full_event)

    assert fast_event.id not in full_path  # the fast path answered it
    assert (fast.outcome, fast.order_id, fast.visitor_id) == (Outcome.FULFILLED, fast_order.id, VISITOR)
    assert (full.outcome, full.order_id, full.visitor_id) == (Outcome.FULFILLED, full_order.id, VISITOR)
    a, b = row(session, fast_order.id), row(session, full_order.id)
    assert (
        a.status == S.PAID and a.paid_at is not None and a.stripe_session_id == fast_order.stripe_session_id
    )
    assert {k: v for k, v in a.model_dump().items() if k not in _OWN} == {
        k: v for k, v in b.model_dump().items() if k not in _OWN
    }
    assert (
        timeline(session, fast_order.id)
        == timeline(session, full_order.id)
        == [("status", "pending -> paid", "webhook")]
    )
    recorded = events(session)
    assert recorded["evt_fast_a"] == (
        "checkout.session.completed",
        fast_order.stripe_session_id,
        fast_order.id,
        Outcome.FULFILLED,
    )
    assert recorded["evt_full_a"][::3] == recorded["evt_fast_a"][::3]


def test_a_repeated_event_is_a_duplicate_and_changes_nothing(session, full_path):
    order = bought_order(session, VISITOR)
    event = completed(checkout_for(order))
    assert _apply_one(session, event).outcome == Outcome.FULFILLED
    before = snapshot(session)
    assert _apply_one(session, event).outcome == Outcome.DUPLICATE
    assert full_path == {}  # the first delivery and its repeat both answered by the fast path
    assert _apply_one(session, event).outcome == Outcome.DUPLICATE
    assert snapshot(session) == before
    assert timeline(session, order.id) == [("status", "pending -> paid", "webhook")]


def _refund_first(session, order):
    session.exec(Order.__table__.update().where(Order.id == order.id).values(amount_refunded=500))
    session.commit()


def _bound_elsewhere(session, order):
    session.exec(
        Order.__table__.update().where(Order.id == order.id).values(stripe_session_id="cs_test_other")
    )
    session.commit()


# (what differs, the session's changes, a change to the order first, the full path's outcome, inbox kind)
UNUSUAL = [
    ("total", {"amount_total": 1}, None, Outcome.MISMATCH, "mismatch"),
    ("subtotal", {"amount_subtotal": 5999}, None, Outcome.MISMATCH, "mismatch"),
    ("currency", {"currency": "eur"}, None, Outcome.MISMATCH, "mismatch"),
    ("livemode", {"livemode": True}, None, Outcome.MISMATCH, "mismatch"),
    ("shipping amount", {"amount_shipping": 1, "amount_total": 6001}, None, Outcome.MISMATCH, "mismatch"),
    ("shipping rate", {"shipping_rate": "shr_unknown"}, None, Outcome.MISMATCH, "mismatch"),
    ("options", {"shipping_options": (("shr_x", 0),)}, None, Outcome.MISMATCH, "mismatch"),
    (
        "two orders named",
        {"metadata": {"order_id": "ord_other"}},
        None,
        Outcome.UNKNOWN_SESSION,
        "unknown_session",
    ),
    (
        "unknown order",
        {"client_reference_id": "ord_missing", "metadata": {}},
        None,
        Outcome.UNKNOWN_SESSION,
        "unknown_session",
    ),
    ("refund reported first", {}, _refund_first, Outcome.FULFILLED, None),  # paid, then partially refunded
    ("bound to another session", {}, _bound_elsewhere, Outcome.UNKNOWN_SESSION, "unknown_session"),
]


@pytest.mark.parametrize("case", UNUSUAL, ids=[c[0] for c in UNUSUAL])
def test_anything_unusual_falls_back_unwritten_and_the_full_path_decides(session, full_path, case):
    _name, changes, prepare, outcome, inbox = case
    order = bought_order(session, VISITOR)
    if prepare is not None:
        prepare(session, order)
    event = completed(checkout_for(order, **changes))
    before = snapshot(session)

    assert _apply_one(session, event).outcome == outcome
    assert event.id in full_path  # the fast path fell back to the full path
    assert full_path[event.id] == before  # having written nothing, its transaction ended
    assert events(session)[event.id][3] == outcome
    kinds = [i.kind for i in session.exec(select(InboxItem))]
    assert kinds == ([inbox] if inbox else [])
    if outcome == Outcome.MISMATCH:
        assert row(session, order.id).status == S.PENDING
    if prepare is _refund_first:
        assert row(session, order.id).status == S.PARTIALLY_REFUNDED


def test_fifty_concurrent_deliveries_and_the_return_page_pay_once(engine, session):
    order = bought_order(session, VISITOR)
    checkout = checkout_for(order, payment_intent="pi_once")
    event = completed(checkout, "evt_fast_race")
    calls = [lambda s: _apply_one(s, event).outcome] * 40
    calls += [lambda s: fulfill_checkout(session=s, checkout=checkout).outcome] * 10
    outcomes = run_together(engine, calls)

    assert outcomes.count(Outcome.FULFILLED) == 1
    assert outcomes.count(Outcome.DUPLICATE) >= 39 - 10
    assert set(outcomes) <= {Outcome.FULFILLED, Outcome.DUPLICATE, Outcome.ALREADY_PAID}
    paid = session.exec(select(Order).where(Order.status == S.PAID)).all()
    assert [o.id for o in paid] == [order.id] and paid[0].payment_intent_id == "pi_once"
    assert timeline(session, order.id) == [("status", "pending -> paid", timeline(session, order.id)[0][2])]
    assert list(events(session)) == ["evt_fast_race"]


def test_fifty_distinct_events_for_one_session_pay_once(engine, session):
    order = bought_order(session, VISITOR)
    checkout = checkout_for(order)
    deliveries = [completed(checkout, f"evt_fast_many_{i}") for i in range(50)]
    outcomes = run_together(engine, [lambda s, e=e: _apply_one(s, e).outcome for e in deliveries])

    assert outcomes.count(Outcome.FULFILLED) == 1 and outcomes.count(Outcome.ALREADY_PAID) == 49
    assert timeline(session, order.id) == [("status", "pending -> paid", "webhook")]
    recorded = events(session)
    assert len(recorded) == 50 and sorted(o for *_x, o in recorded.values()) == sorted(outcomes)


def test_a_batch_gives_each_event_what_it_would_get_alone(session):
    paid, other, stranger = bought(session, 3)
    first = completed(checkout_for(paid), "evt_batch_paid")
    batch = [
        first,
        first,  # the same delivery twice in one batch
        completed(checkout_for(other, amount_total=1), "evt_batch_mismatch"),
        completed(
            checkout_for(stranger, client_reference_id="ord_missing", metadata={}), "evt_batch_unknown"
        ),
        completed(
            checkout_for(stranger), "evt_batch_async", type_="checkout.session.async_payment_succeeded"
        ),
        completed(checkout_for(stranger), "evt_batch_after"),  # the order was paid just before, in the batch
    ]
    results = apply_webhook_events(session=session, events=batch)

    assert [r.outcome for r in results] == [
        Outcome.FULFILLED,
        Outcome.DUPLICATE,
        Outcome.MISMATCH,
        Outcome.UNKNOWN_SESSION,
        Outcome.ALREADY_PAID,
        Outcome.FULFILLED,
    ]
    assert (results[0].order_id, results[0].visitor_id) == (paid.id, VISITOR)
    recorded = events(session)
    assert {k: v[3] for k, v in recorded.items()} == {
        "evt_batch_paid": Outcome.FULFILLED,
        "evt_batch_mismatch": Outcome.MISMATCH,
        "evt_batch_unknown": Outcome.UNKNOWN_SESSION,
        "evt_batch_async": Outcome.ALREADY_PAID,
        "evt_batch_after": Outcome.FULFILLED,
    }
    assert [row(session, o.id).status for o in (paid, other, stranger)] == [S.PAID, S.PENDING, S.PAID]
    assert timeline(session, paid.id) == [("status", "pending -> paid", "webhook")]
    assert sorted(i.kind for i in session.exec(select(InboxItem))) == ["mismatch", "unknown_session"]


def test_a_failing_full_path_fails_only_its_own_delivery(session, monkeypatch):
    paid, refused = bought(session, 2)
    full = webhook_batch.apply_stripe_event

    def failing(*, session, event, **kwargs):
        if event.id == "evt_batch_fails":
            raise RuntimeError("database went away")
        return full(session=session, event=event, **kwargs)

    monkeypatch.setattr(webhook_batch, "apply_stripe_event", failing)
    batch = [
        completed(checkout_for(paid), "evt_batch_ok"),
        completed(checkout_for(refused, currency="eur"), "evt_batch_fails"),
    ]
    results = apply_webhook_events(session=session, events=batch)

    assert results[0].outcome == Outcome.FULFILLED and isinstance(results[1], RuntimeError)
    assert list(events(session)) == ["evt_batch_ok"]


def test_an_event_the_database_refuses_fails_only_itself(session):
    """Its fast path fails in its SAVEPOINT (a `created` past 64 bits: no database stores it), its full
    path again: it is kept for the owner as unprocessable, and the events around it are paid."""
    before, bad, after = bought(session, 3)
    refused = dataclasses.replace(completed(checkout_for(bad), "evt_batch_refused"), created=10**30)
    batch = [
        completed(checkout_for(before), "evt_batch_a"),
        refused,
        completed(checkout_for(after), "evt_batch_z"),
    ]

    results = apply_webhook_events(session=session, events=batch)

    assert [r.outcome for r in results] == [Outcome.FULFILLED, Outcome.UNPROCESSABLE, Outcome.FULFILLED]
    assert [row(session, o.id).status for o in (before, bad, after)] == [S.PAID, S.PENDING, S.PAID]
    assert {k: v[3] for k, v in events(session).items()} == {
        "evt_batch_a": Outcome.FULFILLED,
        "evt_batch_refused": Outcome.UNPROCESSABLE,
        "evt_batch_z": Outcome.FULFILLED,
    }
    assert [(i.kind, i.reference) for i in session.exec(select(InboxItem))] == [
        ("unprocessable", "evt_batch_refused")
    ]
    assert timeline(session, bad.id) == []


def test_events_failing_in_a_batch_each_get_their_error_and_record_nothing(engine, session):
    orders = bought(session, 3)
    session.connection().exec_driver_sql("ALTER TABLE order_events RENAME TO order_events_offline")
    session.commit()
    try:
        results = apply_webhook_events(session=session, events=[completed(checkout_for(o)) for o in orders])
        # Not a permanent data error: each delivery is answered 5xx, and Stripe retries it.
        assert len(results) == 3 and all(isinstance(r, DBAPIError) for r in results), results
        session.rollback()
        assert events(session) == {}
        assert [row(session, o.id).status for o in orders] == [S.PENDING] * 3
    finally:
        session.rollback()
        session.connection().exec_driver_sql("ALTER TABLE order_events_offline RENAME TO order_events")
        session.commit()
