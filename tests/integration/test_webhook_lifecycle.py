"""An order's life driven by the simulator's real signed webhooks: paid, processing, failed, expired, refunded.

Orders come from `checkout.start_checkout` through the real SDK; the simulator's hosted-page payment,
delayed settlement, clock, expiry and refunds make the events; its control API holds deliveries and sends
them in a chosen order. Every assertion reads the database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rxshop.core.db import new_session
from rxshop.domain import lifecycle
from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.orders import checkout, records
from tests.fixtures.shop import CART_TOTAL, DELAYED_CARD, Shop

DOC = Path(__file__).resolve().parents[2] / "docs" / "order-lifecycle.md"
COMPLETED = "checkout.session.completed"


def rows_for(shop: Shop, order_id: str) -> dict[str, str]:
    """{event type: outcome} of the recorded events about one order."""
    return {row.type: row.outcome for row in shop.event_rows().values() if row.order_id == order_id}


def charge_id(shop: Shop, session_id: str) -> str:
    return shop.sim_session(session_id)["charge"]["id"]


# --- Paying, with and without the return page ----------------------------------------------------------------


async def test_buyer_who_never_returns_is_paid_by_the_webhook_alone(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    paid = shop.pay(purchase)  # and closes the tab: confirm_return never runs
    assert paid["outcome"] == "paid"

    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])

    order = shop.order(purchase.order_id)
    intent = shop.sim_session(purchase.session_id)["payment_intent"]
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    assert (order.amount_total, order.amount_refunded) == (CART_TOTAL, 0)
    assert order.payment_intent_id == intent["id"]
    assert order.customer_email == "buyer@example.com"
    assert rows_for(shop, purchase.order_id) == {COMPLETED: Outcome.FULFILLED}
    with new_session(shop.engine) as session:
        listed = records.list_orders(session=session, visitor_id=purchase.visitor_id)
    assert [(o.id, o.status) for o in listed.orders] == [(purchase.order_id, OrderStatus.PAID)]


async def test_webhook_first_then_the_return_page_makes_one_paid_order(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    shop.pay(purchase)
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])
    by_webhook = shop.order(purchase.order_id)

    returned = await checkout.confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )

    assert returned.outcome == Outcome.ALREADY_PAID
    assert returned.order is not None and returned.order.id == purchase.order_id
    assert shop.order(purchase.order_id) == by_webhook  # not even updated_at moved
    assert shop.order_count() == 1


async def test_return_page_first_then_the_webhook_makes_one_paid_order(webhook_shop: Shop) -> None:
    shop = webhook_shop
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)

    returned = await checkout.confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )
    assert returned.outcome == Outcome.FULFILLED
    by_return = shop.order(purchase.order_id)
    assert by_return.status == OrderStatus.PAID

    [attempt] = shop.deliver(shop.event(COMPLETED, purchase.session_id)["id"])

    assert attempt["status_code"] == 200
    assert rows_for(shop, purchase.order_id) == {COMPLETED: Outcome.ALREADY_PAID}
    assert shop.order(purchase.order_id) == by_return
    assert shop.order_count() == 1


async def test_return_page_and_webhook_at_the_same_moment_fulfill_once(webhook_shop: Shop) -> None:
    shop = webhook_shop
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)
    event_id = shop.event(COMPLETED, purchase.session_id)["id"]

    returned, [attempt] = await asyncio.gather(
        checkout.confirm_return(
            visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
        ),
        asyncio.to_thread(shop.deliver, event_id),
    )

    assert attempt["status_code"] == 200
    outcomes = sorted([returned.outcome, shop.event_rows()[event_id].outcome])
    assert outcomes == sorted([Outcome.ALREADY_PAID, Outcome.FULFILLED])
    assert shop.order(purchase.order_id).status == OrderStatus.PAID


# --- Delayed payment methods ---------------------------------------------------------------------------------


async def test_delayed_payment_is_processing_then_paid_when_it_settles(webhook_shop: Shop) -> None:
    shop = webhook_shop
    shop.control("config", {"async_settle_seconds": 600})
    purchase = await shop.purchase()
    assert shop.pay(purchase, DELAYED_CARD)["outcome"] == "processing"
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])

    processing = shop.order(purchase.order_id)
    assert processing.status == OrderStatus.PROCESSING and processing.paid_at is None
    returned = await checkout.confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )
    assert returned.outcome == OrderStatus.PROCESSING  # the return page says "processing", and writes nothing

    shop.control("clock/advance", {"seconds": 601})  # the bank confirms: the simulator settles by itself
    shop.delivered(shop.event("checkout.session.async_payment_succeeded", purchase.session_id)["id"])

    paid = shop.order(purchase.order_id)
    assert paid.status == OrderStatus.PAID and paid.paid_at is not None
    assert paid.payment_intent_id == processing.payment_intent_id is not None
    assert rows_for(shop, purchase.order_id) == {
        COMPLETED: OrderStatus.PROCESSING,
        "checkout.session.async_payment_succeeded": Outcome.FULFILLED,
    }


async def test_delayed_payment_that_fails_ends_failed(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    shop.pay(purchase, DELAYED_CARD)
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])
    assert shop.order(purchase.order_id).status == OrderStatus.PROCESSING

    shop.control(f"sessions/{purchase.session_id}/settle", {"outcome": "failed"})
    shop.delivered(shop.event("checkout.session.async_payment_failed", purchase.session_id)["id"])

    failed = shop.order(purchase.order_id)
    assert failed.status == OrderStatus.FAILED and failed.paid_at is None
    assert rows_for(shop, purchase.order_id)["checkout.session.async_payment_failed"] == OrderStatus.FAILED


# --- Out of order: deliveries held, then sent in the order chosen ---------------------------------------------


async def test_settlement_before_completion_and_the_late_completion_changes_nothing(
    webhook_shop: Shop,
) -> None:
    shop = webhook_shop
    shop.pause()
    paid, failed = await shop.purchase(), await shop.purchase()
    for purchase, outcome in ((paid, "succeeded"), (failed, "failed")):
        shop.pay(purchase, DELAYED_CARD)
        shop.control(f"sessions/{purchase.session_id}/settle", {"outcome": outcome})
        settled = shop.event(f"checkout.session.async_payment_{outcome}", purchase.session_id)
        completed = shop.event(COMPLETED, purchase.session_id)

        attempts = shop.deliver(settled["id"], completed["id"])  # newest first

        assert [a["status_code"] for a in attempts] == [200, 200]
    assert shop.order(paid.order_id).status == OrderStatus.PAID
    assert shop.order(failed.order_id).status == OrderStatus.FAILED
    assert rows_for(shop, paid.order_id) == {
        "checkout.session.async_payment_succeeded": Outcome.FULFILLED,
        COMPLETED: Outcome.ALREADY_PAID,
    }
    assert rows_for(shop, failed.order_id) == {
        "checkout.session.async_payment_failed": OrderStatus.FAILED,
        COMPLETED: OrderStatus.FAILED,
    }


async def test_expired_after_paid_changes_nothing(webhook_shop: Shop) -> None:
    """Stripe never expires a completed session (the simulator refuses to), so the late `expired` event is
    built from the real completed one and signed here with the endpoint's secret."""
    shop = webhook_shop
    purchase = await shop.purchase()
    shop.pay(purchase)
    completed = shop.event(COMPLETED, purchase.session_id)
    shop.delivered(completed["id"])
    paid = shop.order(purchase.order_id)
    refused = shop.http.post(f"{shop.sim.url}/_sim/sessions/{purchase.session_id}/expire", json={})
    assert refused.status_code == 409
    event = shop.payload(completed["id"])
    event["id"] = "evt_" + secrets.token_hex(12)
    event["type"] = "checkout.session.expired"
    event["data"]["object"].update(status="expired", payment_status="unpaid", url=None)
    body = json.dumps(event)

    response = shop.post(body, shop.sign(body))

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.ALREADY_PAID
    assert shop.order(purchase.order_id) == paid
    # Our own expiry sweep, however late, leaves a paid order alone too.
    with new_session(shop.engine) as session:
        swept = records.expire_stale_orders(session=session, now=datetime.now(UTC) + timedelta(days=2))
    assert swept == [] and shop.order(purchase.order_id) == paid


