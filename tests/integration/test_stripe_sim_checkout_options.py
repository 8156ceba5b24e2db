"""What a real shop asks Checkout for: shipping address and options, phone, customers, promotion codes, discounts.

Through the real SDK, the hosted page (plain HTTP form posts) and the control API's pay.
"""

from __future__ import annotations

import re

import httpx
import pytest
import stripe

from tests.fixtures.sim import SimServer

GROUND = {
    "shipping_rate_data": {
        "display_name": "Ground",
        "type": "fixed_amount",
        "fixed_amount": {"amount": 500, "currency": "usd"},
        "delivery_estimate": {
            "minimum": {"unit": "business_day", "value": 3},
            "maximum": {"unit": "business_day", "value": 5},
        },
    }
}


def _promo(client: stripe.StripeClient, code: str, **coupon: object) -> stripe.PromotionCode:
    created = client.v1.coupons.create({"duration": "once", **coupon})
    return client.v1.promotion_codes.create(
        {"promotion": {"type": "coupon", "coupon": created.id}, "code": code}
    )


def test_shipping_options_and_a_percent_code_are_priced_like_stripe(sim_server: SimServer) -> None:
    client = sim_server.client()
    express = client.v1.shipping_rates.create(
        {"display_name": "Express", "fixed_amount": {"amount": 1500, "currency": "usd"}}
    )
    _promo(client, "SAVE15", percent_off=15)
    session = client.v1.checkout.sessions.create(
        sim_server.session_params(
            shipping_address_collection={"allowed_countries": ["US", "CA"]},
            shipping_options=[GROUND, {"shipping_rate": express.id}],
            phone_number_collection={"enabled": True},
            allow_promotion_codes=True,
        )
    )
    # Stripe preselects the first option: 29.00 + 5.00.
    assert (session.amount_subtotal, session.amount_total) == (2900, 3400)
    assert session.shipping_cost.amount_total == 500 and session.total_details.amount_shipping == 500
    assert [o.shipping_amount for o in session.shipping_options] == [500, 1500]

    result = sim_server.control(
        f"sessions/{session.id}/pay",
        {
            "promotion_code": "save15",
            "shipping_rate": express.id,
            "phone": "+1 415 555 0100",
            "shipping": {
                "name": "Ada Lovelace",
                "address": {
                    "line1": "1 Main St",
                    "city": "Toronto",
                    "postal_code": "M5V 2T6",
                    "country": "CA",
                },
            },
        },
    )
    assert result["outcome"] == "paid"
    paid = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent", "line_items"]})
    # 15 % of the 29.00 subtotal (4.35) comes off; shipping is never discounted.
    assert paid.total_details.to_dict() == {"amount_discount": 435, "amount_shipping": 1500, "amount_tax": 0}
    assert paid.amount_total == 2900 - 435 + 1500 == paid.payment_intent.amount
    assert sum(li.amount_discount for li in paid.line_items.data) == 435
    assert paid.shipping_cost.shipping_rate == express.id
    details = paid.collected_information.shipping_details
    assert (details.name, details.address.city, details.address.country) == ("Ada Lovelace", "Toronto", "CA")
    assert paid.customer_details.phone == "+1 415 555 0100"
    assert paid.payment_intent.shipping.name == "Ada Lovelace"
    promo = client.v1.promotion_codes.list({"code": "SAVE15"}).data[0]
    assert paid.discounts[0].promotion_code == promo.id and promo.times_redeemed == 1


def test_amount_off_coupon_in_discounts_and_customer_creation(sim_server: SimServer) -> None:
    client = sim_server.client()
    coupon = client.v1.coupons.create({"amount_off": 4000, "currency": "usd", "duration": "once"})
    assert client.v1.coupons.retrieve(coupon.id).name == "4000 usd off"
    session = client.v1.checkout.sessions.create(
        sim_server.session_params(
            discounts=[{"coupon": coupon.id}], customer_creation="always", customer_email="ada@example.com"
        )
    )
    # An amount off never exceeds the subtotal. (A 0 total is `no_payment_required` on Stripe, which the
    # simulator does not implement: pay with a smaller coupon.)
    assert session.total_details.amount_discount == 2900 and session.amount_total == 0
    small = client.v1.coupons.create({"amount_off": 900, "currency": "usd"})
    session = client.v1.checkout.sessions.create(
        sim_server.session_params(discounts=[{"coupon": small.id}], customer_creation="always")
    )
    assert session.amount_total == 2000
    sim_server.control(f"sessions/{session.id}/pay", {"email": "ada@example.com", "name": "Ada"})
    paid = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["customer"]})
    assert paid.customer.email == "ada@example.com" and paid.customer.id.startswith("cus_")
    assert client.v1.coupons.retrieve(small.id).times_redeemed == 1
    assert [c.id for c in client.v1.coupons.list().data] == [small.id, coupon.id]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        (
            {"shipping_address_collection": {"allowed_countries": ["XX"]}},
            "shipping_address_collection[allowed_countries][0]",
        ),
        (
            {"shipping_address_collection": {"allowed_countries": ["US", "us"]}},
            "shipping_address_collection[allowed_countries][1]",
        ),
        ({"shipping_options": [{"shipping_rate": "shr_nope"}]}, "shipping_options[0][shipping_rate]"),
        (
            {"shipping_options": [{"shipping_rate_data": {"display_name": "X"}}]},
            "shipping_options[0][shipping_rate_data][fixed_amount]",
        ),
        ({"discounts": [{"promotion_code": "promo_nope"}]}, "discounts[0][promotion_code]"),
        ({"discounts": [{"coupon": "nope"}]}, "discounts[0][coupon]"),
        ({"phone_number_collection": {"enabled": "yes"}}, "phone_number_collection[enabled]"),
        ({"customer_creation": "sometimes"}, "customer_creation"),
    ],
)
def test_bad_checkout_options_get_stripes_error(sim_server: SimServer, params: dict, param: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as error:
        sim_server.client().v1.checkout.sessions.create(sim_server.session_params(**params))
    assert error.value.http_status == 400 and error.value.param == param


def test_both_allow_promotion_codes_and_discounts_is_refused(sim_server: SimServer) -> None:
    coupon = sim_server.client().v1.coupons.create({"percent_off": 5})
    with pytest.raises(stripe.InvalidRequestError, match="only specify one of"):
        sim_server.client().v1.checkout.sessions.create(
            sim_server.session_params(discounts=[{"coupon": coupon.id}], allow_promotion_codes=True)
        )


def test_catalog_errors(sim_server: SimServer) -> None:
    client = sim_server.client()
    for params, param in [
        ({"percent_off": 120}, "percent_off"),
        ({"amount_off": 100}, "currency"),
        ({"percent_off": 10, "duration": "repeating"}, "duration_in_months"),
        ({"percent_off": 10, "redeem_by": 1}, "redeem_by"),
    ]:
        with pytest.raises(stripe.InvalidRequestError) as error:
            client.v1.coupons.create(params)
        assert error.value.param == param
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.promotion_codes.create({"promotion": {"type": "coupon", "coupon": "nope"}})
    assert error.value.param == "promotion[coupon]"
    with pytest.raises(stripe.InvalidRequestError) as error:
        client.v1.shipping_rates.retrieve("shr_nope")
    assert error.value.http_status == 404


def _hosted(sim_server: SimServer, **params: object) -> tuple[str, httpx.Client]:
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params(**params))
    return session.id, httpx.Client(base_url=sim_server.url, timeout=5)


