"""payments.py is the one reader of Stripe's wire format: sessions, charges and webhook events."""

import json

import pytest

from rxshop.payments.wire import (
    MalformedEvent,
    buyer_text,
    charge_from_stripe,
    checkout_from_stripe,
    event_from_json,
)


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
        _body(id="evt_1\x00", type="charge.refunded", data={"object": {"id": "ch_1"}}),
        _body(id="evt_" + "a" * 251, type="charge.refunded", data={"object": {"id": "ch_1"}}),
        _body(id="evt_1", type="charge.refunded\u202e", data={"object": {"id": "ch_1"}}),
        _body(id="evt_1", type="x" * 101, data={"object": {"id": "ch_1"}}),
        _body(id="evt_1", type="charge.refunded", data={"object": {"no_id": 1}}),
        _body(id="evt_1", type="charge.refunded", data={"object": {"id": "ch_1", "amount_refunded": "lots"}}),
    ],
)
def test_malformed_events_are_refused(body):
    with pytest.raises(MalformedEvent):
        event_from_json(body)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("  Apt\x00 5 ", "Apt 5"),  # NUL: PostgreSQL refuses it in text
        ("1 Main St\r\nFloor 2\tBack", "1 Main St Floor 2 Back"),
        ("Ann\ud800e", "Anne"),  # a lone surrogate (JSON "\\ud800"): no UTF-8 for it
        ("\x7fDEL\x85NEL\x9fC1\x1bESC", "DEL NELC1ESC"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # a bidi override shows other text
        ("Zoë Åsa 李 👩\u200d💻", "Zoë Åsa 李 👩\u200d💻"),  # letters, joiners and emoji stay
        ("\x00\x01", ""),
        (None, ""),
    ],
)
def test_buyer_typed_text_loses_control_characters(typed, kept):
    assert buyer_text(typed) == kept


def test_every_typed_field_of_a_session_is_cleaned():
    checkout = checkout_from_stripe(
        {
            "id": "cs_test_1",
            "customer_details": {"email": "ann\x00@example.com", "phone": "+1\t415 555\x000100"},
            "collected_information": {
                "shipping_details": {
                    "name": "Ann\nExample",
                    "address": {
                        "line1": "1\x00 Main St",
                        "line2": "\x00",
                        "city": "Portland\x1f",
                        "state": " \x00",
                        "postal_code": "97201\x00",
                        "country": "u\x00s",
                    },
                }
            },
        }
    )
    assert (checkout.customer_email, checkout.phone) == ("ann@example.com", "+1 415 5550100")
    assert checkout.shipping is not None
    assert (checkout.shipping.name, checkout.shipping.line1, checkout.shipping.line2) == (
        "Ann Example",
        "1 Main St",
        None,
    )
    assert (checkout.shipping.city, checkout.shipping.state, checkout.shipping.postal_code) == (
        "Portland",
        None,
        "97201",
    )
    assert checkout.shipping.country == "US"