async def test_completion_after_our_own_expiry_still_pays(webhook_shop: Shop) -> None:
    """Stripe retries for days: a completion may land after our clock expired the order. Money wins."""
    shop = webhook_shop
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)
    expires_at = shop.order(purchase.order_id).session_expires_at
    assert expires_at is not None
    with new_session(shop.engine) as session:
        swept = records.expire_stale_orders(session=session, now=expires_at + timedelta(seconds=1))
    assert [o.id for o in swept] == [purchase.order_id]

    shop.deliver(shop.event(COMPLETED, purchase.session_id)["id"])

    assert shop.order(purchase.order_id).status == OrderStatus.PAID
    assert rows_for(shop, purchase.order_id) == {COMPLETED: Outcome.FULFILLED}


async def test_refund_delivered_before_the_completion_is_not_lost(webhook_shop: Shop) -> None:
    shop = webhook_shop
    shop.pause()
    partial, full = await shop.purchase(), await shop.purchase()
    for purchase, amount in ((partial, 1500), (full, None)):
        shop.pay(purchase)
        intent = shop.sim_session(purchase.session_id)["payment_intent"]["id"]
        await shop.gateway.refund(
            payment_intent=intent, amount=amount, idempotency_key=f"r-{purchase.order_id}"
        )
        refunded = shop.event("charge.refunded", charge_id(shop, purchase.session_id))
        completed = shop.event(COMPLETED, purchase.session_id)

        [attempt] = shop.deliver(refunded["id"])
        assert attempt["status_code"] == 200
        early = shop.order(purchase.order_id)
        assert (early.status, early.amount_refunded) == (OrderStatus.PENDING, amount or CART_TOTAL)
        assert early.payment_intent_id == intent
        assert shop.event_rows()[refunded["id"]].outcome == Outcome.REFUND_RECORDED

        shop.deliver(completed["id"])

    first, second = shop.order(partial.order_id), shop.order(full.order_id)
    assert (first.status, first.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 1500)
    assert (second.status, second.amount_refunded) == (OrderStatus.REFUNDED, CART_TOTAL)
    assert first.paid_at is not None and second.paid_at is not None


