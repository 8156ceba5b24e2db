"""POST /stripe/webhook served for real, fed by the simulator's signed deliveries: who gets in, what is written.

The endpoint runs under uvicorn (`serve_asgi`), the simulator delivers to it over HTTP, orders are made by
`checkout.start_checkout` through the real stripe SDK, and every assertion reads the real database
(SQLite and PostgreSQL). Requests the simulator would never send (forged, stale, malformed) are posted
with httpx and signed here with the SDK's own helper.

The harness (`webhook_shop`) is tests/fixtures/shop.py's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

import pytest

from rxshop.core import notify
from rxshop.domain.lifecycle import OrderStatus, Outcome
from tests.fixtures.shop import Shop


def webhook_logs(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "rxshop.web.webhook" and r.levelno >= level]


def statuses(summary: dict[str, Any]) -> list[int | None]:
    return [a["status_code"] for a in summary["delivery"]["attempts"]]


# --- Tests -------------------------------------------------------------------------------------------------


async def test_signed_delivery_is_recorded_once_and_answered_2xx(webhook_shop: Shop, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="rxshop.web.webhook")
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)

    summary = webhook_shop.delivered(event["id"])

    assert statuses(summary) == [200]
    row = webhook_shop.event_rows()[event["id"]]
    assert (row.type, row.session_id, row.order_id, row.outcome) == (
        "checkout.session.completed",
        purchase.session_id,
        purchase.order_id,
        Outcome.FULFILLED,
    )
    assert row.stripe_created == event["created"]
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID
    [line] = [m for m in webhook_logs(caplog, logging.DEBUG) if event["id"] in m]
    assert f"outcome=fulfilled order={purchase.order_id}" in line
    # A routine outcome is a DEBUG line (the stripe_events row above is its record); strangers are INFO.
    assert not [m for m in webhook_logs(caplog, logging.INFO) if event["id"] in m]


async def test_five_concurrent_copies_of_one_event_are_processed_once(webhook_shop: Shop, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="rxshop.web.webhook")
    webhook_shop.pause()
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)

    attempts = webhook_shop.deliver(event["id"], copies=5, concurrent=True)

    assert [a["status_code"] for a in attempts] == [200] * 5
    rows = webhook_shop.event_rows()
    assert list(rows) == [event["id"]]
    assert (rows[event["id"]].outcome, rows[event["id"]].order_id) == (Outcome.FULFILLED, purchase.order_id)
    order = webhook_shop.order(purchase.order_id)
    assert order.status == OrderStatus.PAID and order.paid_at is not None
    outcomes = sorted(
        m.rsplit("outcome=", 1)[1].split()[0] for m in webhook_logs(caplog, logging.DEBUG) if event["id"] in m
    )
    assert outcomes == ["duplicate"] * 4 + ["fulfilled"]


async def test_a_redelivery_after_success_is_a_no_op(webhook_shop: Shop) -> None:
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)
    webhook_shop.delivered(event["id"])
    before = webhook_shop.order(purchase.order_id)

    redelivered = webhook_shop.control(f"events/{event['id']}/redeliver", {})

    assert redelivered["status_code"] == 200
    assert webhook_shop.order(purchase.order_id) == before
    assert webhook_shop.event_rows()[event["id"]].outcome == Outcome.FULFILLED


# Requests that must be refused before anything is written.


def _rotated(body: str, secret: str, timestamp: int) -> str:
    """A header as Stripe sends it while an endpoint's secret is being rolled: one v1 per secret."""
    old = hmac.new(b"whsec_the_old_secret", f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    new = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={old},v1={new}"


BAD_REQUESTS = {
    "forged signature": lambda shop, body: (body, f"t={int(time.time())},v1={secrets.token_hex(32)}"),
    "body changed after signing": lambda shop, body: (
        body.replace('"amount_total": 6000', '"amount_total": 1'),
        shop.sign(body),
    ),
    "wrong secret": lambda shop, body: (body, shop.sign(body, secret="whsec_somebody_else")),
    "stale timestamp (301 s)": lambda shop, body: (body, shop.sign(body, timestamp=int(time.time()) - 301)),
    "missing header": lambda shop, body: (body, None),
    "empty header": lambda shop, body: (body, ""),
    "v0 scheme only": lambda shop, body: (body, shop.sign(body).replace("v1=", "v0=")),
    "malformed JSON": lambda shop, body: (body[:-20], shop.sign(body[:-20])),
    "JSON that is not an event": lambda shop, body: (
        '{"id": "evt_1", "data": []}',
        shop.sign('{"id": "evt_1", "data": []}'),
    ),
    "not UTF-8": lambda shop, body: (b"\xff\xfe" + body.encode(), shop.sign(body)),
}


async def test_bad_requests_are_400_and_write_nothing(webhook_shop: Shop, caplog) -> None:
    webhook_shop.pause()
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)
    body = json.dumps(webhook_shop.payload(event["id"]), indent=2)
    assert '"amount_total": 6000' in body

    for case, make in BAD_REQUESTS.items():
        caplog.clear()
        content, signature = make(webhook_shop, body)
        response = webhook_shop.post(content, signature)

        assert response.status_code == 400, (case, response.text)
        assert "error" in response.json(), case
        assert webhook_shop.event_rows() == {}, case
        assert webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING, case
        assert [m for m in webhook_logs(caplog, logging.WARNING) if m.startswith("Webhook refused")], case

    # The very same event, properly signed, goes through afterwards.
    assert webhook_shop.post(body, webhook_shop.sign(body)).status_code == 200
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID


async def test_timestamp_inside_the_300_s_tolerance_is_accepted(webhook_shop: Shop) -> None:
    webhook_shop.pause()
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    body = json.dumps(
        webhook_shop.payload(webhook_shop.event("checkout.session.completed", purchase.session_id)["id"])
    )

    response = webhook_shop.post(body, webhook_shop.sign(body, timestamp=int(time.time()) - 280))

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.FULFILLED


async def test_secret_rotation_header_with_one_valid_signature_is_accepted(webhook_shop: Shop) -> None:
    webhook_shop.pause()
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    body = json.dumps(
        webhook_shop.payload(webhook_shop.event("checkout.session.completed", purchase.session_id)["id"])
    )

    response = webhook_shop.post(
        body, _rotated(body, webhook_shop.settings.stripe_webhook_secret, int(time.time()))
    )

    assert response.status_code == 200, response.text
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID
    # Neither signature valid: refused.
    other = _rotated(body, "whsec_not_ours_either", int(time.time()))
    assert webhook_shop.post(body, other).status_code == 400


async def test_simulator_signing_with_another_secret_is_refused_until_fixed(webhook_shop: Shop) -> None:
    webhook_shop.control("config", {"webhook_secret": "whsec_rotated_at_stripe_but_not_here"})
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)

    failed = webhook_shop.delivered(event["id"], "failed")  # every scheduled retry refused

    assert statuses(failed) == [400] * 4
    assert (
        webhook_shop.event_rows() == {}
        and webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING
    )

    webhook_shop.control("config", {"webhook_secret": webhook_shop.settings.stripe_webhook_secret})
    assert webhook_shop.control(f"events/{event['id']}/redeliver", {})["status_code"] == 200
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID


async def test_no_secret_configured_is_503_with_a_log_line_and_nothing_written(
    webhook_shop: Shop, caplog
) -> None:
    secret = webhook_shop.settings.stripe_webhook_secret
    assert webhook_shop.configure(STRIPE_WEBHOOK_SECRET="").stripe_webhook_secret is None
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)

    failed = webhook_shop.delivered(event["id"], "failed")

    assert statuses(failed) == [503] * 4
    assert (
        webhook_shop.event_rows() == {}
        and webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING
    )
    errors = webhook_logs(caplog, logging.ERROR)
    assert errors and all("503" in m and "STRIPE_WEBHOOK_SECRET is not set" in m for m in errors)

    # Configured again, Stripe's next attempt (here a manual redelivery) is recorded.
    webhook_shop.configure(STRIPE_WEBHOOK_SECRET=secret)
    assert webhook_shop.control(f"events/{event['id']}/redeliver", {})["status_code"] == 200
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID


async def test_database_failure_is_5xx_then_the_simulators_retry_succeeds(webhook_shop: Shop, caplog) -> None:
    # Retries far enough apart that the table is back before the schedule runs out.
    webhook_shop.control("config", {"retry_delays": [0.25] * 12})
    purchase = await webhook_shop.purchase()
    with webhook_shop.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE orders RENAME TO orders_offline")
    try:
        webhook_shop.pay(purchase)
        event = webhook_shop.event("checkout.session.completed", purchase.session_id)
        deadline = time.monotonic() + 5
        while not (attempts := statuses(webhook_shop.control(f"events/{event['id']}"))):
            assert time.monotonic() < deadline, "no delivery attempt"
            time.sleep(0.01)
        assert attempts[0] == 500
        assert webhook_shop.event_rows() == {}  # the event row was rolled back with the rest
    finally:
        with webhook_shop.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE orders_offline RENAME TO orders")

    summary = webhook_shop.delivered(event["id"])

    codes = statuses(summary)
    assert codes[-1] == 200 and set(codes[:-1]) == {500}
    assert not any(a["manual"] for a in summary["delivery"]["attempts"])
    row = webhook_shop.event_rows()[event["id"]]
    assert (row.outcome, row.order_id) == (Outcome.FULFILLED, purchase.order_id)
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID
    assert any("NOT recorded" in m for m in webhook_logs(caplog, logging.ERROR))