def test_hosted_page_asks_for_address_phone_and_method_and_validates_them(sim_server: SimServer) -> None:
    session_id, http = _hosted(
        sim_server,
        shipping_address_collection={"allowed_countries": ["US", "GB"]},
        shipping_options=[GROUND],
        phone_number_collection={"enabled": True},
        custom_text={"shipping_address": {"message": "No P.O. boxes."}},
    )
    html = http.get(f"/pay/{session_id}").text
    for name, label in [
        ("phone", "Phone number"),
        ("shipping_name", "Full name"),
        ("shipping_line1", "Address line 1"),
        ("shipping_city", "City"),
        ("shipping_postal_code", "Postal code"),
        ("shipping_country", "Country"),
    ]:
        assert f'<label for="{name}">{label}' in html
    assert re.findall(r'<option value="(\w+)"', html) == ["US", "GB"]
    assert "<legend>Shipping method</legend>" in html and "Ground — 5.00 USD (3–5 business days)" in html
    assert "No P.O. boxes." in html

    form = {
        "email": "a@b.co",
        "card_number": "4242424242424242",
        "phone": "12",
        "shipping_name": "Ada",
        "shipping_line1": "",
        "shipping_city": "London",
        "shipping_postal_code": "nope",
        "shipping_country": "FR",
    }
    bad = http.post(f"/pay/{session_id}", data=form)
    assert bad.status_code == 400
    for field in ("phone", "shipping_line1", "shipping_country"):
        assert f'id="{field}-error"' in bad.text
    form.update(
        phone="+44 20 7946 0958",
        shipping_line1="10 Downing St",
        shipping_country="GB",
        shipping_postal_code="99",
    )
    assert 'id="shipping_postal_code-error"' in http.post(f"/pay/{session_id}", data=form).text
    form["shipping_postal_code"] = "SW1A 2AA"
    assert http.post(f"/pay/{session_id}", data=form).status_code == 303
    paid = sim_server.client().v1.checkout.sessions.retrieve(session_id)
    assert paid.collected_information.shipping_details.address.postal_code == "SW1A 2AA"
    assert paid.amount_total == 3400


def test_hosted_page_takes_a_code_and_refuses_expired_or_exhausted_ones(sim_server: SimServer) -> None:
    client = sim_server.client()
    _promo(client, "TEN", percent_off=10)
    _promo(client, "ONCE", amount_off=500, currency="usd", max_redemptions=1)
    expiring = client.v1.coupons.create({"percent_off": 50})
    client.v1.promotion_codes.create(
        {
            "promotion": {"type": "coupon", "coupon": expiring.id},
            "code": "SOON",
            "expires_at": sim_server.control("clock")["now"] + 60,
        }
    )
    sim_server.control("clock/advance", {"seconds": 120})
    first, _ = _hosted(sim_server, allow_promotion_codes=True)
    sim_server.control(f"sessions/{first}/pay", {"promotion_code": "ONCE"})

    session_id, http = _hosted(sim_server, allow_promotion_codes=True)
    assert '<label for="promotion_code">Promotion code' in http.get(f"/pay/{session_id}").text
    for code, message in [
        ("SOON", "This code has expired."),
        ("ONCE", "maximum number of redemptions"),
        ("NOPE", "This code is invalid."),
    ]:
        refused = http.post(f"/pay/{session_id}/promotion_code", data={"promotion_code": code})
        assert refused.status_code == 400 and message in refused.text and 'role="alert"' in refused.text
    applied = http.post(f"/pay/{session_id}/promotion_code", data={"promotion_code": "ten"})
    assert applied.status_code == 200 and "Discount (TEN)" in applied.text and "Pay 26.10 USD" in applied.text
    assert sim_server.client().v1.checkout.sessions.retrieve(session_id).total_details.amount_discount == 290
    error = sim_server.control(f"sessions/{session_id}/pay", {"promotion_code": "ONCE"}, expect=400)
    assert "maximum number of redemptions" in error["error"]["message"]