# --- Expiry ----------------------------------------------------------------------------------------------------


async def test_session_expiry_by_the_simulated_clock_expires_the_order(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    expires_at = shop.order(purchase.order_id).session_expires_at
    assert expires_at is not None
    shop.control("clock/advance", {"seconds": expires_at.timestamp() - time.time() + 1})

    shop.delivered(shop.event("checkout.session.expired", purchase.session_id)["id"])

    assert shop.order(purchase.order_id).status == OrderStatus.EXPIRED
    assert rows_for(shop, purchase.order_id) == {"checkout.session.expired": OrderStatus.EXPIRED}
    returned = await checkout.confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )
    assert returned.outcome == OrderStatus.EXPIRED


async def test_session_expired_through_the_api_expires_the_order(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()

    expired = await shop.gateway.expire_session(purchase.session_id)
    shop.delivered(shop.event("checkout.session.expired", purchase.session_id)["id"])

    assert expired.status == "expired"
    order = shop.order(purchase.order_id)
    assert order.status == OrderStatus.EXPIRED and order.paid_at is None and order.payment_intent_id is None


# --- Refunds -----------------------------------------------------------------------------------------------------


async def test_partial_then_full_refund_through_the_sdk(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    shop.pay(purchase)
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])
    intent = shop.order(purchase.order_id).payment_intent_id
    assert intent is not None
    client = shop.sim.client()

    client.v1.refunds.create({"payment_intent": intent, "amount": 1000})  # POST /v1/refunds
    [first] = shop.events("charge.refunded", charge_id(shop, purchase.session_id))
    shop.delivered(first["id"])
    partial = shop.order(purchase.order_id)
    assert (partial.status, partial.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 1000)

    client.v1.refunds.create({"payment_intent": intent})  # the rest
    second = next(
        e
        for e in shop.events("charge.refunded", charge_id(shop, purchase.session_id))
        if e["id"] != first["id"]
    )
    shop.delivered(second["id"])

    refunded = shop.order(purchase.order_id)
    assert (refunded.status, refunded.amount_refunded) == (OrderStatus.REFUNDED, CART_TOTAL)
    assert shop.sim_session(purchase.session_id)["charge"]["amount_refunded"] == CART_TOTAL
    assert refunded.paid_at == partial.paid_at
    outcomes = {shop.event_rows()[e["id"]].outcome for e in (first, second)}
    assert outcomes == {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}


async def test_refund_events_out_of_order_keep_the_largest_amount(webhook_shop: Shop) -> None:
    shop = webhook_shop
    purchase = await shop.purchase()
    shop.pay(purchase)
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])
    intent = shop.order(purchase.order_id).payment_intent_id
    shop.pause()
    await shop.gateway.refund(payment_intent=intent, amount=1000, idempotency_key="refund-1")
    await shop.gateway.refund(payment_intent=intent, amount=2000, idempotency_key="refund-2")
    events = shop.events("charge.refunded", charge_id(shop, purchase.session_id))
    by_amount = {shop.payload(e["id"])["data"]["object"]["amount_refunded"]: e["id"] for e in events}
    assert sorted(by_amount) == [1000, 3000]

    [newest] = shop.deliver(by_amount[3000])
    after_newest = shop.order(purchase.order_id)
    [older] = shop.deliver(by_amount[1000])  # late and smaller: nothing to change, not even updated_at

    assert newest["status_code"] == older["status_code"] == 200
    assert (after_newest.status, after_newest.amount_refunded) == (OrderStatus.PARTIALLY_REFUNDED, 3000)
    assert shop.order(purchase.order_id) == after_newest


# --- The written lifecycle ---------------------------------------------------------------------------------------


def test_lifecycle_doc_carries_the_generated_transition_table() -> None:
    assert lifecycle.transition_table_markdown() in DOC.read_text(encoding="utf-8")
