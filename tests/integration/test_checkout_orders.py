"""The Buy path's records (rxshop.orders.buy): planned ids, settling Stripe's answer, failures; SQLite and PostgreSQL."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from rxshop.domain.cart import price_cart
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.buy import (
    MAX_CHECKOUT_GENERATIONS,
    MAX_OPEN_CHECKOUTS_PER_CLIENT,
    MAX_OPEN_CHECKOUTS_PER_VISITOR,
    REUSE_MARGIN,
    Answer,
    CheckoutLimitReached,
    Settled,
    checkout_order_ids,
    first_open_generation,
    plan_checkout_order,
    record_failed_checkout,
    settle_checkout,
    settle_checkouts,
)
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.records import find_order_by_session, list_orders
from tests.fixtures.db import checkout_for, sample_cart, stored_order

VISITOR = "visitor-a"
KEY = b"k" * 32
NOW = datetime.now(UTC).replace(microsecond=0)
EXPIRES = NOW + timedelta(minutes=35)


def _planned(order_id: str, *, visitor=VISITOR, cart=None, client_ip=None):
    return plan_checkout_order(
        order_id=order_id,
        visitor_id=visitor,
        cart=cart or sample_cart(),
        session_expires_at=EXPIRES,
        client_ip=client_ip,
    )


def _settle(session, planned, session_id, *, now=NOW):
    return settle_checkout(
        session=session,
        planned=planned,
        session_id=session_id,
        url=f"https://pay.example/{session_id}",
        expires_at=EXPIRES,
        now=now,
    )


def _snapshot(session):
    return list_orders(session=session, visitor_id=VISITOR, limit=100)


def test_order_ids_are_fixed_per_visitor_cart_window_and_generation_and_unguessable():
    ids = checkout_order_ids(KEY, VISITOR, "fp", 7)
    assert len(ids) == len(set(ids)) == MAX_CHECKOUT_GENERATIONS
    assert all(re.fullmatch(r"ord_[0-9a-f]{24}", i) for i in ids)
    assert checkout_order_ids(KEY, VISITOR, "fp", 7) == ids  # every press of the window: the same key
    others = [
        checkout_order_ids(KEY, VISITOR, "fp", 8),
        checkout_order_ids(KEY, "visitor-b", "fp", 7),
        checkout_order_ids(KEY, VISITOR, "fp2", 7),
        checkout_order_ids(b"another secret", VISITOR, "fp", 7),  # unguessable without the server's key
    ]
    assert all(not set(ids) & set(other) for other in others)


def test_a_first_answer_inserts_the_order_bound_and_a_replay_hands_it_back(session):
    planned = _planned("ord_" + "1" * 24)
    assert _settle(session, planned, "cs_1") == Settled(planned.order.id, "https://pay.example/cs_1")
    stored = stored_order(session, planned.order.id, VISITOR)
    assert (stored.status, stored.stripe_session_id, stored.checkout_url) == (
        S.PENDING,
        "cs_1",
        "https://pay.example/cs_1",
    )
    assert stored.session_expires_at == EXPIRES and stored.amount_total == sample_cart().total
    assert [(x.product_id, x.quantity) for x in stored.lines] == [
        (x.product_id, x.quantity) for x in planned.lines
    ]

    # Stripe replayed the same session for the same key (a second press, a second tab): handed back.
    again = _settle(session, _planned(planned.order.id), "cs_1")
    assert again == Settled(planned.order.id, "https://pay.example/cs_1", reused=True)
    # Another session for that order (cannot come from one key): never bound, nothing changes.
    before = _snapshot(session)
    assert _settle(session, _planned(planned.order.id), "cs_2").burned
    assert _snapshot(session) == before
    assert find_order_by_session(session=session, session_id="cs_1").id == planned.order.id
    assert find_order_by_session(session=session, session_id="cs_2") is None


def test_the_database_refuses_one_session_for_two_orders(session):
    _settle(session, _planned("ord_" + "1" * 24), "cs_shared")
    before = _snapshot(session)
    with pytest.raises(RuntimeError):
        _settle(session, _planned("ord_" + "2" * 24, cart=price_cart({"mug": 5})), "cs_shared")
    assert _snapshot(session) == before


def test_an_older_open_session_of_the_same_cart_is_handed_back_instead_of_a_second(session):
    older = _planned("ord_" + "1" * 24)
    _settle(session, older, "cs_old")
    newer = _planned("ord_" + "2" * 24)  # the next window's id for the same cart
    before = _snapshot(session)
    assert _settle(session, newer, "cs_new") == Settled(
        older.order.id, "https://pay.example/cs_old", reused=True
    )
    assert _snapshot(session) == before  # cs_new is shown to no one and expires unused
    # Not for another cart or visitor, nor once the older session is about to expire.
    assert not _settle(session, _planned("ord_" + "3" * 24, cart=price_cart({"mug": 5})), "cs_c").reused
    assert not _settle(session, _planned("ord_" + "4" * 24, visitor="visitor-b"), "cs_v").reused
    late = EXPIRES - REUSE_MARGIN / 2
    assert _settle(session, newer, "cs_new", now=late) == Settled(
        newer.order.id, "https://pay.example/cs_new"
    )


def test_a_paid_or_given_up_order_burns_its_key(session):
    paid = _planned("ord_" + "1" * 24)
    _settle(session, paid, "cs_paid")
    fulfill_checkout(session=session, checkout=checkout_for(stored_order(session, paid.order.id)))
    before = _snapshot(session)
    # Stripe replays the paid session's creation for the same key: not offered, the caller moves on.
    assert _settle(session, _planned(paid.order.id), "cs_paid") == Settled(burned=True)
    assert _snapshot(session) == before


def test_the_caps_of_open_checkouts_are_checked_before_anything_is_written(session):
    carts = [price_cart({"notebook": n}) for n in range(1, MAX_OPEN_CHECKOUTS_PER_VISITOR + 2)]
    for n, cart in enumerate(carts[:-1]):
        _settle(session, _planned(f"ord_{n:024d}", cart=cart), f"cs_{n}")
    before = _snapshot(session)
    with pytest.raises(CheckoutLimitReached, match="several checkouts open"):
        _settle(session, _planned("ord_" + "f" * 24, cart=carts[-1]), "cs_over")
    assert _snapshot(session) == before
    # Per client address too, across visitors.
    for n in range(MAX_OPEN_CHECKOUTS_PER_CLIENT):
        _settle(session, _planned(f"ord_{n:023d}c", visitor=f"v{n}", client_ip="203.0.113.9"), f"cs_c{n}")
    with pytest.raises(CheckoutLimitReached):
        _settle(session, _planned("ord_" + "e" * 24, visitor="v-new", client_ip="203.0.113.9"), "cs_c_over")
    assert stored_order(session, "ord_" + "e" * 24) is None


def test_a_timeout_leaves_the_order_waiting_and_a_retry_binds_it(session):
    planned = _planned("ord_" + "1" * 24)
    assert (
        record_failed_checkout(session=session, planned=planned, now=NOW, same_key_may_succeed=True) is None
    )
    waiting = stored_order(session, planned.order.id, VISITOR)
    assert (waiting.status, waiting.stripe_session_id) == (S.PENDING, None)
    # The same key's next request succeeds (Stripe made the session, or makes it now): bound, not "reused".
    assert _settle(session, _planned(planned.order.id), "cs_1") == Settled(
        planned.order.id, "https://pay.example/cs_1"
    )
    # A later failure for that key hands the bound session back.
    assert record_failed_checkout(
        session=session, planned=_planned(planned.order.id), now=NOW, same_key_may_succeed=True
    ) == Settled(planned.order.id, "https://pay.example/cs_1", reused=True)


def test_a_5xx_gives_the_order_up_and_its_replay_burns_the_key(session):
    planned = _planned("ord_" + "1" * 24)
    assert (
        record_failed_checkout(session=session, planned=planned, now=NOW, same_key_may_succeed=False) is None
    )
    assert stored_order(session, planned.order.id).status == S.EXPIRED
    again = record_failed_checkout(
        session=session, planned=_planned(planned.order.id), now=NOW, same_key_may_succeed=False
    )
    assert again == Settled(burned=True)
    # A waiting order whose key then gets a 5xx is given up too.
    waiting = _planned("ord_" + "2" * 24, cart=price_cart({"mug": 5}))
    record_failed_checkout(session=session, planned=waiting, now=NOW, same_key_may_succeed=True)
    record_failed_checkout(session=session, planned=waiting, now=NOW, same_key_may_succeed=False)
    assert stored_order(session, waiting.order.id).status == S.EXPIRED


def test_an_unattached_order_of_an_earlier_window_is_given_up(session):
    old = _planned("ord_" + "1" * 24)
    record_failed_checkout(session=session, planned=old, now=NOW, same_key_may_succeed=True)
    new = _planned("ord_" + "2" * 24)  # the same cart, next window
    assert _settle(session, new, "cs_new").order_id == new.order.id
    assert stored_order(session, old.order.id).status == S.EXPIRED
    assert stored_order(session, new.order.id).status == S.PENDING


def test_first_open_generation_skips_used_keys(session):
    ids = checkout_order_ids(KEY, VISITOR, sample_cart().fingerprint(), 1)
    assert first_open_generation(session=session, order_ids=ids) == 0
    record_failed_checkout(session=session, planned=_planned(ids[0]), now=NOW, same_key_may_succeed=False)
    assert first_open_generation(session=session, order_ids=ids) == 1
    _settle(session, _planned(ids[1]), "cs_1")
    assert first_open_generation(session=session, order_ids=ids) == 1  # pending: still the one to use
    fulfill_checkout(session=session, checkout=checkout_for(stored_order(session, ids[1])))
    assert first_open_generation(session=session, order_ids=ids) == 2


def test_naive_datetimes_are_refused(session):
    with pytest.raises(StatementError, match="naive datetime"):
        _settle(session, _planned("ord_" + "1" * 24), "cs_1", now=datetime.now())


def _answer(planned, session_id, *, now=NOW):
    return Answer(planned, session_id, f"https://pay.example/{session_id}", EXPIRES, now)


def test_a_batch_writes_what_settling_each_alone_would(session):
    alone = _planned("ord_" + "1" * 24, visitor="visitor-alone")
    _settle(session, alone, "cs_alone")
    batch = [_planned(f"ord_{n:024d}", visitor=f"visitor-{n}") for n in range(3)]
    results = settle_checkouts(session=session, answers=[_answer(p, f"cs_{n}") for n, p in enumerate(batch)])

    assert results == [Settled(p.order.id, f"https://pay.example/cs_{n}") for n, p in enumerate(batch)]
    reference = stored_order(session, alone.order.id)
    for n, planned in enumerate(batch):
        stored = stored_order(session, planned.order.id, f"visitor-{n}")
        assert (stored.status, stored.stripe_session_id, stored.session_expires_at) == (
            S.PENDING,
            f"cs_{n}",
            EXPIRES,
        )
        assert (stored.amount_total, stored.lines, stored.shipping_offer) == (
            reference.amount_total,
            reference.lines,
            reference.shipping_offer,
        )


def test_a_batch_hands_the_uncommon_answers_to_the_single_path(session):
    replayed = _planned("ord_" + "1" * 24)
    _settle(session, replayed, "cs_replayed")
    paid = _planned("ord_" + "2" * 24, cart=price_cart({"mug": 3}))
    _settle(session, paid, "cs_paid")
    fulfill_checkout(session=session, checkout=checkout_for(stored_order(session, paid.order.id)))
    newer_same_cart = _planned("ord_" + "3" * 24)  # the older open session of this cart is handed back
    fresh = _planned("ord_" + "4" * 24, cart=price_cart({"mug": 4}))
    before = _snapshot(session)

    results = settle_checkouts(
        session=session,
        answers=[
            _answer(_planned(replayed.order.id), "cs_replayed"),
            _answer(_planned(paid.order.id), "cs_paid"),
            _answer(newer_same_cart, "cs_newer"),
            _answer(fresh, "cs_fresh"),
        ],
    )

    assert results == [
        Settled(replayed.order.id, "https://pay.example/cs_replayed", reused=True),
        Settled(burned=True),
        Settled(replayed.order.id, "https://pay.example/cs_replayed", reused=True),
        Settled(fresh.order.id, "https://pay.example/cs_fresh"),
    ]
    assert stored_order(session, newer_same_cart.order.id) is None
    assert {o.id for o in _snapshot(session).orders} == {o.id for o in before.orders} | {fresh.order.id}


def test_the_caps_count_the_orders_of_the_same_batch(session):
    carts = [price_cart({"notebook": n}) for n in range(1, MAX_OPEN_CHECKOUTS_PER_VISITOR + 2)]
    planned = [_planned(f"ord_{n:024d}", cart=cart) for n, cart in enumerate(carts)]
    results = settle_checkouts(
        session=session, answers=[_answer(p, f"cs_{n}") for n, p in enumerate(planned)]
    )

    assert [type(r).__name__ for r in results] == ["Settled"] * MAX_OPEN_CHECKOUTS_PER_VISITOR + [
        "CheckoutLimitReached"
    ]
    assert stored_order(session, planned[-1].order.id) is None
    assert _snapshot(session).total == MAX_OPEN_CHECKOUTS_PER_VISITOR


def test_the_same_order_twice_in_one_batch_is_written_once(session):
    """The same cart pressed twice in one instant (two tabs): one order, its lines once, both sent to the
    same session; the others of the batch settle beside it."""
    same = _planned("ord_" + "3" * 24, cart=price_cart({"mug": 2, "tote": 1}))
    other = _planned("ord_" + "4" * 24, visitor="visitor-4")
    results = settle_checkouts(
        session=session, answers=[_answer(same, "cs_3"), _answer(other, "cs_4"), _answer(same, "cs_3")]
    )

    assert [r.order_id for r in results] == [same.order.id, other.order.id, same.order.id]
    assert {r.url for r in results[::2]} == {"https://pay.example/cs_3"}
    stored = stored_order(session, same.order.id)
    assert [(line.product_id, line.quantity) for line in stored.lines] == [("mug", 2), ("tote", 1)]
    assert _snapshot(session).total == 1  # this visitor's: the one order
    assert stored_order(session, other.order.id).stripe_session_id == "cs_4"


def test_a_failed_batch_is_rolled_back_and_each_answer_settled_alone(session):
    first = _planned("ord_" + "1" * 24, visitor="visitor-1")
    second = _planned("ord_" + "2" * 24, visitor="visitor-2")
    second.order.number = first.order.number  # a taken order number fails the shared transaction
    results = settle_checkouts(session=session, answers=[_answer(first, "cs_1"), _answer(second, "cs_2")])

    assert results == [
        Settled(first.order.id, "https://pay.example/cs_1"),
        Settled(second.order.id, "https://pay.example/cs_2"),
    ]
    numbers = {stored_order(session, p.order.id).number for p in (first, second)}
    assert len(numbers) == 2  # the single path drew another number
