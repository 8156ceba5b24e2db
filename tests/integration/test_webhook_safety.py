"""The webhook endpoint's limits: oversized bodies, events of the other mode, signed events with bad data."""

from __future__ import annotations

import json

from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.web.limits import MAX_BODY_BYTES
from tests.fixtures.shop import Shop


async def _signed_completion(shop: Shop) -> tuple[dict, object]:
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)
    event = shop.payload(shop.event("checkout.session.completed", purchase.session_id)["id"])
    return event, purchase


async def test_a_body_over_the_cap_is_413_declared_or_streamed(webhook_shop: Shop) -> None:
    huge = b'{"id": "evt_x", "pad": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    declared = webhook_shop.post(huge, webhook_shop.sign(huge.decode()))
    assert declared.status_code == 413

    def chunks():  # no Content-Length: counted as it streams in
        for start in range(0, len(huge), 16 * 1024):
            yield huge[start : start + 16 * 1024]

    streamed = webhook_shop.http.post(
        webhook_shop.endpoint.url,
        content=chunks(),
        headers={"Content-Type": "application/json", "Stripe-Signature": webhook_shop.sign(huge.decode())},
    )
    assert streamed.status_code == 413 and "content-length" not in streamed.request.headers
    assert webhook_shop.event_rows() == {}


async def test_a_body_just_under_the_cap_is_read(webhook_shop: Shop) -> None:
    event, purchase = await _signed_completion(webhook_shop)
    event["padding"] = "x" * (MAX_BODY_BYTES - len(json.dumps(event)) - 100)
    body = json.dumps(event)
    assert MAX_BODY_BYTES - 200 < len(body) <= MAX_BODY_BYTES
    response = webhook_shop.post(body, webhook_shop.sign(body))
    assert response.status_code == 200 and response.json()["outcome"] == Outcome.FULFILLED


async def test_an_event_of_the_other_mode_is_refused(webhook_shop: Shop) -> None:
    """A test-mode shop never applies a livemode event (a misrouted endpoint), nor the reverse."""
    event, purchase = await _signed_completion(webhook_shop)
    event["livemode"] = True
    body = json.dumps(event)

    response = webhook_shop.post(body, webhook_shop.sign(body))

    assert response.status_code == 400 and "livemode" in response.json()["error"]
    assert webhook_shop.event_rows() == {}
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING


async def test_a_signed_event_with_bad_data_is_recorded_unprocessable_and_answered_200(
    webhook_shop: Shop,
) -> None:
    """Stripe would retry it for three days to the same end: it is kept for the owner and answered 200."""
    event, purchase = await _signed_completion(webhook_shop)
    event["data"]["object"]["amount_total"] = "a lot"
    body = json.dumps(event)

    response = webhook_shop.post(body, webhook_shop.sign(body))

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.UNPROCESSABLE
    row = webhook_shop.event_rows()[event["id"]]
    assert (row.type, row.outcome, row.order_id) == (
        "checkout.session.completed",
        Outcome.UNPROCESSABLE,
        None,
    )
    assert "a lot" in row.detail
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING
    # Delivered again: the same record, nothing more.
    again = webhook_shop.post(body, webhook_shop.sign(body))
    assert again.status_code == 200 and again.json()["outcome"] == Outcome.DUPLICATE
    assert len(webhook_shop.event_rows()) == 1
