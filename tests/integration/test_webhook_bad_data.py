"""Data the database would refuse, from a buyer's typing or a signed event: the payment is still recorded,
an event no retry can fix is kept for the owner (answered 200), a bad delivery never fails its batch
neighbours, and no error log carries the buyer's data.

Driven through POST /stripe/webhook (uvicorn, signed events) and the return page's `confirm_return`, on
SQLite and PostgreSQL (which refuses a NUL in text and cannot store a lone surrogate).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from rxshop.core.db import new_session
from rxshop.core.models import InboxItem
from rxshop.domain.addresses import ShippingAddress
from rxshop.domain.lifecycle import OrderStatus, Outcome
from rxshop.orders.checkout import confirm_return
from tests.fixtures.shop import PAYING_CARD, Purchase, Shop, wait_until

# What a buyer types, with characters PostgreSQL refuses (NUL), line breaks and tabs, a bidi override.
TYPED_SHIPPING = {
    "name": "Ada\tLovelace",
    "address": {
        "line1": "1 Analytical\u202e Way",
        "line2": "Apt\x00 5",
        "city": "San\x00 Francisco",
        "state": "CA",
        "postal_code": "94107",
        "country": "US",
    },
}
CLEAN_ADDRESS = ShippingAddress(
    "Ada Lovelace", "1 Analytical Way", "Apt 5", "San Francisco", "CA", "94107", "US"
)
TYPED_EMAIL = "ada\x00@example.com"


def statuses(shop: Shop, event_id: str) -> list[int | None]:
    return [a["status_code"] for a in shop.control(f"events/{event_id}")["delivery"]["attempts"]]


def inbox(shop: Shop) -> list[InboxItem]:
    with new_session(shop.engine) as session:
        return list(session.exec(select(InboxItem).order_by(InboxItem.id)).all())


async def paid_with_typing(shop: Shop) -> Purchase:
    purchase = await shop.purchase()
    shop.control(
        f"sessions/{purchase.session_id}/pay",
        {"card": PAYING_CARD, "shipping": TYPED_SHIPPING, "email": TYPED_EMAIL},
    )
    return purchase


async def held_completion(shop: Shop) -> tuple[Purchase, dict[str, Any]]:
    """A paid purchase whose checkout.session.completed is held (webhooks paused): its payload."""
    shop.pause()
    purchase = await shop.purchase()
    shop.pay(purchase)
    return purchase, shop.payload(shop.event("checkout.session.completed", purchase.session_id)["id"])


def post_signed(shop: Shop, event: dict[str, Any]) -> httpx.Response:
    body = json.dumps(event)
    return shop.post(body, shop.sign(body))


# --- A buyer's typing ------------------------------------------------------------------------------------


async def test_control_characters_typed_on_the_hosted_page_never_stop_the_payment(webhook_shop: Shop) -> None:
    purchase = await paid_with_typing(webhook_shop)
    event = webhook_shop.event("checkout.session.completed", purchase.session_id)

    webhook_shop.delivered(event["id"])

    assert statuses(webhook_shop, event["id"]) == [200]  # the first delivery, not a retry
    order = webhook_shop.order(purchase.order_id)
    assert order.status == OrderStatus.PAID
    assert (order.shipping, order.customer_email) == (CLEAN_ADDRESS, "ada@example.com")
    assert webhook_shop.event_rows()[event["id"]].outcome == Outcome.FULFILLED


async def test_every_typed_field_of_a_signed_event_is_cleaned(webhook_shop: Shop) -> None:
    """Name, address lines, city, state, postal code, email and phone: NUL, lone surrogates (JSON "\\ud800"),
    line breaks, tabs and bidi overrides are dropped or made spaces."""
    purchase, event = await held_completion(webhook_shop)
    session = event["data"]["object"]
    session["customer_details"].update(email="\x00ann@example.com\n", phone="+1 415\x00 555\u202e 0100\t")
    session["collected_information"]["shipping_details"] = {
        "name": "Ann\ud800 Example\r\n",
        "address": {
            "line1": "\x001 Main\x1f St",
            "line2": "\x00\x7f\x9f",
            "city": "Portland\x00",
            "state": "O\x00R",
            "postal_code": "97201\x00",
            "country": "us\x00",
        },
    }

    response = post_signed(webhook_shop, event)

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.FULFILLED
    order = webhook_shop.order(purchase.order_id)
    assert order.status == OrderStatus.PAID
    assert order.shipping == ShippingAddress(
        "Ann Example", "1 Main St", None, "Portland", "OR", "97201", "US"
    )
    assert (order.customer_email, order.phone) == ("ann@example.com", "+1 415 555 0100")


async def test_the_return_page_records_a_payment_typed_with_control_characters(shop: Shop) -> None:
    shop.pause()  # the return page alone
    purchase = await paid_with_typing(shop)

    result = await confirm_return(
        visitor_id=purchase.visitor_id, session_id=purchase.session_id, gateway=shop.gateway
    )

    assert result.outcome == Outcome.FULFILLED and result.order is not None
    assert (result.order.shipping, result.order.customer_email) == (CLEAN_ADDRESS, "ada@example.com")
    assert shop.order(purchase.order_id).status == OrderStatus.PAID


# --- Events the database refuses whatever is done ---------------------------------------------------------


async def test_a_signed_event_the_database_refuses_is_kept_for_the_owner_and_answered_200(
    webhook_shop: Shop, caplog
) -> None:
    """An amount past 64 bits (SQLite cannot bind it; PostgreSQL: out of range): no retry can store it."""
    caplog.set_level(logging.INFO)
    purchase, event = await held_completion(webhook_shop)
    event["data"]["object"]["amount_total"] = 10**30

    response = post_signed(webhook_shop, event)

    assert response.status_code == 200 and response.json()["outcome"] == Outcome.UNPROCESSABLE
    row = webhook_shop.event_rows()[event["id"]]
    assert (row.type, row.outcome) == ("checkout.session.completed", Outcome.UNPROCESSABLE)
    assert "database refused" in row.detail
    [item] = inbox(webhook_shop)
    assert (item.kind, item.reference, item.event_id) == ("unprocessable", event["id"], event["id"])
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PENDING
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(event["id"] in m and "unprocessable" in m for m in errors)
    # Delivered again (Stripe's retry, or a copy): the same record, answered 200 again, nothing more.
    again = post_signed(webhook_shop, event)
    assert again.status_code == 200 and again.json()["outcome"] == Outcome.DUPLICATE
    assert list(webhook_shop.event_rows()) == [event["id"]] and len(inbox(webhook_shop)) == 1


def _hold_writes(shop: Shop, order_id: str, release: threading.Event, held: threading.Event) -> None:
    """Keep the database busy for the webhook: SQLite's write lock, or the order's row on PostgreSQL."""
    with shop.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.execute(sa.text("SELECT 1 FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
        held.set()
        release.wait(10)
        connection.rollback()


async def test_a_bad_delivery_never_fails_the_good_one_in_its_batch(webhook_shop: Shop) -> None:
    """Group commit: deliveries that arrive while the database works go together in one transaction. A
    first delivery waits on a lock held here while a bad and a good one queue behind it; released, the
    two go as one batch: the good one is paid and answered 200, the bad one kept for the owner."""
    shop = webhook_shop
    blocker, blocker_event = await held_completion(shop)
    bad, bad_event = await held_completion(shop)
    good, good_event = await held_completion(shop)
    bad_event["created"] = 10**30  # passes every check; no database can store it
    release, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_writes, args=(shop, blocker.order_id, release, held))
    holder.start()
    with ThreadPoolExecutor(3) as pool:
        try:
            assert held.wait(5)
            first = pool.submit(post_signed, shop, blocker_event)
            wait_until(lambda: shop.endpoint.app.count == 1)
            time.sleep(0.3)  # verified, and waiting on the lock in the database
            others = [pool.submit(post_signed, shop, e) for e in (bad_event, good_event)]
            wait_until(lambda: shop.endpoint.app.count == 3)
            time.sleep(0.3)  # both verified and queued behind it
        finally:
            release.set()
            holder.join()
        blocked, refused, paid = first.result(), others[0].result(), others[1].result()

    assert blocked.status_code == 200 and blocked.json()["outcome"] == Outcome.FULFILLED
    assert paid.status_code == 200 and paid.json()["outcome"] == Outcome.FULFILLED
    assert refused.status_code == 200 and refused.json()["outcome"] == Outcome.UNPROCESSABLE
    assert [shop.order(p.order_id).status for p in (blocker, bad, good)] == [
        OrderStatus.PAID,
        OrderStatus.PENDING,
        OrderStatus.PAID,
    ]
    outcomes = {k: v.outcome for k, v in shop.event_rows().items()}
    assert outcomes == {
        blocker_event["id"]: Outcome.FULFILLED,
        bad_event["id"]: Outcome.UNPROCESSABLE,
        good_event["id"]: Outcome.FULFILLED,
    }


# --- What the logs say -------------------------------------------------------------------------------------


async def test_a_failing_write_logs_no_buyer_data(webhook_shop: Shop, caplog) -> None:
    """A database failure is answered 5xx and logged at ERROR with its statement, never with its values
    (the buyer's email, phone and address were in the UPDATE's parameters)."""
    caplog.set_level(logging.INFO)
    webhook_shop.control("config", {"retry_delays": [0.25] * 12})
    purchase = await webhook_shop.purchase()
    with webhook_shop.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE orders RENAME COLUMN ship_line2 TO ship_line2_offline")
    try:
        webhook_shop.control(
            f"sessions/{purchase.session_id}/pay",
            {
                "card": PAYING_CARD,
                "shipping": TYPED_SHIPPING,
                "email": TYPED_EMAIL,
                "phone": "+1 415 555 0199",
            },
        )
        event = webhook_shop.event("checkout.session.completed", purchase.session_id)
        wait_until(lambda: 500 in statuses(webhook_shop, event["id"]))
    finally:
        with webhook_shop.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE orders RENAME COLUMN ship_line2_offline TO ship_line2")

    webhook_shop.delivered(event["id"])
    assert webhook_shop.order(purchase.order_id).status == OrderStatus.PAID
    formatter = logging.Formatter("%(levelname)s %(name)s %(message)s")
    logged = "\n".join(formatter.format(r) for r in caplog.records if r.levelno >= logging.WARNING)
    assert "NOT recorded" in logged and "ship_line2" in logged  # the failure and its statement are there
    assert "Traceback" in logged and "parameters hidden" in logged
    for buyer_data in ("example.com", "555 0199", "Analytical", "Apt", "Francisco", "94107", "Lovelace"):
        assert buyer_data not in logged, buyer_data


@pytest.mark.parametrize("field", ["id", "type"])
async def test_an_event_whose_id_or_type_is_not_stripes_is_refused(webhook_shop: Shop, field: str) -> None:
    """Such a body is no event of Stripe's, and could not even be recorded as unprocessable."""
    _purchase, event = await held_completion(webhook_shop)
    event[field] = event[field] + "\x00"

    response = post_signed(webhook_shop, event)

    assert response.status_code == 400 and webhook_shop.event_rows() == {}
