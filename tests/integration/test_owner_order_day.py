"""The owner's order work through the real SDK against the simulator and its real webhooks: refunds with a
reason, shipping with checked tracking and "Edit tracking", notes, and promotion codes made, used by a buyer,
counted and turned off from the Discounts service (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from rxshop.admin.actions import ActionRefused, new_request_key, refund_order, ship_order
from rxshop.admin.discounts import (
    create_discount,
    deactivate_discount,
    list_discounts,
    parse_discount,
)
from rxshop.admin.order_edits import change_tracking, note_order
from rxshop.admin.queries import order_detail
from rxshop.core.db import new_session
from rxshop.core.models import Order, RefundRequest
from rxshop.domain.lifecycle import OrderStatus as S
from tests.fixtures.shop import Owner, Shop

UPS = "1Z999AA10123456784"


def _plain(owner: Owner, order_id: str) -> list[str]:
    return [line.text for line in owner.call(order_detail, order_id=order_id).plain_timeline]


def _refund(owner: Owner, shop: Shop, order_id: str, amount: int, **kw):
    return refund_order(
        admin=owner.admin,
        order_id=order_id,
        amount=amount,
        request_key=new_request_key(),
        gateway=shop.gateway,
        **kw,
    )


@pytest.mark.usefixtures("webhook_shop")
async def test_a_refund_carries_its_reason_to_stripe_the_request_and_the_timeline(
    shop: Shop, owner: Owner
) -> None:
    order = await owner.paid_order({"mug": 1})  # 18.00 + 5.00 shipping = 23.00
    done = await _refund(owner, shop, order.id, 1000, reason="requested_by_customer", note="asked by phone")
    await _refund(owner, shop, order.id, 300, reason="other", note="goodwill for a late parcel")

    [first, second] = shop.sim_session(order.stripe_session_id)["refunds"]
    assert (first["id"], first["amount"], first["reason"]) == (
        done.stripe_refund_id,
        1000,
        "requested_by_customer",
    )
    assert first["metadata"] == {
        "order_id": order.id,
        "request_key": done.request_key,
        "note": "asked by phone",
    }
    assert (second["reason"], second["metadata"]["note"]) == (None, "goodwill for a late parcel")
    assert shop.api.v1.refunds.retrieve(first["id"]).reason == "requested_by_customer"  # as the SDK reads it
    with new_session(shop.engine) as session:
        stored = session.exec(select(RefundRequest).order_by(RefundRequest.id)).all()
    assert [(r.reason, r.note) for r in stored] == [
        ("requested_by_customer", "asked by phone"),
        ("other", "goodwill for a late parcel"),
    ]
    charge = shop.sim_session(order.stripe_session_id)["charge"]["id"]
    shop.delivered(shop.events("charge.refunded", charge)[-1]["id"])
    assert shop.order(order.id).status == S.PARTIALLY_REFUNDED
    plain = _plain(owner, order.id)
    assert "Paid $23.00" in plain
    assert "Refunded $10.00 — requested by customer: asked by phone" in plain
    assert "Refunded $3.00 — goodwill for a late parcel" in plain
    assert owner.call(order_detail, order_id=order.id).refundable == 1000

    with pytest.raises(ActionRefused, match='reason is "Other"'):
        await _refund(owner, shop, order.id, 100, reason="other", note=" ")
    with pytest.raises(ActionRefused, match="Choose a reason"):
        await _refund(owner, shop, order.id, 100, reason="expired_uncaptured_charge")
    assert len(shop.sim_session(order.stripe_session_id)["refunds"]) == 2  # nothing more asked of Stripe


@pytest.mark.usefixtures("webhook_shop")
async def test_shipping_checks_the_number_and_never_replaces_it_edit_tracking_does(
    shop: Shop, owner: Owner
) -> None:
    order = await owner.paid_order({"mug": 1})
    ship = lambda carrier, number: ship_order(  # noqa: E731
        admin=owner.admin, order_id=order.id, carrier=carrier, tracking_number=number
    )
    with pytest.raises(ActionRefused, match="not a UPS tracking number"):
        await ship("ups", "12345")
    assert shop.order(order.id).fulfillment_status == "unfulfilled"

    shipped = await ship("ups", "1z999aa1 0123456784")
    assert (shipped.carrier, shipped.tracking_number, shipped.fulfillment_status) == ("UPS", UPS, "shipped")
    with pytest.raises(ActionRefused, match=rf"already shipped \(UPS {UPS}\); use Edit tracking"):
        await ship("dhl", "1234567890")
    assert shop.order(order.id).tracking_number == UPS  # a second "Mark shipped" replaced nothing

    edited = await change_tracking(
        admin=owner.admin, order_id=order.id, carrier="royal mail", tracking_number="AB123456789GB"
    )
    assert (edited.carrier, edited.tracking_number) == ("Royal Mail", "AB123456789GB")
    with new_session(shop.engine) as session:
        assert session.get(Order, order.id).tracking_email_requested_at is None  # not asked for
    await change_tracking(
        admin=owner.admin,
        order_id=order.id,
        carrier="dhl",
        tracking_number="1234567890",
        tell_buyer=True,
    )
    with new_session(shop.engine) as session:
        assert session.get(Order, order.id).tracking_email_requested_at is not None  # for the mail sender
    with pytest.raises(ActionRefused, match="already has"):
        await change_tracking(
            admin=owner.admin, order_id=order.id, carrier="dhl", tracking_number="1234567890"
        )
    assert _plain(owner, order.id)[-3:] == [
        f"Shipped with UPS, {UPS}",
        "Tracking changed to Royal Mail, AB123456789GB",
        "Tracking changed to DHL, 1234567890 — the buyer will be emailed",
    ]


@pytest.mark.usefixtures("webhook_shop")
async def test_a_refunded_unshipped_order_says_there_is_nothing_to_ship_and_notes_are_kept(
    shop: Shop, owner: Owner
) -> None:
    order = await owner.paid_order({"mug": 1})
    await _refund(owner, shop, order.id, 2300, reason="fraudulent")
    charge = shop.sim_session(order.stripe_session_id)["charge"]["id"]
    shop.delivered(shop.event("charge.refunded", charge)["id"])
    assert shop.order(order.id).status == S.REFUNDED
    with pytest.raises(ActionRefused, match="refunded in full: there is nothing to ship"):
        await ship_order(admin=owner.admin, order_id=order.id, carrier="ups", tracking_number=UPS)
    with pytest.raises(ActionRefused, match="not shipped yet"):
        await change_tracking(admin=owner.admin, order_id=order.id, carrier="ups", tracking_number=UPS)

    with pytest.raises(ActionRefused, match="Write the note first"):
        await note_order(admin=owner.admin, order_id=order.id, text="  \n ")
    with pytest.raises(ActionRefused, match="at most 2000"):
        await note_order(admin=owner.admin, order_id=order.id, text="x" * 2001)
    await note_order(admin=owner.admin, order_id=order.id, text="Card reported stolen;\n  bank informed")
    detail = owner.call(order_detail, order_id=order.id)
    [note] = [e for e in detail.timeline if e.kind == "note"]
    assert (note.actor, note.text) == ("owner", "Card reported stolen; bank informed")
    plain = [line.text for line in detail.plain_timeline]
    assert plain[-3:] == [
        "Refunded $23.00 — fraudulent payment",
        "Stripe confirmed the refund: now refunded in full",
        "Note: Card reported stolen; bank informed",
    ]


def _terms(code: str, **fields: str):
    return parse_discount(code=code, today=date.today(), **{"kind": "percent", "value": "10", **fields})


@pytest.mark.usefixtures("webhook_shop")
async def test_promotion_codes_are_made_used_counted_and_turned_off_at_stripe(
    shop: Shop, owner: Owner
) -> None:
    admin, gateway = owner.admin, shop.gateway
    key = new_request_key()
    ten = await create_discount(admin=admin, gateway=gateway, terms=_terms("spring10"), form_key=key)
    again = await create_discount(admin=admin, gateway=gateway, terms=_terms("spring10"), form_key=key)
    assert again.id == ten.id  # a double click: one code at Stripe
    five = await create_discount(
        admin=admin,
        gateway=gateway,
        terms=_terms("FIVEOFF", kind="amount", value="5", max_redemptions="2", expires_on="2099-01-31"),
        form_key=new_request_key(),
    )
    with pytest.raises(ActionRefused, match="already active"):
        await create_discount(
            admin=admin, gateway=gateway, terms=_terms("SPRING10"), form_key=new_request_key()
        )
    at_stripe = shop.api.v1.promotion_codes.list({"limit": 10}).data
    assert sorted(p.code for p in at_stripe) == ["FIVEOFF", "SPRING10"]
    coupon = shop.api.v1.coupons.retrieve(five.coupon_id)
    assert (coupon.amount_off, coupon.currency, five.max_redemptions) == (500, "usd", 2)

    # A buyer uses SPRING10: 43.00 of goods, 4.30 off, 5.00 standard shipping = 43.70.
    purchase = await shop.purchase({"mug": 1, "notebook": 2})
    shop.control(f"sessions/{purchase.session_id}/pay", {"promotion_code": "spring10"})
    shop.delivered(shop.event("checkout.session.completed", purchase.session_id)["id"])
    paid = shop.order(purchase.order_id)
    assert (paid.status, paid.amount_discount, paid.promotion_code_id) == (S.PAID, 430, ten.id)
    await _refund(owner, shop, paid.id, 870, reason="requested_by_customer")
    charge = shop.sim_session(purchase.session_id)["charge"]["id"]
    shop.delivered(shop.event("charge.refunded", charge)["id"])
    detail = owner.call(order_detail, order_id=paid.id)
    assert detail.promotion_code == "SPRING10"
    assert detail.plain_timeline[1].text == "Paid $43.70 with code SPRING10"

    rows = {r.code.code: r for r in await list_discounts(admin=admin, gateway=gateway)}
    assert (rows["SPRING10"].usage.orders, rows["SPRING10"].usage.revenue) == (1, 4370 - 870)
    assert (rows["SPRING10"].usage.discounted, rows["SPRING10"].terms) == (430, "10% off")
    assert (rows["FIVEOFF"].usage.orders, rows["FIVEOFF"].terms, rows["FIVEOFF"].code.active) == (
        0,
        "$5.00 off",
        True,
    )
    assert rows["SPRING10"].code.times_redeemed == 1  # Stripe's own count agrees

    off = await deactivate_discount(admin=admin, gateway=gateway, promotion_code_id=ten.id)
    assert off.active is False and shop.api.v1.promotion_codes.retrieve(ten.id).active is False
    later = await shop.purchase({"mug": 1})
    refused = shop.sim.control(f"sessions/{later.session_id}/pay", {"promotion_code": "SPRING10"}, expect=400)
    assert "This code is invalid." in str(refused)
    rows = {r.code.code: r for r in await list_discounts(admin=admin, gateway=gateway)}
    assert rows["SPRING10"].code.active is False and rows["SPRING10"].usage.orders == 1
    for bad in ("promo_nope", "'; drop", ""):
        with pytest.raises(ActionRefused, match="no such code"):
            await deactivate_discount(admin=admin, gateway=gateway, promotion_code_id=bad)


async def test_the_discounts_service_asks_stripe_nothing_without_a_sign_in(shop: Shop, owner: Owner) -> None:
    from rxshop.admin.auth import NotSignedIn

    stranger = "v" * 32
    with pytest.raises(NotSignedIn):
        await create_discount(
            admin=stranger, gateway=shop.gateway, terms=_terms("SNEAKY"), form_key=new_request_key()
        )
    with pytest.raises(NotSignedIn):
        await list_discounts(admin=stranger, gateway=shop.gateway)
    assert shop.api.v1.promotion_codes.list({"limit": 10}).data == []
    assert shop.api.v1.coupons.list({"limit": 10}).data == []
