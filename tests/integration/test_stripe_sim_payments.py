"""Payment intents, refunds, expiry on the simulated clock and delayed payments, through the real SDK."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe

from rxshop.stripe_sim.cards import DELAYED_CARD
from tests.fixtures.sim import SimServer, WebhookReceiver


def _paid(sim_server: SimServer, **overrides):
    client = sim_server.client()
    session = client.v1.checkout.sessions.create(sim_server.session_params(**overrides))
    sim_server.control(f"sessions/{session.id}/pay", {"email": "buyer@example.com"})
    return client.v1.checkout.sessions.retrieve(session.id)


def test_payment_intent_and_charge_carry_the_payment_intent_data_metadata(sim_server: SimServer) -> None:
    session = _paid(sim_server, payment_intent_data={"metadata": {"order_id": "order-9"}})
    client = sim_server.client()

    intent = client.v1.payment_intents.retrieve(session.payment_intent, {"expand": ["latest_charge"]})
    assert (intent.amount, intent.amount_received, intent.currency, intent.status) == (
        2900,
        2900,
        "usd",
        "succeeded",
    )
    assert intent.metadata.to_dict() == {"order_id": "order-9"}
    charge = intent.latest_charge
    assert charge.id.startswith("ch_") and charge.payment_intent == intent.id
    assert (charge.amount, charge.amount_refunded, charge.refunded, charge.currency) == (
        2900,
        0,
        False,
        "usd",
    )
    assert charge.metadata["order_id"] == "order-9"
    assert client.v1.charges.retrieve(charge.id).billing_details.email == "buyer@example.com"


def test_partial_refunds_add_up_and_over_refunds_are_refused(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    session = _paid(sim_server)
    client = sim_server.client()

    first = client.v1.refunds.create(
        {
            "payment_intent": session.payment_intent,
            "amount": 1000,
            "reason": "requested_by_customer",
            "metadata": {"why": "chipped"},
        }
    )
    assert first.id.startswith("re_") and first.object == "refund"
    assert (first.amount, first.status, first.currency, first.payment_intent) == (
        1000,
        "succeeded",
        "usd",
        session.payment_intent,
    )
    assert client.v1.refunds.retrieve(first.id).metadata["why"] == "chipped"

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"payment_intent": session.payment_intent, "amount": 1901})
    assert (too_much.value.code, too_much.value.param) == ("amount_too_large", "amount")
    assert "19.00 USD" in too_much.value.user_message

    rest = client.v1.refunds.create({"payment_intent": session.payment_intent})  # defaults to what is left
    assert rest.amount == 1900
    charge = client.v1.charges.retrieve(first.charge)
    assert (charge.amount_refunded, charge.refunded) == (2900, True)

    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create({"payment_intent": session.payment_intent, "amount": 1})
    assert again.value.code == "charge_already_refunded"

    refunded = webhook_receiver.wait_for(2, type="charge.refunded")
    events = [
        stripe.Webhook.construct_event(d.body, d.headers["stripe-signature"], webhook_receiver.secret)
        for d in refunded
    ]
    assert sorted(e.data.object.amount_refunded for e in events) == [1000, 2900]
    last = max(events, key=lambda e: e.data.object.amount_refunded)
    assert last.data.object.refunded is True and last.data.object.id == charge.id
    assert last.data.previous_attributes.amount_refunded == 1000
    assert last.request.id is not None  # API-triggered


@pytest.mark.parametrize(
    "params, code, param",
    [
        ({}, "parameter_missing", None),
        ({"payment_intent": "pi_missing"}, "resource_missing", "payment_intent"),
        ({"charge": "ch_missing"}, "resource_missing", "charge"),
        ({"payment_intent": "PI", "amount": 0}, "parameter_invalid_integer", "amount"),
        ({"payment_intent": "PI", "amount": -100}, "parameter_invalid_integer", "amount"),
        ({"payment_intent": "PI", "reason": "bored"}, None, "reason"),
        ({"payment_intent": "PI", "instructions_email": "a@b.co"}, "parameter_unknown", "instructions_email"),
    ],
)
def test_refund_param_errors(
    sim_server: SimServer, params: dict, code: str | None, param: str | None
) -> None:
    session = _paid(sim_server)
    if params.get("payment_intent") == "PI":
        params = {**params, "payment_intent": session.payment_intent}
    with pytest.raises(stripe.InvalidRequestError) as error:
        sim_server.client().v1.refunds.create(params)
    assert (error.value.code, error.value.param) == (code, param)


def test_refund_by_charge_id(sim_server: SimServer) -> None:
    session = _paid(sim_server)
    client = sim_server.client()
    charge_id = client.v1.payment_intents.retrieve(session.payment_intent).latest_charge
    refund = client.v1.refunds.create({"charge": charge_id, "amount": 500})
    assert refund.payment_intent == session.payment_intent
    assert client.v1.charges.retrieve(charge_id).amount_refunded == 500


def test_expiry_by_clock_advance_sends_one_expired_event(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    client = sim_server.client()
    now = sim_server.control("clock")["now"]
    short = client.v1.checkout.sessions.create(sim_server.session_params(expires_at=now + 1800))
    long = client.v1.checkout.sessions.create(sim_server.session_params())

    # Real time runs on under the offset (and `now` is whole seconds): keep a margin either side.
    sim_server.control("clock/advance", {"seconds": 1780})
    assert client.v1.checkout.sessions.retrieve(short.id).status == "open"
    sim_server.control("clock/advance", {"seconds": 21})
    assert client.v1.checkout.sessions.retrieve(short.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(long.id).status == "open"
    sim_server.control("clock/advance", {"seconds": 3600})

    [delivery] = webhook_receiver.wait_for(1, type="checkout.session.expired")
    event = stripe.Webhook.construct_event(
        delivery.body, delivery.headers["stripe-signature"], webhook_receiver.secret
    )
    assert (event.data.object.id, event.data.object.status) == (short.id, "expired")
    time.sleep(0.2)  # the periodic sweep must not send it again
    assert len(webhook_receiver.matching("checkout.session.expired")) == 1
    assert len(sim_server.events("checkout.session.expired")) == 1


def test_created_follows_the_simulated_clock(sim_server: SimServer) -> None:
    sim_server.control("clock/advance", {"seconds": 7200})
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    assert session.created >= int(time.time()) + 7200


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_delayed_payment_completes_unpaid_then_settles(
    sim_server: SimServer, webhook_receiver: WebhookReceiver, outcome: str
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    client = sim_server.client()
    session = client.v1.checkout.sessions.create(sim_server.session_params())
    response = httpx.post(session.url, data={"email": "buyer@example.com", "card_number": DELAYED_CARD})
    assert response.status_code == 303 and response.headers["location"].endswith(session.id)

    pending = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent"]})
    assert (pending.status, pending.payment_status) == ("complete", "unpaid")
    assert pending.payment_intent.status == "processing" and pending.payment_intent.amount_received == 0
    assert "Payment processing" in httpx.get(session.url).text
    with pytest.raises(stripe.InvalidRequestError, match="successful charge"):
        client.v1.refunds.create({"payment_intent": pending.payment_intent.id})

    sim_server.control(f"sessions/{session.id}/settle", {"outcome": outcome})
    settled = client.v1.checkout.sessions.retrieve(session.id, {"expand": ["payment_intent"]})
    if outcome == "succeeded":
        assert settled.payment_status == "paid"
        assert (settled.payment_intent.status, settled.payment_intent.amount_received) == ("succeeded", 2900)
    else:
        assert settled.payment_status == "unpaid"
        assert settled.payment_intent.status == "requires_payment_method"
        assert settled.payment_intent.last_payment_error.code == "card_declined"
        assert "Payment failed" in httpx.get(session.url).text

    types = [d.json()["type"] for d in webhook_receiver.wait_for(2)]
    assert sorted(types) == sorted(
        ["checkout.session.completed", f"checkout.session.async_payment_{outcome}"]
    )
    completed = webhook_receiver.events("checkout.session.completed")[0]["data"]["object"]
    assert (completed["status"], completed["payment_status"]) == ("complete", "unpaid")
    sim_server.control(f"sessions/{session.id}/settle", {"outcome": outcome}, expect=409)  # only once


def test_delayed_payment_settles_by_itself_after_async_settle_seconds(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver, async_settle_seconds=0.3)
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control(f"sessions/{session.id}/pay", {"card": DELAYED_CARD})

    [delivery] = webhook_receiver.wait_for(1, type="checkout.session.async_payment_succeeded", timeout=5)
    assert delivery.json()["data"]["object"]["payment_status"] == "paid"


def test_auto_settle_also_follows_clock_advance(sim_server: SimServer) -> None:
    sim_server.control("config", {"async_settle_seconds": 3600})
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control(f"sessions/{session.id}/pay", {"card": DELAYED_CARD})
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).payment_status == "unpaid"
    sim_server.control("clock/advance", {"seconds": 3601})
    assert sim_server.client().v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_fail_shortcut_runs_a_failed_delayed_payment(sim_server: SimServer) -> None:
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    result = sim_server.control(f"sessions/{session.id}/fail", {})
    assert (result["session"]["status"], result["session"]["payment_status"]) == ("complete", "unpaid")
    assert [e["type"] for e in sim_server.events()] == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]


def test_control_expire_and_session_view(sim_server: SimServer) -> None:
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    assert sim_server.control(f"sessions/{session.id}/expire", {})["session"]["status"] == "expired"
    view = sim_server.control(f"sessions/{session.id}")
    assert view["session"]["status"] == "expired" and len(view["line_items"]) == 2
    assert view["payment_intent"] is None
    sim_server.control(f"sessions/{session.id}/expire", {}, expect=409)
