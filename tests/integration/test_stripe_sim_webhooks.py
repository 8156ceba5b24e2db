"""Signed webhook deliveries to a real HTTP receiver: signatures, retries, pausing, ordering, duplicates."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
import stripe
from stripe._api_version import _ApiVersion

from tests.fixtures.sim import FAST_RETRY_DELAYS, SimServer, WebhookReceiver


def _paid_session(sim_server: SimServer):
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control(f"sessions/{session.id}/pay", {})
    return session


def test_completed_event_is_signed_and_verifies_with_the_sdk(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    session = _paid_session(sim_server)

    [delivery] = webhook_receiver.wait_for(1, type="checkout.session.completed")
    event = stripe.Webhook.construct_event(
        delivery.body, delivery.headers["stripe-signature"], webhook_receiver.secret
    )
    assert event.type == "checkout.session.completed"
    assert event.id.startswith("evt_") and event.object == "event"
    assert event.api_version == _ApiVersion.CURRENT
    assert event.livemode is False and event.pending_webhooks == 1
    assert event.request.id is None and event.request.idempotency_key is None  # paid on the hosted page
    obj = event.data.object
    assert (obj.id, obj.status, obj.payment_status) == (session.id, "complete", "paid")
    assert obj.payment_intent.startswith("pi_") and obj.metadata["order_id"] == "order-1"
    assert delivery.headers["content-type"].startswith("application/json")
    assert delivery.headers["user-agent"].startswith("Stripe/")
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", delivery.headers["stripe-signature"])


def test_tampered_body_or_wrong_secret_is_rejected(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    _paid_session(sim_server)
    [delivery] = webhook_receiver.wait_for(1)
    signature = delivery.headers["stripe-signature"]

    tampered = delivery.body.replace(b'"paid"', b'"unpaid"')
    assert tampered != delivery.body
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, signature, webhook_receiver.secret)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(delivery.body, signature, "whsec_someone_else")


def test_signature_uses_real_time_even_when_the_clock_is_advanced(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control("clock/advance", {"seconds": 25 * 3600})  # expires it; event.created is in sim time
    [delivery] = webhook_receiver.wait_for(1, type="checkout.session.expired")
    event = stripe.Webhook.construct_event(
        delivery.body, delivery.headers["stripe-signature"], webhook_receiver.secret, tolerance=300
    )
    assert event.created >= int(time.time()) + 24 * 3600


def test_retries_after_500_until_a_2xx(sim_server: SimServer, webhook_receiver: WebhookReceiver) -> None:
    sim_server.use_webhooks(webhook_receiver)
    webhook_receiver.respond_with(500, 503)
    _paid_session(sim_server)

    deliveries = webhook_receiver.wait_for(3)
    assert [d.status for d in deliveries] == [500, 503, 200]
    assert len({d.body for d in deliveries}) == 1  # the same event each time
    [event] = sim_server.events("checkout.session.completed")
    final = sim_server.wait_for_delivery(event["id"])
    assert final["delivery"]["status"] == "delivered"
    assert [a["status_code"] for a in final["delivery"]["attempts"]] == [500, 503, 200]
    for delivery in deliveries:
        stripe.Webhook.construct_event(
            delivery.body, delivery.headers["stripe-signature"], webhook_receiver.secret
        )


def test_gives_up_after_the_schedule_and_records_it(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    webhook_receiver.respond_with(*[500] * (2 + len(FAST_RETRY_DELAYS)))  # every automatic attempt + 1
    _paid_session(sim_server)

    [event] = sim_server.events("checkout.session.completed")
    final = sim_server.wait_for_delivery(event["id"], status="failed")
    assert final["delivery"]["status"] == "failed"
    assert len(final["delivery"]["attempts"]) == 1 + len(FAST_RETRY_DELAYS)
    time.sleep(sum(FAST_RETRY_DELAYS))
    assert len(webhook_receiver.received) == 1 + len(FAST_RETRY_DELAYS)  # nothing after giving up

    redelivered = sim_server.control(f"events/{event['id']}/redeliver", {})
    assert redelivered["status_code"] == 500  # the receiver is still failing
    redelivered = sim_server.control(f"events/{event['id']}/redeliver", {})
    assert redelivered["ok"] is True and redelivered["manual"] is True
    assert sim_server.control(f"events/{event['id']}")["delivery"]["status"] == "delivered"


def test_connection_errors_are_retried(sim_server: SimServer, webhook_receiver: WebhookReceiver) -> None:
    sim_server.use_webhooks(webhook_receiver)
    sim_server.control("config", {"webhook_url": "http://127.0.0.1:9/nothing-listens-here"})
    _paid_session(sim_server)
    [event] = sim_server.events()
    final = sim_server.wait_for_delivery(event["id"], status="failed")
    assert all(a["status_code"] is None and a["error"] for a in final["delivery"]["attempts"])

    sim_server.control("config", {"webhook_url": webhook_receiver.url})
    assert sim_server.control(f"events/{event['id']}/redeliver", {})["ok"]
    assert webhook_receiver.wait_for(1)[0].json()["id"] == event["id"]


def test_paused_events_can_be_delivered_out_of_order_then_resume_sends_nothing_twice(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    sim_server.control("webhooks/pause", {})
    client = sim_server.client()
    session = client.v1.checkout.sessions.create(sim_server.session_params())
    sim_server.control(f"sessions/{session.id}/pay", {"card": "4000000000000077"})  # delayed
    sim_server.control(f"sessions/{session.id}/settle", {"outcome": "succeeded"})
    time.sleep(0.1)
    assert webhook_receiver.received == []

    events = sim_server.events()
    assert [e["type"] for e in events] == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]
    assert {e["delivery"]["status"] for e in events} == {"paused"}
    ids = [e["id"] for e in events]
    sim_server.control("events/deliver", {"ids": list(reversed(ids))})
    assert [d.json()["id"] for d in webhook_receiver.received] == list(reversed(ids))

    assert sim_server.control("webhooks/resume", {})["resumed"] == 0
    time.sleep(0.1)
    assert len(webhook_receiver.received) == 2


def test_resume_delivers_what_was_held_in_order(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    sim_server.control("webhooks/pause", {})
    client = sim_server.client()
    sessions = [client.v1.checkout.sessions.create(sim_server.session_params()) for _ in range(3)]
    for session in sessions:
        client.v1.checkout.sessions.expire(session.id)
    assert sim_server.control("webhooks/resume", {})["resumed"] == 3
    received = webhook_receiver.wait_for(3)
    assert sorted(d.json()["data"]["object"]["id"] for d in received) == sorted(s.id for s in sessions)


def test_duplicates_delivered_concurrently(sim_server: SimServer, webhook_receiver: WebhookReceiver) -> None:
    sim_server.use_webhooks(webhook_receiver)
    _paid_session(sim_server)
    webhook_receiver.wait_for(1)
    [event] = sim_server.events()

    result = sim_server.control("events/deliver", {"ids": [event["id"]], "copies": 5, "concurrent": True})
    assert len(result["attempts"]) == 5 and all(a["ok"] for a in result["attempts"])
    received = webhook_receiver.wait_for(6)
    assert {d.json()["id"] for d in received} == {event["id"]}
    assert len(sim_server.control(f"events/{event['id']}")["delivery"]["attempts"]) == 6


def test_changing_the_secret_changes_the_signature(
    sim_server: SimServer, webhook_receiver: WebhookReceiver
) -> None:
    sim_server.use_webhooks(webhook_receiver)
    sim_server.control("config", {"webhook_secret": "whsec_rotated"})
    _paid_session(sim_server)
    [delivery] = webhook_receiver.wait_for(1)
    stripe.Webhook.construct_event(delivery.body, delivery.headers["stripe-signature"], "whsec_rotated")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            delivery.body, delivery.headers["stripe-signature"], webhook_receiver.secret
        )


def test_without_a_webhook_url_events_are_only_recorded(sim_server: SimServer) -> None:
    _paid_session(sim_server)
    [event] = sim_server.events()
    assert event["delivery"]["status"] == "no_endpoint"
    full = sim_server.control(f"events/{event['id']}")
    assert full["event"]["pending_webhooks"] == 0
    assert full["event"]["data"]["object"]["object"] == "checkout.session"


def test_api_triggered_events_cite_the_request_and_idempotency_key(sim_server: SimServer) -> None:
    session = sim_server.client().v1.checkout.sessions.create(sim_server.session_params())
    expired = sim_server.client().v1.checkout.sessions.expire(
        session.id, options={"idempotency_key": "expire-1"}
    )
    [event] = sim_server.events("checkout.session.expired")
    request = sim_server.control(f"events/{event['id']}")["event"]["request"]
    assert request == {"id": expired.last_response.request_id, "idempotency_key": "expire-1"}


def test_control_api_reports_bad_input(sim_server: SimServer) -> None:
    assert (
        sim_server.control("events/evt_nope", expect=404)["error"]["message"] == "No such event: 'evt_nope'"
    )
    assert "kind must be" in sim_server.control("faults", {"kind": "teapot"}, expect=400)["error"]["message"]
    assert sim_server.control("clock/advance", {"seconds": -5}, expect=400)
    assert sim_server.control("config", {"webhook_url": "not a url"}, expect=400)
    bad_json = httpx.post(f"{sim_server.url}/_sim/clock/advance", content=b"{nope")
    assert bad_json.status_code == 400
    assert sim_server.control("sessions/cs_test_nope/pay", {}, expect=404)


def test_reset_forgets_everything(sim_server: SimServer, webhook_receiver: WebhookReceiver) -> None:
    sim_server.use_webhooks(webhook_receiver)
    session = _paid_session(sim_server)
    sim_server.control("clock/advance", {"seconds": 60})
    sim_server.control("faults", {"kind": "500", "count": 3})
    config = sim_server.control("reset", {})

    assert config["webhook_url"] is None and config["clock_offset_seconds"] == 0
    assert sim_server.control("faults")["faults"] == []
    assert sim_server.events() == []
    with pytest.raises(stripe.InvalidRequestError):
        sim_server.client().v1.checkout.sessions.retrieve(session.id)
    assert json.loads(httpx.get(f"{sim_server.url}/_sim/config").text)["webhooks_paused"] is False
