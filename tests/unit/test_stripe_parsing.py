"""payments.py is the one reader of Stripe's wire format: sessions, charges and webhook events."""

import json

import pytest

from rxshop.payments.wire import MalformedEvent, charge_from_stripe, checkout_from_stripe, event_from_json


def test_a_checkout_session_is_read_from_stripe_json():
    obj = {
        "id": "cs_test_1",
        "object": "checkout.session",
        "url": "https://checkout.stripe.com/c/pay/cs_test_1",
        "status": "complete",
        "payment_status": "paid",
        "amount_total": 6000,
        "currency": "usd",
        "client_reference_id": "ord_1",
        "metadata": {"order_id": "ord_1"},
        "payment_intent": {"id": "pi_1", "object": "payment_intent"},  # expanded form
        "created": 1_700_000_000,
        "expires_at": 1_700_003_600,
        "customer_details": {"email": "ann@example.com", "name": "Ann"},
        "line_items": {
            "object": "list",
            "data": [
                {
                    "description": "Morning Mug",
                    "quantity": 2,
                    "amount_total": 3600,
                    "price": {"unit_amount": 1800},
                },
            ],
        },
    }
    checkout = checkout_from_stripe(obj)
    assert (checkout.id, checkout.status, checkout.payment_status, checkout.amount_total) == (
        "cs_test_1",
        "complete",
        "paid",
        6000,
    )
    assert (checkout.payment_intent, checkout.customer_email, checkout.expires_at) == (
        "pi_1",
        "ann@example.com",
        1_700_003_600,
    )
    assert checkout.metadata == {"order_id": "ord_1"} and checkout.client_reference_id == "ord_1"
    assert [(x.description, x.quantity, x.unit_amount, x.amount_total) for x in checkout.line_items] == [
        ("Morning Mug", 2, 1800, 3600)
    ]

    bare = checkout_from_stripe(
        {
            "id": "cs_test_2",
            "status": "open",
            "payment_status": "unpaid",
            "currency": "usd",
            "amount_total": None,
            "payment_intent": None,
            "metadata": None,
            "customer_details": None,
        }
    )
    assert (
        bare.line_items is None
        and bare.payment_intent is None
        and bare.metadata == {}
        and bare.amount_total is None
    )


def test_currency_is_lower_cased_and_metadata_values_are_strings():
    checkout = checkout_from_stripe(
        {
            "id": "cs_test_3",
            "currency": "USD",
            "metadata": {"n": 3},
            "status": "open",
            "payment_status": "unpaid",
        }
    )
    assert checkout.currency == "usd" and checkout.metadata == {"n": "3"}


def test_the_expanded_payment_intent_keeps_its_status():
    checkout = checkout_from_stripe(
        {"id": "cs_test_4", "payment_intent": {"id": "pi_4", "status": "requires_payment_method"}}
    )
    assert (checkout.payment_intent, checkout.payment_intent_status) == ("pi_4", "requires_payment_method")
    assert (checkout.status, checkout.payment_status) == ("", "")  # never invented


def test_a_charge_is_read_with_its_order():
    charge = charge_from_stripe(
        {
            "id": "ch_1",
            "payment_intent": "pi_1",
            "currency": "USD",
            "amount_refunded": 500,
            "metadata": {"order_id": "ord_1"},
        }
    )
    assert (charge.payment_intent, charge.currency, charge.amount_refunded, charge.order_id) == (
        "pi_1",
        "usd",
        500,
        "ord_1",
    )
    assert charge_from_stripe({"id": "ch_2"}).order_id is None


def _body(**event):
    return json.dumps(event).encode()


def test_events_carry_the_object_the_shop_acts_on():
    completed = event_from_json(
        _body(id="evt_1", type="checkout.session.completed", created=7, data={"object": {"id": "cs_test_5"}})
    )
    assert (
        completed.checkout is not None and completed.checkout.id == "cs_test_5" and completed.charge is None
    )
    refunded = event_from_json(_body(id="evt_2", type="charge.refunded", data={"object": {"id": "ch_5"}}))
    assert refunded.charge is not None and refunded.checkout is None
    other = event_from_json(_body(id="evt_3", type="customer.created", data={"object": {"id": "cus_1"}}))
    assert (other.checkout, other.charge, other.object_id) == (None, None, "cus_1")


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        _body(id="evt_1", type="checkout.session.completed"),
        _body(id="x_1", type="checkout.session.completed", data={"object": {"id": "cs_1"}}),
        _body(id="evt_1", type=5, data={"object": {"id": "cs_1"}}),
        _body(id="evt_1", type="charge.refunded", data={"object": {"no_id": 1}}),
        _body(id="evt_1", type="charge.refunded", data={"object": {"id": "ch_1", "amount_refunded": "lots"}}),
    ],
)
def test_malformed_events_are_refused(body):
    with pytest.raises(MalformedEvent):
        event_from_json(body)
