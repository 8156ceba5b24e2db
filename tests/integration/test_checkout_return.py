"""confirm_return (the return page): verified with Stripe, fulfilled once, nothing written for anything else."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.checkout import confirm_return
from rxshop.payments.gateway import PaymentUnavailable
from tests.fixtures.shop import (
    CART_TOTAL,
    DECLINED_CARD,
    DELAYED_CARD,
    Shop,
    new_visitor,
    session_id_of,
    success_session_id,
    wait_until,
)


async def _bought(shop: Shop, visitor: str | None = None):
    visitor = visitor or new_visitor()
    started = await shop.buy(visitor)
    return visitor, started, session_id_of(started.url)


async def _confirm(shop: Shop, visitor: str, session_id: str):
    return await confirm_return(visitor_id=visitor, session_id=session_id, gateway=shop.gateway)


async def test_paid_on_the_hosted_page_then_confirmed_is_fulfilled_once(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)

    response = await shop.pay_hosted(started.url)
    assert success_session_id(response) == session_id  # {CHECKOUT_SESSION_ID} filled in by "Stripe"

    result = await _confirm(shop, visitor, session_id)
    assert result.outcome == "fulfilled"
    assert result.order is not None and result.order.id == started.order_id and result.order.status == S.PAID
    order = shop.order(started.order_id)
    assert order.status == S.PAID and order.paid_at is not None
    assert order.payment_intent_id == shop.sim_session(session_id)["payment_intent"]["id"]
    assert order.customer_email == "buyer@example.com"
    assert order.amount_total == CART_TOTAL

    paid_row = shop.snapshot()
    again = await _confirm(shop, visitor, session_id)
    assert again.outcome == "already_paid" and again.order is not None and again.order.status == S.PAID
    assert shop.snapshot() == paid_row  # a refresh of the return page writes nothing
    assert [o.status for o in shop.orders()] == [S.PAID]


async def test_paid_through_the_control_api_then_confirmed(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)
    assert (await _confirm(shop, visitor, session_id)).outcome == "fulfilled"
    assert shop.order(started.order_id).status == S.PAID


async def test_unpaid_open_session_is_not_paid_and_writes_nothing(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    before = shop.snapshot()

    result = await _confirm(shop, visitor, session_id)

    assert result.outcome == "not_paid" and result.order is not None and result.order.status == S.PENDING
    assert shop.snapshot() == before


async def test_expired_sessions_expire_their_orders(shop: Shop) -> None:
    bought = {how: await _bought(shop) for how in ("control", "api", "clock")}
    shop.sim.control(f"sessions/{bought['control'][2]}/expire", {})
    await shop.gateway.expire_session(bought["api"][2])
    # The last one runs out of time (sessions live 31 to 41 minutes: checkout.planned_expiry).
    shop.sim.control("clock/advance", {"seconds": 41 * 60 + 1})

    for how, (visitor, started, session_id) in bought.items():
        assert shop.sim_session(session_id)["session"]["status"] == "expired", how
        result = await _confirm(shop, visitor, session_id)
        assert result.outcome == "expired", how
        assert shop.order(started.order_id).status == S.EXPIRED
        assert (await _confirm(shop, visitor, session_id)).outcome == "expired"


async def test_unknown_and_malformed_ids_are_not_found_and_write_nothing(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)
    before = shop.snapshot()

    unknown = "cs_test_" + secrets.token_hex(29)
    assert (await _confirm(shop, visitor, unknown)).outcome == "not_found"

    # Malformed ids and visitors never reach Stripe: a queued fault stays unused.
    shop.sim.control("faults", {"kind": "500", "count": 1})
    malformed = [
        "",
        "cs_test_",
        "cs_test_short",
        "cs_live",
        session_id + "/../x",
        session_id + "?expand[]=x",
        "../../v1/refunds",
        " " + session_id,
        session_id.upper(),
        "pi_" + "a" * 24,
    ]
    for bad in malformed:
        assert (await _confirm(shop, visitor, bad)).outcome == "not_found", bad
    for bad_visitor in ("", "x" * 32, visitor.upper(), visitor + "0"):
        assert (await _confirm(shop, bad_visitor, session_id)).outcome == "not_found", bad_visitor
    assert shop.sim.control("faults")["faults"] == [{"kind": "500", "remaining": 1, "latency_ms": 0}]
    shop.sim.control("faults", method="DELETE")

    assert shop.snapshot() == before and shop.order(started.order_id).status == S.PENDING


async def test_another_visitors_session_is_not_found_and_writes_nothing(shop: Shop) -> None:
    owner, started, session_id = await _bought(shop)
    shop.pay(session_id)
    before = shop.snapshot()

    result = await _confirm(shop, new_visitor(), session_id)

    assert result.outcome == "not_found" and result.order is None
    assert shop.snapshot() == before
    assert (await _confirm(shop, owner, session_id)).outcome == "fulfilled"


async def test_a_session_of_another_shop_is_not_found(shop: Shop) -> None:
    """A real session whose order id is not ours (another app on the same Stripe account)."""
    foreign = shop.api.v1.checkout.sessions.create(shop.sim.session_params())
    shop.pay(foreign.id)
    before = shop.snapshot()
    assert (await _confirm(shop, new_visitor(), foreign.id)).outcome == "not_found"
    assert shop.snapshot() == before


async def test_declined_cards_keep_the_session_open_and_not_paid(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    before = shop.snapshot()

    for card in (DECLINED_CARD, "4000 0000 0000 9995"):
        response = await shop.pay_hosted(started.url, card=card)
        assert response.status_code == 402
        assert (await _confirm(shop, visitor, session_id)).outcome == "not_paid"
    assert shop.sim_session(session_id)["session"]["status"] == "open"
    assert shop.snapshot() == before

    # The buyer tries another card on the same page: now it is paid.
    assert success_session_id(await shop.pay_hosted(started.url)) == session_id
    assert (await _confirm(shop, visitor, session_id)).outcome == "fulfilled"


async def test_delayed_payment_is_processing_until_it_settles(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    assert success_session_id(await shop.pay_hosted(started.url, card=DELAYED_CARD)) == session_id

    first = await _confirm(shop, visitor, session_id)
    assert first.outcome == "processing"
    assert (
        shop.order(started.order_id).status == S.PROCESSING and shop.order(started.order_id).paid_at is None
    )
    assert (await _confirm(shop, visitor, session_id)).outcome == "processing"

    shop.sim.control(f"sessions/{session_id}/settle", {"outcome": "succeeded"})
    settled = await _confirm(shop, visitor, session_id)

    assert settled.outcome == "fulfilled"
    order = shop.order(started.order_id)
    assert order.status == S.PAID and order.paid_at is not None
    assert (await _confirm(shop, visitor, session_id)).outcome == "already_paid"


async def test_amount_mismatch_is_not_paid(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)
    assert (
        shop.execute(
            "UPDATE orders SET amount_total = 100, amount_subtotal = 100 WHERE id = :id", id=started.order_id
        )
        == 1
    )
    before = shop.snapshot()

    result = await _confirm(shop, visitor, session_id)

    assert result.outcome == "mismatch"
    assert shop.order(started.order_id).status == S.PENDING
    assert shop.snapshot() == before


async def test_line_mismatch_is_not_paid(shop: Shop) -> None:
    """Same total, other lines: the order is checked line by line, not only by amount."""
    visitor, started, session_id = await _bought(shop)  # 2 mugs + 1 tote = 60.00
    shop.pay(session_id)
    shop.execute(
        "UPDATE order_lines SET quantity = 1 WHERE order_id = :id AND product_id = 'mug'", id=started.order_id
    )
    shop.execute(
        "UPDATE order_lines SET quantity = 2, unit_amount = 1200 WHERE order_id = :id "
        "AND product_id = 'tote'",
        id=started.order_id,
    )  # lines now say 1 mug + 2 totes at 12.00
    shop.execute("UPDATE orders SET amount_total = 6000 WHERE id = :id", id=started.order_id)
    assert (await _confirm(shop, visitor, session_id)).outcome == "mismatch"
    assert shop.order(started.order_id).status == S.PENDING


async def test_stripe_down_on_return_raises_a_readable_error_and_writes_nothing(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)
    before = shop.snapshot()
    shop.sim.control("faults", {"kind": "500", "count": 1})

    with pytest.raises(PaymentUnavailable) as raised:
        await _confirm(shop, visitor, session_id)

    assert "try again" in str(raised.value) and "sk_" not in str(raised.value)
    assert shop.snapshot() == before
    assert (await _confirm(shop, visitor, session_id)).outcome == "fulfilled"


async def test_50_concurrent_confirmations_fulfill_exactly_once(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)

    results = await asyncio.gather(*(_confirm(shop, visitor, session_id) for _ in range(50)))

    outcomes = sorted(r.outcome for r in results)
    assert outcomes.count("fulfilled") == 1 and outcomes.count("already_paid") == 49, outcomes
    assert [(o.id, o.status) for o in shop.orders()] == [(started.order_id, S.PAID)]


@pytest.mark.usefixtures("webhook_shop")
async def test_return_page_racing_the_webhook_pays_once(shop: Shop) -> None:
    for _ in range(3):
        visitor, started, session_id = await _bought(shop)
        # Hold the completion event, then release it while five return-page loads verify the payment.
        shop.sim.control("webhooks/pause", {})
        shop.pay(session_id)
        _, *returns = await asyncio.gather(
            asyncio.to_thread(shop.sim.control, "webhooks/resume", {}),
            *(_confirm(shop, visitor, session_id) for _ in range(5)),
        )
        [event] = wait_until(
            lambda sid=session_id: [
                e
                for e in shop.sim.events("checkout.session.completed")
                if e["object_id"] == sid and e["delivery"]["status"] == "delivered"
            ]
        )

        [recorded] = [e for e in shop.event_rows().values() if e.id == event["id"]]
        assert (recorded.type, recorded.session_id, recorded.order_id) == (
            "checkout.session.completed",
            session_id,
            started.order_id,
        )
        outcomes = [r.outcome for r in returns] + [recorded.outcome]
        assert outcomes.count("fulfilled") == 1 and outcomes.count("already_paid") == 5, outcomes
        assert shop.order(started.order_id).status == S.PAID

        # A repeated delivery of that event is a duplicate and changes nothing.
        before = shop.snapshot()
        [attempt] = shop.sim.control("events/deliver", {"ids": [event["id"]]})["attempts"]
        assert attempt["status_code"] == 200
        assert shop.snapshot() == before
    assert [o.status for o in shop.orders()] == [S.PAID] * 3


@pytest.mark.usefixtures("webhook_shop")
async def test_webhook_first_then_return_page_is_already_paid(shop: Shop) -> None:
    visitor, started, session_id = await _bought(shop)
    shop.pay(session_id)
    wait_until(lambda: shop.order(started.order_id).status == S.PAID)

    result = await _confirm(shop, visitor, session_id)

    assert result.outcome == "already_paid" and result.order is not None and result.order.status == S.PAID
    [recorded] = shop.event_rows().values()
    assert recorded.outcome == "fulfilled"


class StripeRequests:
    """How many /v1 requests the simulator answered since it was made: each uses up one step of a queued
    zero-latency fault (its `remaining` is the simulator's own count, nothing in the app is touched)."""

    QUEUED = 100_000

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        shop.sim.control("faults", {"kind": "latency", "count": self.QUEUED, "latency_ms": 0})

    @property
    def count(self) -> int:
        faults = self.shop.sim.control("faults")["faults"]
        return self.QUEUED - (faults[0]["remaining"] if faults else 0)


async def test_only_this_visitors_own_unsettled_sessions_reach_stripe(shop: Shop) -> None:
    """The return page asks the database first: made-up ids, other visitors' sessions and settled orders cost
    Stripe nothing (200 made-up ids once made 200 Stripe requests)."""
    visitor, started, session_id = await _bought(shop)
    other, _other_started, other_session = await _bought(shop)
    shop.pay(session_id)
    requests = StripeRequests(shop)
    try:
        before = shop.snapshot()
        made_up = ["cs_test_" + secrets.token_hex(29) for _ in range(200)]
        results = await asyncio.gather(*(_confirm(shop, visitor, s) for s in made_up))
        assert {r.outcome for r in results} == {"not_found"}
        assert (await _confirm(shop, visitor, other_session)).outcome == "not_found"
        assert (await _confirm(shop, other, session_id)).outcome == "not_found"
        assert requests.count == 0 and shop.snapshot() == before

        assert (await _confirm(shop, visitor, session_id)).outcome == "fulfilled"
        assert requests.count == 1  # its own, still pending: Stripe is asked
        paid = shop.snapshot()
        for _ in range(20):  # refreshes of a paid order's return page: answered from the database
            again = await _confirm(shop, visitor, session_id)
            assert again.outcome == "already_paid" and again.order is not None
            assert again.order.id == started.order_id and again.order.status == S.PAID
        assert requests.count == 1 and shop.snapshot() == paid
    finally:
        shop.sim.control("faults", method="DELETE")