async def test_session_without_an_order_is_200_logged_and_creates_nothing(webhook_shop: Shop, caplog) -> None:
    caplog.set_level(logging.INFO, logger="rxshop.web.webhook")
    client = webhook_shop.sim.client()
    ours = await webhook_shop.purchase()
    strangers = [
        client.v1.checkout.sessions.create(
            webhook_shop.sim.session_params(  # names an order we never made
                client_reference_id="ord_000000000000000000000000",
                metadata={"order_id": "ord_000000000000000000000000"},
            )
        ),
        client.v1.checkout.sessions.create(
            webhook_shop.sim.session_params(  # names none at all
                client_reference_id=None, metadata={}
            )
        ),
    ]
    for stranger in strangers:
        webhook_shop.pay(stranger.id)
        event = webhook_shop.event("checkout.session.completed", stranger.id)

        assert statuses(webhook_shop.delivered(event["id"])) == [200]
        row = webhook_shop.event_rows()[event["id"]]
        assert (row.outcome, row.session_id, row.order_id) == (Outcome.UNKNOWN_SESSION, stranger.id, None)
        assert any(event["id"] in m and "outcome=unknown_session" in m for m in webhook_logs(caplog))

    assert webhook_shop.order_count() == 1
    assert webhook_shop.order(ours.order_id).status == OrderStatus.PENDING


async def test_other_event_types_are_200_and_ignored(webhook_shop: Shop) -> None:
    webhook_shop.pause()
    purchase = await webhook_shop.purchase()
    webhook_shop.pay(purchase)
    intent_id = webhook_shop.sim_session(purchase.session_id)["payment_intent"]["id"]
    intent = webhook_shop.sim.client().v1.payment_intents.retrieve(intent_id).to_dict()
    body = json.dumps(
        {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": intent},
            "livemode": False,
        }
    )

    response = webhook_shop.post(body, webhook_shop.sign(body))

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.IGNORED
    [row] = webhook_shop.event_rows().values()
    assert (row.type, row.outcome, row.session_id, row.order_id) == (
        "payment_intent.succeeded",
        Outcome.IGNORED,
        None,
        None,
    )
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING
    # The same id again: a duplicate, still 200.
    assert webhook_shop.post(body, webhook_shop.sign(body)).json()["outcome"] == Outcome.DUPLICATE


async def test_live_push_without_a_running_app_never_breaks_the_endpoint(
    webhook_shop: Shop, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After recording, the endpoint says the order changed (rxshop.core.notify); the app's start-up
    (rxshop.state.live.start_live_updates) subscribes publish_orders_changed to that. Here it is wired the same
    way, with the app imported but not running. No tab of these visitors listens, so the push loads and
    writes no Reflex state at all (it used to create one per paying visitor), and never touches Stripe's
    answer."""
    from rxshop.state import live, tabs

    notified: list[str] = []

    async def noting(visitor_id: str, order_id: str) -> None:  # beside the app's listener
        notified.append(visitor_id)

    # Start-up as production does it, and a second listener that notes whom each change was for.
    import rxshop.rxshop

    app = rxshop.rxshop.app
    modified: list[str] = []
    real_modify_state = app.modify_state

    def recording_modify_state(token, *args, **kwargs):
        modified.append(str(token))
        return real_modify_state(token, *args, **kwargs)

    monkeypatch.setattr(app, "modify_state", recording_modify_state)
    monkeypatch.setattr(notify, "_listeners", [])
    monkeypatch.setattr(live, "_app", None)
    monkeypatch.setattr(tabs, "_app", None)
    live.start_live_updates(app)
    assert notify._listeners == [live.publish_orders_changed]
    notify.subscribe(noting)
    caplog.set_level(logging.INFO)
    purchases = [await webhook_shop.purchase() for _ in range(3)]
    for purchase in purchases:
        webhook_shop.pay(purchase)
        event = webhook_shop.event("checkout.session.completed", purchase.session_id)
        assert statuses(webhook_shop.delivered(event["id"])) == [200]
    webhook_shop.endpoint.wait_idle()  # every push ran to its end

    assert {webhook_shop.order(p.order_id).status for p in purchases} == {OrderStatus.PAID}
    assert notified == [p.visitor_id for p in purchases]
    assert modified == []  # no tab listens: no state loaded, created or written
    messages = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    pushed = [m for name, _, m in messages if name == "reflex.app" and "'visitor-" in m]
    assert not pushed, pushed
    escaped = [m for name, level, m in messages if level >= logging.ERROR and name != "rxshop.state.live"]
    assert not escaped, escaped
    # A duplicate changes nothing for the buyer: no push for it.
    assert webhook_shop.control(f"events/{event['id']}/redeliver", {})["status_code"] == 200
    webhook_shop.endpoint.wait_idle()
    assert notified == [p.visitor_id for p in purchases]
