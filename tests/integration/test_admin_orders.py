"""The owner's services end to end: ship, refund (partial, full, double click) through the simulator and its
real webhooks, reconcile a lost refund, the order table and detail (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from rxshop.admin.actions import (
    REFUND_FAILED,
    REFUND_REFUSED,
    REFUND_UNANSWERED,
    ActionRefused,
    new_request_key,
    refund_order,
    ship_order,
)
from rxshop.admin.queries import OrderFilters, SortKey, list_orders, order_detail
from rxshop.core.db import new_session
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders import records
from rxshop.orders.reconcile import reconcile
from tests.fixtures.shop import Owner, Shop


@pytest.mark.usefixtures("webhook_shop")
async def test_only_paid_orders_ship_and_the_buyer_hears_of_it(shop: Shop, owner: Owner, heard) -> None:
    pending = await shop.purchase()
    with pytest.raises(ActionRefused, match="Only paid orders can be shipped"):
        await ship_order(
            admin=owner.admin, order_id=pending.order_id, carrier="DHL", tracking_number="1234567890"
        )

    order = await owner.paid_order()
    heard.clear()
    shipped = await ship_order(
        admin=owner.admin, order_id=order.id, carrier=" DHL ", tracking_number="12345 67890"
    )
    await asyncio.sleep(0)  # the listener runs on the loop

    assert (shipped.fulfillment_status, shipped.carrier, shipped.tracking_number) == (
        "shipped",
        "DHL",
        "1234567890",
    )
    assert shipped.shipped_at is not None and shipped.status == S.PAID
    assert heard == [(order.visitor_id, order.id)]
    with new_session(shop.engine) as session:
        [mine] = records.list_orders(session=session, visitor_id=order.visitor_id).orders
    assert (mine.fulfillment_label, mine.tracking_number) == ("Shipped", "1234567890")
    detail = owner.call(order_detail, order_id=order.id)
    kinds = [entry.kind for entry in detail.timeline]
    assert kinds[0] == "created" and "webhook" in kinds and kinds[-1] == "shipped"
    assert any(
        e.kind == "status" and e.text == "pending -> paid" and e.actor == "webhook" for e in detail.timeline
    )


@pytest.mark.usefixtures("webhook_shop")
async def test_partial_then_full_refund_with_a_double_click(shop: Shop, owner: Owner, heard) -> None:
    order = await owner.paid_order({"mug": 1})  # 18.00 + 5.00 Standard = 23.00
    assert order.amount_total == 2300
    key = new_request_key()

    def refund(amount: int, request_key: str):
        return refund_order(
            admin=owner.admin,
            order_id=order.id,
            amount=amount,
            request_key=request_key,
            gateway=shop.gateway,
        )

    first, second = await asyncio.gather(refund(1000, key), refund(1000, key))  # a double click

    assert first.stripe_refund_id == second.stripe_refund_id
    assert sorted([first.repeated, second.repeated]) == [False, True]
    assert [r["amount"] for r in shop.sim_session(order.stripe_session_id)["refunds"]] == [1000]
    charge = shop.sim_session(order.stripe_session_id)["charge"]["id"]
    shop.delivered(shop.event("charge.refunded", charge)["id"])
    assert (shop.order(order.id).status, shop.order(order.id).amount_refunded) == (S.PARTIALLY_REFUNDED, 1000)
    assert (order.visitor_id, order.id) in heard

    with pytest.raises(ActionRefused, match=r"more than what remains to refund \(\$13.00\)"):
        await refund(1301, new_request_key())
    with pytest.raises(ActionRefused, match="already used for another refund"):
        await refund(500, key)

    await refund(1300, new_request_key())
    wait = [e["id"] for e in shop.events("charge.refunded", charge)]
    assert len(wait) == 2
    shop.delivered(wait[-1])
    final = shop.order(order.id)
    assert (final.status, final.amount_refunded) == (S.REFUNDED, 2300)
    with pytest.raises(ActionRefused, match="Only paid orders can be refunded"):
        await refund(1, new_request_key())
    detail = owner.call(order_detail, order_id=order.id)
    assert [(r.amount, r.status) for r in detail.refunds] == [(1000, "succeeded"), (1300, "succeeded")]
    assert detail.refundable == 0
    assert [e.text for e in detail.timeline if e.kind == "status"][-2:] == [
        "paid -> partially_refunded",
        "partially_refunded -> refunded",
    ]


@pytest.mark.usefixtures("webhook_shop")
async def test_refund_forms_open_at_once_cannot_both_take_what_remains(shop: Shop, owner: Owner) -> None:
    """Eight refund forms (eight request keys) of one 23.00 order press Refund of 10.00 at the same moment:
    the order row is locked while each counts what remains, so two are made and six refused by the shop
    (none reaches Stripe to be refused there)."""
    order = await owner.paid_order({"mug": 1})
    results = await asyncio.gather(
        *(
            refund_order(
                admin=owner.admin,
                order_id=order.id,
                amount=1000,
                request_key=new_request_key(),
                gateway=shop.gateway,
            )
            for _ in range(8)
        ),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [str(r) for r in results if isinstance(r, BaseException)]
    assert len(made) == 2 and len(refused) == 6
    assert all("more than what remains to refund ($3.00)" in text for text in refused), refused
    assert [r["amount"] for r in shop.sim_session(order.stripe_session_id)["refunds"]] == [1000, 1000]
    detail = owner.call(order_detail, order_id=order.id)
    assert [(r.amount, r.status) for r in detail.refunds] == [(1000, "succeeded")] * 2


@pytest.mark.usefixtures("webhook_shop")
async def test_a_refund_stripe_refuses_or_fails_says_so_in_refund_words(shop: Shop, owner: Owner) -> None:
    order = await owner.paid_order({"mug": 1})  # 23.00

    def refund(amount: int, key: str):
        return refund_order(
            admin=owner.admin, order_id=order.id, amount=amount, request_key=key, gateway=shop.gateway
        )

    # Stripe does not answer (429, nothing stored under the key): the same click may be repeated.
    shop.sim.control("faults", {"kind": "429", "count": 1})
    key = new_request_key()
    with pytest.raises(ActionRefused) as unanswered:
        await refund(500, key)
    assert str(unanswered.value) == REFUND_UNANSWERED
    assert (await refund(500, key)).stripe_refund_id  # the same key, once

    # Stripe fails and stores that answer under the key: this request is over, a new form retries.
    shop.sim.control("faults", {"kind": "500-stored", "count": 1})
    with pytest.raises(ActionRefused) as failed:
        await refund(500, burned := new_request_key())
    assert str(failed.value) == REFUND_FAILED
    with pytest.raises(ActionRefused, match="Open the refund form again"):
        await refund(500, burned)
    assert (await refund(500, new_request_key())).stripe_refund_id  # its amount was freed

    # Refunded at Stripe behind the shop's back (webhooks paused): Stripe refuses what the shop thinks remains.
    shop.pause()
    shop.api.v1.refunds.create({"payment_intent": order.payment_intent_id or "", "amount": 1000})
    with pytest.raises(ActionRefused) as rejected:
        await refund(1300, new_request_key())
    assert str(rejected.value) == REFUND_REFUSED
    for text in (str(unanswered.value), str(failed.value), str(rejected.value)):
        assert "refund" in text and "checkout" not in text and "cart" not in text
    assert [r["amount"] for r in shop.sim_session(order.stripe_session_id)["refunds"]] == [500, 500, 1000]
    detail = owner.call(order_detail, order_id=order.id)
    assert [r.status for r in detail.refunds] == ["succeeded", "failed", "succeeded", "failed"]
    assert any(e.kind == "refund_failed" and e.text == REFUND_REFUSED for e in detail.timeline)


async def test_reconcile_repairs_a_lost_refund_webhook(shop: Shop, owner: Owner) -> None:
    # No webhook endpoint at all: every event is lost.
    purchase = await shop.purchase()
    shop.pay(purchase)
    await reconcile(gateway=shop.gateway, since_seconds=3600)
    assert shop.order(purchase.order_id).status == S.PAID

    done = await refund_order(
        admin=owner.admin,
        order_id=purchase.order_id,
        amount=500,
        request_key=new_request_key(),
        gateway=shop.gateway,
    )
    assert done.order.status == S.PAID  # the refund is asked for; its event is lost

    report = await reconcile(gateway=shop.gateway, since_seconds=3600)
    assert [(r.order_id, r.before, r.after) for r in report.refunds] == [
        (purchase.order_id, S.PAID, S.PARTIALLY_REFUNDED)
    ]
    assert shop.order(purchase.order_id).amount_refunded == 500
    again = await reconcile(gateway=shop.gateway, since_seconds=3600)
    assert again.refunds == () and again.repairs == ()


@pytest.mark.usefixtures("webhook_shop")
async def test_order_table_filters_search_sort_and_pages(shop: Shop, owner: Owner) -> None:
    small = await owner.paid_order({"notebook": 1})
    large = await owner.paid_order({"tote": 3})
    abandoned = await shop.purchase({"mug": 1})

    page = owner.call(list_orders)
    assert [r.id for r in page.rows] == [large.id, small.id]  # newest first; the open checkout is not listed
    assert page.rows[0].items == "3 × Canvas Tote" and page.rows[0].email == "buyer@example.com"
    by_total = owner.call(list_orders, sort=SortKey.TOTAL, descending=False)
    assert [r.id for r in by_total.rows] == [small.id, large.id]
    assert (
        owner.call(list_orders, filters=OrderFilters(statuses=(S.PENDING,))).rows[0].id == abandoned.order_id
    )
    for text in (small.number, small.number.lower().removeprefix("rx-"), small.stripe_session_id, small.id):
        assert [r.id for r in owner.call(list_orders, filters=OrderFilters(search=text)).rows] == [small.id]
    assert owner.call(list_orders, filters=OrderFilters(search="BUYER@example")).total_count == 2
    assert owner.call(list_orders, filters=OrderFilters(search="nobody%")).total_count == 0
    second = owner.call(list_orders, page=1, page_size=1)
    assert ([r.id for r in second.rows], second.page_count) == ([small.id], 2)
    assert owner.call(list_orders, page=9, page_size=1).page == 1  # past the end: the last page
    await ship_order(
        admin=owner.admin, order_id=small.id, carrier="UPS", tracking_number="1Z999AA10123456784"
    )
    unshipped = owner.call(list_orders, filters=OrderFilters(fulfillment="unfulfilled"))
    assert [r.id for r in unshipped.rows] == [large.id]
