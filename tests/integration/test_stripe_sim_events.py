"""The events Stripe sends for each Checkout story, in Stripe's order, fully shaped and signed; enabled_events."""

from __future__ import annotations

import stripe
from stripe._api_version import _ApiVersion

from rxshop.stripe_sim.cards import DELAYED_CARD
from tests.fixtures.sim import SHOP_EVENTS, TEST_WEBHOOK_SECRET, SimServer, WebhookReceiver


def _types(receiver: WebhookReceiver, count: int) -> list[str]:
    return [r.json()["type"] for r in receiver.wait_for(count)]


def _session(sim_server: SimServer) -> str:
    return sim_server.client().v1.checkout.sessions.create(sim_server.session_params()).id


def test_card_paid_then_partial_and_full_refund(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver, enabled_events=["*"])
    session_id = _session(sim_server)
    sim_server.control(f"sessions/{session_id}/pay", {})
    paid = [
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    assert _types(webhook_receiver, 4) == paid

    client = sim_server.client()
    intent = client.v1.checkout.sessions.retrieve(session_id).payment_intent
    partial = client.v1.refunds.create({"payment_intent": intent, "amount": 900}, {"idempotency_key": "r-1"})
    refund = ["charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"]
    assert _types(webhook_receiver, 8)[4:] == refund
    client.v1.refunds.create({"payment_intent": intent})
    assert _types(webhook_receiver, 12)[8:] == refund

    events = [r.json() for r in webhook_receiver.received]
    refunded = events[4]
    assert refunded["data"]["object"]["amount_refunded"] == 900
    assert refunded["data"]["previous_attributes"] == {"amount_refunded": 0, "refunded": False}
    assert refunded["request"] == {"id": refunded["request"]["id"], "idempotency_key": "r-1"}
    assert refunded["request"]["id"].startswith("req_")
    assert events[5]["data"]["object"]["id"] == partial.id
    assert events[6]["data"]["object"]["destination_details"]["card"]["reference_status"] == "available"
    assert (
        events[6]["data"]["previous_attributes"]["destination_details"]["card"]["reference_status"]
        == "pending"
    )
    assert events[10]["data"]["object"]["amount"] == 2000
    assert client.v1.charges.retrieve(events[1]["data"]["object"]["id"]).refunded is True
    for delivery in webhook_receiver.received:
        event = stripe.Webhook.construct_event(
            delivery.body, delivery.headers["stripe-signature"], TEST_WEBHOOK_SECRET
        )
        assert event.api_version == _ApiVersion.CURRENT and event.livemode is False
        assert event.pending_webhooks == 1 and set(event.request.to_dict()) == {"id", "idempotency_key"}


def test_declined_then_paid_reuses_the_payment_intent(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver, enabled_events=["*"])
    session_id = _session(sim_server)
    declined = sim_server.control(f"sessions/{session_id}/decline", {"reason": "insufficient_funds"})
    assert declined["outcome"] == "declined"
    assert _types(webhook_receiver, 3) == [
        "payment_intent.created",
        "charge.failed",
        "payment_intent.payment_failed",
    ]
    failed_intent = webhook_receiver.events("payment_intent.payment_failed")[0]["data"]["object"]
    assert failed_intent["last_payment_error"]["decline_code"] == "insufficient_funds"
    assert webhook_receiver.events("charge.failed")[0]["data"]["object"]["failure_code"] == "card_declined"

    sim_server.control(f"sessions/{session_id}/pay", {})
    assert _types(webhook_receiver, 6)[3:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ]
    completed = webhook_receiver.events("checkout.session.completed")[0]["data"]["object"]
    assert completed["payment_intent"] == failed_intent["id"]
    intent = sim_server.client().v1.payment_intents.retrieve(failed_intent["id"])
    assert (intent.status, intent.last_payment_error) == ("succeeded", None)


def test_delayed_payment_success_and_failure_sequences(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver, enabled_events=["*"])
    sim_server.control("config", {"async_settle_seconds": None})
    first, second = _session(sim_server), _session(sim_server)
    sim_server.control(f"sessions/{first}/pay", {"card": DELAYED_CARD})
    processing = [
        "payment_intent.created",
        "payment_intent.processing",
        "charge.pending",
        "checkout.session.completed",
    ]
    assert _types(webhook_receiver, 4) == processing
    sim_server.control(f"sessions/{first}/settle", {"outcome": "succeeded"})
    assert _types(webhook_receiver, 7)[4:] == [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.async_payment_succeeded",
    ]
    sim_server.control(f"sessions/{second}/fail", {})
    assert _types(webhook_receiver, 14)[7:] == [
        *processing,
        "charge.failed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ]


def test_expiry_cancels_the_payment_intent_of_declined_attempts(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver, enabled_events=["*"])
    untouched, declined = _session(sim_server), _session(sim_server)
    sim_server.control(f"sessions/{declined}/decline", {})
    sim_server.control(f"sessions/{untouched}/expire", {})
    sim_server.client().v1.checkout.sessions.expire(declined)
    assert _types(webhook_receiver, 6)[3:] == [
        "checkout.session.expired",
        "payment_intent.canceled",
        "checkout.session.expired",
    ]
    canceled = webhook_receiver.events("payment_intent.canceled")[0]
    assert canceled["data"]["object"]["cancellation_reason"] == "abandoned"
    assert canceled["request"]["id"].startswith("req_")  # caused by the API call


def test_the_endpoint_gets_only_its_enabled_events_and_v1_events_lists_all(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)  # the fixture's endpoint subscribes to SHOP_EVENTS
    assert sim_server.control("config")["enabled_events"] == list(SHOP_EVENTS)
    session_id = _session(sim_server)
    sim_server.control(f"sessions/{session_id}/pay", {})
    [delivery] = webhook_receiver.wait_for(1)
    assert delivery.json()["type"] == "checkout.session.completed"
    assert [e["type"] for e in sim_server.events()] == ["checkout.session.completed"]
    everything = sim_server.events(every=True)
    assert [e["delivery"]["status"] for e in everything[:3]] == ["not_subscribed"] * 3

    client = sim_server.client()
    listed = client.v1.events.list({"limit": 3})
    assert [e.type for e in listed.data] == [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
    ]
    assert listed.data[1].pending_webhooks == 0 and listed.data[0].pending_webhooks == 1
    assert [e.type for e in client.v1.events.list({"type": "payment_intent.*"}).data] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    assert client.v1.events.retrieve(listed.data[0].id).data.object.id == session_id


def test_enabled_events_setting_is_validated_and_reset(sim_server: SimServer) -> None:
    error = sim_server.control("config", {"enabled_events": []}, expect=400)
    assert "enabled_events" in error["error"]["message"]
    sim_server.control("config", {"enabled_events": ["charge.refunded"]})
    sim_server.control("reset", {})
    assert sim_server.control("config")["enabled_events"] == list(SHOP_EVENTS)
