"""Shipping, phone and promotion codes through Checkout: asked for, paid on the simulator, checked, stored.

Real SDK → simulator → signed webhooks → the shop's endpoint → the database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re

import pytest

from rxshop.admin.reports import exceptions
from rxshop.domain.cart import price_cart
from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.domain.shipping import rates_for
from rxshop.orders import checkout
from rxshop.orders.history import InboxKind
from tests.fixtures.shop import Owner, Shop

COMPLETED = "checkout.session.completed"
ADDRESS = {
    "name": "Grace Hopper",
    "address": {
        "line1": "12 Rue de Rivoli",
        "line2": "Apt 3",
        "city": "Paris",
        "postal_code": "75001",
        "country": "FR",
    },
}


def test_rates_beside_the_catalog_standard_is_free_from_50_dollars() -> None:
    assert [(o.rate_id, o.amount) for o in rates_for(price_cart({"mug": 1}))] == [
        ("standard", 500),
        ("express", 1500),
    ]
    assert [(o.rate_id, o.amount) for o in rates_for(price_cart({"mug": 2, "tote": 1}))] == [
        ("standard", 0),
        ("express", 1500),
    ]
    assert rates_for(4999)[0].amount == 500 and rates_for(5000)[0].amount == 0


async def test_checkout_asks_for_address_phone_rates_and_codes(shop: Shop) -> None:
    shop.configure(SHIPPING_COUNTRIES="US,fr")
    purchase = await shop.purchase({"mug": 1})
    session = shop.sim_session(purchase.session_id)["session"]
    assert session["shipping_address_collection"] == {"allowed_countries": ["US", "FR"]}
    assert [o["shipping_amount"] for o in session["shipping_options"]] == [500, 1500]
    assert session["phone_number_collection"]["enabled"] is True
    assert session["allow_promotion_codes"] is True
    assert (session["amount_subtotal"], session["amount_total"]) == (1800, 2300)  # Standard until chosen
    order = shop.order(purchase.order_id)
    assert re.fullmatch(r"RX-[A-HJKMNP-Z2-9]{6}", order.number)
    assert (order.amount_subtotal, order.amount_total) == (1800, 1800)


async def test_express_rate_address_phone_and_promotion_code_are_paid_and_stored(webhook_shop: Shop) -> None:
    shop = webhook_shop
    coupon = shop.api.v1.coupons.create({"percent_off": 10})
    shop.api.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": coupon.id}, "code": "TENOFF"}
    )
    purchase = await shop.purchase({"mug": 1, "notebook": 2})  # 18.00 + 25.00 = 43.00
    express = shop.sim_session(purchase.session_id)["session"]["shipping_options"][1]["shipping_rate"]

    paid = shop.control(
        f"sessions/{purchase.session_id}/pay",
        {
            "shipping": ADDRESS,
            "phone": "+33 1 23 45 67 89",
            "promotion_code": "TENOFF",
            "shipping_rate": express,
        },
    )
    assert paid["outcome"] == "paid"
    shop.delivered(shop.event(COMPLETED, purchase.session_id)["id"])

    order = shop.order(purchase.order_id)
    assert order.status == OrderStatus.PAID
    assert (order.amount_subtotal, order.amount_discount, order.amount_shipping) == (4300, 430, 1500)
    assert order.amount_total == 4300 - 430 + 1500 == paid["session"]["amount_total"]
    assert (order.shipping_rate_id, order.shipping_rate_name) == ("express", "Express")
    assert order.phone == "+33 1 23 45 67 89"
    assert order.shipping is not None
    # The one formatter (the owner's pages once printed the country code here): the country by name.
    assert order.shipping.lines == ("Grace Hopper", "12 Rue de Rivoli", "Apt 3", "75001 Paris", "France")
    assert order.fulfillment_status == "unfulfilled"

    returned = await checkout.confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )
    assert returned.outcome == Outcome.ALREADY_PAID and returned.order == order


async def test_a_shipping_amount_other_than_the_orders_offer_is_an_exception_and_not_paid(
    webhook_shop: Shop, owner: Owner
) -> None:
    shop = webhook_shop
    purchase = await shop.purchase({"mug": 1})
    # The offer stored with the order says Standard costs 4.00; Stripe is charging 5.00 for it.
    shop.execute(
        "UPDATE orders SET shipping_offer = 'standard:400:Standard,express:1500:Express' WHERE id = :id",
        id=purchase.order_id,
    )
    shop.pay(purchase)
    event_id = shop.event(COMPLETED, purchase.session_id)["id"]
    shop.delivered(event_id)

    assert shop.order(purchase.order_id).status == OrderStatus.PENDING
    assert shop.event_rows()[event_id].outcome == Outcome.MISMATCH
    [item] = owner.call(exceptions)
    assert (item.kind, item.reference, item.order_id, item.amount) == (
        InboxKind.MISMATCH,
        purchase.session_id,
        purchase.order_id,
        2300,
    )
    assert "shipping options [500, 1500]" in item.detail
    shop.deliver(event_id)  # Stripe repeats it: still one item
    assert len(owner.call(exceptions)) == 1


@pytest.mark.usefixtures("webhook_shop")
async def test_money_for_a_session_without_an_order_is_an_exception(shop: Shop, owner: Owner) -> None:
    stray = shop.api.v1.checkout.sessions.create(shop.sim.session_params(client_reference_id="ord_nothere"))
    shop.pay(stray.id)
    shop.delivered(shop.event(COMPLETED, stray.id)["id"])
    [item] = owner.call(exceptions)
    assert (item.kind, item.session_id, item.amount, item.currency) == (
        InboxKind.UNKNOWN_SESSION,
        stray.id,
        2900,
        "usd",
    )
