"""The webhook's fast path for the events of a real day (rxshop.orders.webhook_fast): a completed event for an
order the return page paid, delayed payments, expired sessions, refunds. Each story is told twice, to two
orders bought alike: once through the batch (the fast path, asserted to have answered) and once through
`apply_stripe_event` (the reference); both must leave the same outcomes, order, timeline, emails and stock."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from rxshop.core.models import Order, OrderEvent, StripeEvent
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome
from rxshop.orders import stock, webhook_batch
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.stripe_events import apply_stripe_event
from rxshop.orders.webhook_batch import apply_webhook_events
from rxshop.payments.wire import Charge, Event
from tests.fixtures.db import bought_order, checkout_for, run_together

VISITOR = "visitor-day"
_counter = iter(range(1, 1_000_000))
_OWN = {"id", "number", "stripe_session_id", "checkout_url", "created_at", "updated_at", "paid_at"}
_OWN |= {"session_expires_at", "payment_intent_id"}


@pytest.fixture
def full_path(monkeypatch):
    """The ids of the events `apply_webhook_events` handed to the full path."""
    reached: list[str] = []
    full = webhook_batch.apply_stripe_event

    def spy(*, session, event, **kwargs):
        reached.append(event.id)
        return full(session=session, event=event, **kwargs)

    monkeypatch.setattr(webhook_batch, "apply_stripe_event", spy)
    return reached


@pytest.fixture
def twins(session):
    """Two orders bought alike an hour apart, each holding its counted mugs (as Buy holds them)."""
    stock.set_stock(session=session, product_id="mug", tracked=True, quantity=100)
    now = datetime.now(UTC)
    orders = [bought_order(session, VISITOR, at=now - timedelta(hours=1 - i)) for i in range(2)]
    requests = [stock.HoldRequest(o.id, (("mug", 2),), now + timedelta(minutes=30)) for o in orders]
    assert all(h.counted for h in stock.reserve_batch(session=session, requests=requests, now=now))
    return orders


def checkout_event(order, type_="checkout.session.completed", **changes):
    checkout = checkout_for(order, payment_intent=f"pi_{order.id}", line_items=None, **changes)
    return Event(f"evt_day_{next(_counter):06d}", type_, 1_700_000_000, False, checkout.id, checkout=checkout)


def refund_event(order, amount):
    charge = Charge(f"ch_{order.id}", f"pi_{order.id}", "usd", amount, order.id)
    return Event(
        f"evt_day_{next(_counter):06d}", "charge.refunded", 1_700_000_000, False, charge.id, charge=charge
    )


UNPAID = {"payment_status": "unpaid"}
EXPIRED = {"payment_status": "unpaid", "status": "expired"}


def _total(order):
    return checkout_for(order).amount_total


# (name, prepared by the return page first, the story as event makers, outcomes, the fast path may leave)
STORIES = [
    ("paid by the return page first", True, [lambda o: checkout_event(o)], [Outcome.ALREADY_PAID], ()),
    ("paid", False, [lambda o: checkout_event(o)], [Outcome.FULFILLED], ()),
    ("delayed payment", False, [lambda o: checkout_event(o, **UNPAID)], [Outcome.PROCESSING], ()),
    (
        "delayed payment succeeded",
        False,
        [
            lambda o: checkout_event(o, **UNPAID),
            lambda o: checkout_event(o, "checkout.session.async_payment_succeeded"),
        ],
        [Outcome.PROCESSING, Outcome.FULFILLED],
        (),
    ),
    (
        "delayed payment failed",
        False,
        [
            lambda o: checkout_event(o, **UNPAID),
            lambda o: checkout_event(o, "checkout.session.async_payment_failed", **UNPAID),
        ],
        [Outcome.PROCESSING, Outcome.FAILED],
        (),
    ),
    (
        "expired",
        False,
        [lambda o: checkout_event(o, "checkout.session.expired", **EXPIRED)],
        [Outcome.EXPIRED],
        (),
    ),
    (
        "expired, told twice",
        False,
        [lambda o: checkout_event(o, "checkout.session.expired", **EXPIRED)] * 2,
        [Outcome.EXPIRED, Outcome.EXPIRED],
        (),
    ),
    (
        "refunded in part, then in full, then told again",
        False,
        [
            lambda o: checkout_event(o),
            lambda o: refund_event(o, 500),
            lambda o: refund_event(o, _total(o)),
            lambda o: refund_event(o, _total(o)),
        ],
        [Outcome.FULFILLED, Outcome.PARTIALLY_REFUNDED, Outcome.REFUNDED, Outcome.REFUNDED],
        (),
    ),
    (
        "refund reported before the payment",
        False,
        [lambda o: refund_event(o, 500), lambda o: checkout_event(o)],
        [Outcome.REFUND_RECORDED, Outcome.FULFILLED],
        (0, 1),  # found by its order id (no payment intent yet), paid after a refund: the full path decides
    ),
]


def picture(session, order_id):
    """What a story left of one order: its row, outcomes, timeline, emails and holds."""
    session.commit()
    order = session.exec(
        select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    ).one()
    outcomes = [e.outcome for e in session.exec(select(StripeEvent).where(StripeEvent.order_id == order_id))]
    steps = session.exec(select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id))
    conn = session.connection()
    mail = conn.execute(
        sa.text("SELECT kind, params FROM mail_outbox WHERE order_id = :o ORDER BY id"), {"o": order_id}
    )
    holds = conn.execute(
        sa.text("SELECT status FROM stock_reservations WHERE order_id = :o"), {"o": order_id}
    )
    return (
        {k: v for k, v in order.model_dump().items() if k not in _OWN},
        sorted(outcomes),
        [(e.kind, e.detail, e.actor) for e in steps],
        [tuple(m) for m in mail],
        [h.status for h in holds],
    )


@pytest.mark.parametrize("story", STORIES, ids=[s[0] for s in STORIES])
def test_each_story_leaves_what_the_full_path_leaves(session, full_path, twins, story):
    _name, paid_first, makers, outcomes, may_leave = story
    fast_order, full_order = twins
    if paid_first:
        for order in twins:
            assert (
                fulfill_checkout(session=session, checkout=checkout_for(order)).outcome == Outcome.FULFILLED
            )
    fast, full = [], []
    for i, make in enumerate(makers):
        event = make(fast_order)
        [result] = apply_webhook_events(session=session, events=[event])
        assert not isinstance(result, Exception), result
        fast.append(result.outcome)
        assert (event.id in full_path) == (i in may_leave), f"step {i} took the wrong path"
        assert (result.order_id, result.visitor_id) == (fast_order.id, VISITOR)
        full.append(apply_stripe_event(session=session, event=make(full_order)).outcome)
        again = apply_webhook_events(session=session, events=[event])[0]  # a redelivery
        assert again.outcome == Outcome.DUPLICATE

    assert fast == full == outcomes
    assert picture(session, fast_order.id) == picture(session, full_order.id)
    status = picture(session, fast_order.id)[0]["status"]
    if status in (S.EXPIRED, S.FAILED):
        assert picture(session, fast_order.id)[4] == ["released"]


def _deliver(session, event):
    [result] = apply_webhook_events(session=session, events=[event])
    if isinstance(result, Exception):
        raise result
    return result.outcome


def test_concurrent_deliveries_after_the_return_page_change_nothing(engine, session, twins):
    order = twins[0]
    assert fulfill_checkout(session=session, checkout=checkout_for(order)).outcome == Outcome.FULFILLED
    before = picture(session, order.id)
    events = [checkout_event(order) for _ in range(20)]
    outcomes = run_together(engine, [lambda s, e=e: _deliver(s, e) for e in events + events[:10]])

    assert sorted(outcomes) == sorted([Outcome.ALREADY_PAID] * 20 + [Outcome.DUPLICATE] * 10)
    after = picture(session, order.id)
    assert after[0] == before[0] and after[2:] == before[2:]  # one confirmation, one sale, as before
    assert after[1] == [Outcome.ALREADY_PAID] * 20


def test_concurrent_refund_reports_refund_and_email_once(engine, session, twins):
    order = twins[0]
    assert _deliver(session, checkout_event(order)) == Outcome.FULFILLED
    events = [refund_event(order, _total(order)) for _ in range(10)]
    outcomes = run_together(engine, [lambda s, e=e: _deliver(s, e) for e in events + events])

    assert outcomes.count(Outcome.REFUNDED) == 10 and outcomes.count(Outcome.DUPLICATE) == 10
    row, _outcomes, steps, mail, _holds = picture(session, order.id)
    assert row["status"] == S.REFUNDED and row["amount_refunded"] == _total(order)
    assert [s[1] for s in steps] == ["pending -> paid", "paid -> refunded"]
    assert [m[0] for m in mail].count("refunded") == 1


def test_a_mixed_batch_sells_and_gives_back_each_once(session, full_path, twins):
    paid, gone = twins
    batch = [checkout_event(paid), checkout_event(gone, "checkout.session.expired", **EXPIRED)]
    results = apply_webhook_events(session=session, events=batch + [dataclasses.replace(batch[1])])

    assert [r.outcome for r in results] == [Outcome.FULFILLED, Outcome.EXPIRED, Outcome.DUPLICATE]
    assert full_path == []
    assert picture(session, paid.id)[4] == ["sold"] and picture(session, gone.id)[4] == ["released"]
    level = next(x for x in stock.levels(session=session) if x.product_id == "mug")
    assert (level.quantity, level.reserved) == (98, 0)


@pytest.mark.parametrize("count", [100, 3], ids=["enough left", "the owner lowered the count"])
def test_a_batch_of_payments_sells_each_hold_once(session, twins, count):
    stock.set_stock(session=session, product_id="mug", quantity=count)
    results = apply_webhook_events(session=session, events=[checkout_event(o) for o in twins])

    assert [r.outcome for r in results] == [Outcome.FULFILLED] * 2
    holds = sorted(picture(session, o.id)[4][0] for o in twins)
    level = next(x for x in stock.levels(session=session) if x.product_id == "mug")
    if count == 100:  # one UPDATE for both
        assert holds == ["sold", "sold"] and (level.quantity, level.reserved) == (96, 0)
    else:  # line by line: the first sale takes 2 of 3, the second finds 1: oversold, for the owner
        assert holds == ["oversold", "sold"] and (level.quantity, level.reserved) == (1, 0)
        kinds = session.exec(sa.text("SELECT kind FROM exceptions_inbox")).all()
        assert ("oversold",) in [tuple(k) for k in kinds]
