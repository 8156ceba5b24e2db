"""start_checkout (the Buy button): the pending order, its Checkout Session, reuse, refusals, faults, load."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from rxshop.domain.cart import InvalidQuantity
from rxshop.domain.catalog import UnknownProduct
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.buy import MAX_OPEN_CHECKOUTS_PER_CLIENT, MAX_OPEN_CHECKOUTS_PER_VISITOR
from rxshop.orders.checkout import (
    CHECKOUT_WINDOW_SECONDS,
    SESSION_LIFETIME_SECONDS,
    CheckoutRefused,
    confirm_return,
    planned_expiry,
    start_checkout,
)
from rxshop.payments.gateway import CheckoutGateway, PaymentError, PaymentUnavailable
from tests.fixtures.shop import APP_URL, CART, CART_TOTAL, Shop, new_visitor, session_id_of


async def test_buy_creates_a_pending_order_and_a_session_for_it(shop: Shop) -> None:
    visitor = new_visitor()
    now = time.time()
    started = await shop.buy(visitor, {"tote": 1, "mug": 2}, now=now)

    # The order: pending, this visitor's, priced from the catalog, bound to the session.
    [order] = shop.orders()
    assert started.order_id == order.id and started.reused is False
    assert (order.visitor_id, order.status, order.currency, order.amount_total) == (
        visitor,
        S.PENDING,
        "usd",
        CART_TOTAL,
    )
    assert [(x.product_id, x.name, x.unit_amount, x.quantity) for x in shop.lines(order.id)] == [
        ("mug", "Morning Mug", 1800, 2),
        ("tote", "Canvas Tote", 2400, 1),
    ]
    session_id = session_id_of(started.url)
    assert order.stripe_session_id == session_id and order.checkout_url == started.url
    assert order.session_expires_at is not None
    assert int(order.session_expires_at.timestamp()) == planned_expiry(now)
    assert started.url == f"{shop.sim.url}/pay/{session_id}"

    # The session, as the simulator received it through the real SDK.
    view = shop.sim_session(session_id)
    stored = view["session"]
    assert (stored["status"], stored["mode"], stored["amount_total"], stored["currency"]) == (
        "open",
        "payment",
        CART_TOTAL,
        "usd",
    )
    assert stored["client_reference_id"] == order.id
    assert stored["metadata"] == {"order_id": order.id}
    assert stored["success_url"] == f"{APP_URL}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}"
    assert stored["cancel_url"] == f"{APP_URL}/checkout/cancel?order={order.id}"
    assert stored["expires_at"] == planned_expiry(now)
    assert [
        (i["description"], i["quantity"], i["price"]["unit_amount"], i["amount_total"])
        for i in view["line_items"]
    ] == [("Morning Mug", 2, 1800, 3600), ("Canvas Tote", 1, 2400, 2400)]

    # price_data lines carry the product id; the payment will carry the order id (refund events need it).
    expanded = shop.api.v1.checkout.sessions.retrieve(
        session_id, {"expand": ["line_items.data.price.product"]}
    )
    assert [item.price.product.metadata["product_id"] for item in expanded.line_items.data] == ["mug", "tote"]
    intent_id = shop.pay(session_id)["session"]["payment_intent"]
    assert shop.api.v1.payment_intents.retrieve(intent_id).metadata["order_id"] == order.id


async def test_expiry_is_31_to_41_minutes_ahead_and_the_same_within_a_window(shop: Shop) -> None:
    """Every press in one 10-minute window asks for the same expires_at, so its request is the same one."""
    before = int(time.time())
    started = await shop.buy()
    after = int(time.time())
    expires_at = shop.sim_session(session_id_of(started.url))["session"]["expires_at"]
    assert (
        before + SESSION_LIFETIME_SECONDS
        < expires_at
        <= after + SESSION_LIFETIME_SECONDS + CHECKOUT_WINDOW_SECONDS
    )
    window_start = before - before % CHECKOUT_WINDOW_SECONDS
    assert planned_expiry(window_start) == planned_expiry(window_start + CHECKOUT_WINDOW_SECONDS - 1)
    assert (
        planned_expiry(window_start + CHECKOUT_WINDOW_SECONDS)
        == planned_expiry(window_start) + CHECKOUT_WINDOW_SECONDS
    )


async def test_buy_twice_for_the_same_cart_gives_the_same_session(shop: Shop) -> None:
    visitor = new_visitor()
    now = time.time()
    first = await shop.buy(visitor, {"mug": 2, "tote": 1}, now=now)
    # Same cart, sent differently (order of keys, quantities as typed text): still the same cart.
    second = await shop.buy(visitor, {"tote": "1", "mug": " 2", "notebook": 0}, now=now + 1)

    assert second.url == first.url and second.order_id == first.order_id
    assert (first.reused, second.reused) == (False, True)
    assert len(shop.orders()) == 1
    assert [s.id for s in shop.sim_sessions()] == [session_id_of(first.url)]


async def test_in_a_later_window_the_open_session_of_the_same_cart_is_still_handed_back(shop: Shop) -> None:
    visitor = new_visitor()
    now = time.time()
    first = await shop.buy(visitor, CART, now=now)
    later = await shop.buy(visitor, CART, now=now + CHECKOUT_WINDOW_SECONDS)

    assert (later.url, later.order_id, later.reused) == (first.url, first.order_id, True)
    assert len(shop.orders()) == 1
    # The later window's key made a session of its own, which no one is ever sent to; it expires unused.
    assert session_id_of(first.url) in [s.id for s in shop.sim_sessions()]


async def test_a_different_cart_or_visitor_gets_a_new_order_and_session(shop: Shop) -> None:
    visitor = new_visitor()
    first = await shop.buy(visitor, CART)
    other_cart = await shop.buy(visitor, {"mug": 1})
    other_visitor = await shop.buy(new_visitor(), CART)

    assert len({first.url, other_cart.url, other_visitor.url}) == 3
    assert len({first.order_id, other_cart.order_id, other_visitor.order_id}) == 3
    assert not other_cart.reused and not other_visitor.reused
    assert shop.order(other_cart.order_id).amount_total == 1800
    assert len(shop.orders(stripe_session_id=None)) == 0 and len(shop.sim_sessions()) == 3


async def test_a_nearly_expired_session_is_not_reused(shop: Shop) -> None:
    visitor = new_visitor()
    now = time.time()
    first = await shop.buy(visitor, now=now)
    # Less than a minute of life left: the buyer gets a fresh order and session instead.
    nearly = planned_expiry(now) - 30
    late = await shop.buy(visitor, now=nearly)
    assert not late.reused and late.order_id != first.order_id and late.url != first.url
    # With more than a minute left a session is reused: the newest one.
    again = await shop.buy(visitor, now=nearly + 60)
    assert again.reused and (again.order_id, again.url) == (late.order_id, late.url)


async def test_after_paying_the_same_cart_starts_a_new_order(shop: Shop) -> None:
    visitor = new_visitor()
    first = await shop.buy(visitor)
    shop.pay(session_id_of(first.url))
    returned = await confirm_return(
        visitor_id=visitor, session_id=session_id_of(first.url), gateway=shop.gateway
    )
    assert returned.outcome == "fulfilled"

    again = await shop.buy(visitor)
    assert not again.reused and again.order_id != first.order_id and again.url != first.url
    assert [o.status for o in shop.orders()] == ["paid", "pending"]


class CountingGateway(CheckoutGateway):
    """The real gateway, noting which orders it asked Stripe a session for (the test watches, never answers)."""

    def __init__(self, gateway: CheckoutGateway) -> None:
        super().__init__(gateway._client)
        self.asked: list[str] = []

    async def create_session(self, **kwargs: Any) -> Any:
        self.asked.append(kwargs["order_id"])
        return await super().create_session(**kwargs)


async def test_the_same_cart_again_after_paying_asks_stripe_once_for_the_new_order(shop: Shop) -> None:
    """Back in the same window with the same cart: the paid order's key is skipped before Stripe (asking
    would only replay the paid session, one more call for every such Buy)."""
    gateway = CountingGateway(shop.gateway)
    visitor = new_visitor()
    first = await shop.buy(visitor, gateway=gateway)
    shop.pay(session_id_of(first.url))
    await confirm_return(visitor_id=visitor, session_id=session_id_of(first.url), gateway=gateway)
    assert gateway.asked == [first.order_id]

    again = await shop.buy(visitor, gateway=gateway)
    assert gateway.asked == [first.order_id, again.order_id] and again.order_id != first.order_id
    assert not again.reused and shop.sim_session(session_id_of(again.url))["session"]["status"] == "open"
    # Pressed once more: the open order's session is handed back (its key replays it; nothing new is made).
    assert (await shop.buy(visitor, gateway=gateway)).url == again.url
    assert [o.status for o in shop.orders()] == ["paid", "pending"] and len(shop.sim_sessions()) == 2


BAD_VISITORS = [
    "",
    "abc",
    "A" * 32,
    "g" * 32,
    "a" * 33,
    "a" * 31,
    None,
    12345,
    "0123456789abcdef0123456789abcde\n",
]
BAD_CARTS = [
    ({}, CheckoutRefused),
    ({"mug": 0, "tote": "0"}, CheckoutRefused),
    ({"hat": 1}, UnknownProduct),
    ({"mug": 1, "hat": 1}, UnknownProduct),
    ({"mug": -1}, InvalidQuantity),
    ({"mug": 21}, InvalidQuantity),
    ({"mug": "1e3"}, InvalidQuantity),
    ({"mug": "²"}, InvalidQuantity),
    ({"mug": True}, InvalidQuantity),
    ({"mug": 1.0}, InvalidQuantity),
    ({"mug": None}, InvalidQuantity),
    ({"mug": "9" * 1000}, InvalidQuantity),
]


async def test_a_bad_visitor_id_is_refused_and_nothing_is_written(shop: Shop) -> None:
    before = shop.snapshot()
    for visitor in BAD_VISITORS:
        with pytest.raises(CheckoutRefused) as raised:
            await start_checkout(
                visitor_id=visitor, quantities=CART, gateway=shop.gateway, settings=shop.settings
            )
        assert "reload" in str(raised.value), visitor
    assert shop.snapshot() == before and shop.sim_sessions() == []


async def test_a_bad_cart_is_refused_and_nothing_is_written(shop: Shop) -> None:
    before = shop.snapshot()
    for quantities, error in BAD_CARTS:
        with pytest.raises(error) as raised:
            await shop.buy(new_visitor(), quantities)
        assert str(raised.value) and "Traceback" not in str(raised.value), quantities
    assert shop.snapshot() == before and shop.sim_sessions() == []


@pytest.mark.parametrize("kind", ["500", "500-stored", "429", "drop", "latency"])
async def test_stripe_faults_keep_the_cart_and_a_retry_gives_one_usable_session(
    shop: Shop, kind: str
) -> None:
    # Below the injected latency (800 ms), with room for a slow answer on a loaded machine: at 0.3 s a fresh
    # CI run once saw the retry itself time out on PostgreSQL.
    gateway = shop.connect(timeout=0.6)
    visitor = new_visitor()
    cart = {"mug": 2, "tote": "1"}
    sent = dict(cart)
    shop.sim.control("faults", {"kind": kind, "count": 1, "latency_ms": 800 if kind == "latency" else 0})

    faulted_at = time.monotonic()
    with pytest.raises(PaymentError) as raised:
        await shop.buy(visitor, cart, gateway=gateway)

    assert isinstance(raised.value, PaymentUnavailable)
    message = str(raised.value)
    assert "try again" in message and "cart is kept" in message
    assert "sk_" not in message and "Traceback" not in message and "injected" not in message
    assert cart == sent  # the cart itself is untouched
    assert all(o.stripe_session_id is None and o.checkout_url is None for o in shop.orders())
    assert len(shop.orders()) == 1  # an order nobody can pay: waiting for a retry of its key, or given up

    retried = await shop.buy(visitor, cart, gateway=gateway)

    assert retried.reused is False
    attached = [o for o in shop.orders() if o.stripe_session_id is not None]
    assert [(o.id, o.checkout_url) for o in attached] == [(retried.order_id, retried.url)]
    session = shop.sim_session(session_id_of(retried.url))["session"]
    assert session["status"] == "open" and session["client_reference_id"] == retried.order_id
    # Buy again: the buyer keeps getting that one session.
    assert (await shop.buy(visitor, cart, gateway=gateway)).url == retried.url
    if kind == "latency":
        # Count only once the slow first request has run its course on the server.
        await asyncio.sleep(max(0.0, faulted_at + 0.9 - time.monotonic()))
    open_sessions = [s for s in shop.sim_sessions() if s.status == "open"]
    offered = [s for s in open_sessions if s.id == session_id_of(retried.url)]
    assert len(offered) == 1
    assert len(open_sessions) == 1  # the failed attempt left no second payable session behind


async def test_20_concurrent_buys_by_20_visitors_are_distinct_and_attached(shop: Shop) -> None:
    visitors = [new_visitor() for _ in range(20)]
    results = await asyncio.gather(*(shop.buy(v, {"notebook": i % 5 + 1}) for i, v in enumerate(visitors)))

    assert len({r.url for r in results}) == 20 and len({r.order_id for r in results}) == 20
    orders = {o.id: o for o in shop.orders()}
    assert len(orders) == 20
    for i, (visitor, result) in enumerate(zip(visitors, results, strict=True)):
        order = orders[result.order_id]
        assert order.visitor_id == visitor and order.status == S.PENDING
        assert order.stripe_session_id == session_id_of(result.url) and order.checkout_url == result.url
        assert order.amount_total == 1250 * (i % 5 + 1)
    sessions = {s.id: s for s in shop.sim_sessions()}
    assert set(sessions) == {o.stripe_session_id for o in orders.values()}
    assert all(sessions[o.stripe_session_id].client_reference_id == o.id for o in orders.values())


async def test_after_a_dropped_connection_buy_asks_again_with_the_same_order_and_key(shop: Shop) -> None:
    """Stripe may have made the session before the connection dropped: the same key and parameters make it
    hand that session back. The simulator made none here, so the retry makes it, for the same order."""
    visitor = new_visitor()
    shop.sim.control("faults", {"kind": "drop", "count": 1})
    with pytest.raises(PaymentUnavailable) as raised:
        await shop.buy(visitor, CART)
    assert raised.value.same_key_may_succeed
    [waiting] = shop.orders()
    assert waiting.status == S.PENDING and waiting.stripe_session_id is None

    retried = await shop.buy(visitor, CART)

    assert retried.order_id == waiting.id and len(shop.orders()) == 1
    assert [s.id for s in shop.sim_sessions()] == [session_id_of(retried.url)]


async def test_after_a_500_buy_gives_the_order_up_and_the_retry_makes_a_new_one(shop: Shop) -> None:
    """Stripe stores a 500 under its idempotency key and replays it: that key is never used again."""
    visitor = new_visitor()
    shop.sim.control("faults", {"kind": "500-stored", "count": 1})
    with pytest.raises(PaymentUnavailable) as raised:
        await shop.buy(visitor, CART)
    assert not raised.value.same_key_may_succeed
    [given_up] = shop.orders()
    assert given_up.status == "expired" and given_up.stripe_session_id is None

    retried = await shop.buy(visitor, CART)

    assert retried.order_id != given_up.id
    assert [s.client_reference_id for s in shop.sim_sessions()] == [retried.order_id]


async def test_an_unattached_order_is_not_retried_in_a_later_window(shop: Shop) -> None:
    """Its key carries its window's expires_at; a later window asks with a new key for a new order."""
    visitor = new_visitor()
    now = time.time()
    shop.sim.control("faults", {"kind": "drop", "count": 1})
    with pytest.raises(PaymentUnavailable):
        await shop.buy(visitor, CART, now=now)
    [waiting] = shop.orders()

    later = await shop.buy(visitor, CART, now=now + CHECKOUT_WINDOW_SECONDS)

    assert later.order_id != waiting.id and later.reused is False
    assert shop.order(waiting.id).status == S.EXPIRED


async def test_five_tabs_of_one_visitor_pressing_buy_at_once_share_one_order_and_one_session(
    shop: Shop,
) -> None:
    visitor = new_visitor()
    results = await asyncio.gather(*(shop.buy(visitor, CART) for _ in range(5)), return_exceptions=True)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len({r.order_id for r in results}) == 1 and len({r.url for r in results}) == 1
    [order] = shop.orders()
    assert order.stripe_session_id == session_id_of(results[0].url)
    assert [s.id for s in shop.sim_sessions()] == [order.stripe_session_id]


async def test_open_checkouts_are_capped_per_visitor_with_a_clear_message(shop: Shop):
    """Five different carts open at once is plenty for a buyer; a script pressing Buy is stopped there."""
    visitor = new_visitor()
    opened = [await shop.buy(visitor, {"mug": n}) for n in range(1, MAX_OPEN_CHECKOUTS_PER_VISITOR + 1)]
    assert len({o.order_id for o in opened}) == MAX_OPEN_CHECKOUTS_PER_VISITOR
    before = shop.snapshot()

    with pytest.raises(CheckoutRefused, match="several checkouts open"):
        await shop.buy(visitor, {"tote": 1})

    assert shop.snapshot() == before  # no order: the session Stripe made is shown to no one
    again = await shop.buy(visitor, {"mug": 1})  # an open one is still handed back
    assert again.reused and again.order_id == opened[0].order_id
    assert (await shop.buy(new_visitor(), {"tote": 1})).order_id  # other visitors are not affected


async def test_open_checkouts_are_capped_per_client_address(shop: Shop):
    for _ in range(MAX_OPEN_CHECKOUTS_PER_CLIENT):
        await shop.buy(new_visitor(), client_ip="203.0.113.9")
    with pytest.raises(CheckoutRefused, match="several checkouts open"):
        await shop.buy(new_visitor(), client_ip="203.0.113.9")
    assert (await shop.buy(new_visitor(), client_ip="203.0.113.10")).order_id
    [order] = shop.orders(client_ip="203.0.113.10")
    assert order.livemode is False and order.client_ip == "203.0.113.10"
