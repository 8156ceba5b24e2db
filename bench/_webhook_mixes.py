"""The webhook benchmark's traffic: Stripe's events as Stripe sends them (the full checkout.session and charge
objects of Stripe's published examples, tests/data/stripe-openapi-fixtures3.json, with this order's
values), arranged in the four mixes of issue 22, and what the database must show afterwards.

A story is one order's events in the order Stripe sends them (a delayed payment's success or failure, a
refund, come a while after the completed event: `LATER` deliveries). Deliveries are sent in order, so a
story whose last event was answered is complete and checked; those cut off by the time limit are not.
"""

from __future__ import annotations

import copy
import json
import random
import secrets
import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sqlalchemy as sa
import stripe
from _support import REPO, WEBHOOK_SECRET

LATER = 150  # deliveries between a story's first event and its follow-ups
# Kinds of story: the final status each leaves, and how the order is seeded (paid by the return page or not).
FINAL = {
    "paid": "paid",
    "return": "paid",
    "async_ok": "paid",
    "async_failed": "failed",
    "expired": "expired",
    "refund": "refunded",
}


@cache
def _examples() -> dict[str, Any]:
    resources = json.loads((REPO / "tests/data/stripe-openapi-fixtures3.json").read_text())["resources"]
    return {"session": resources["checkout.session"], "charge": resources["charge"]}


@dataclass
class Story:
    kind: str
    order: dict
    bodies: list[bytes] = field(default_factory=list)
    last: int = -1  # index of its last delivery


def _session(order: dict, *, status: str, payment_status: str) -> dict:
    """The checkout.session object of this order, as Stripe's example with our values."""
    obj = copy.deepcopy(_examples()["session"])
    offer = order.get("shipping_offer")
    subtotal = order.get("amount_subtotal") or order["amount_total"]
    obj.update(
        id=order["stripe_session_id"],
        url=None,
        status=status,
        payment_status=payment_status,
        currency=order["currency"],
        client_reference_id=order["id"],
        metadata={"order_id": order["id"]},
        payment_intent=order["payment_intent"],
        amount_subtotal=subtotal,
        amount_total=order["amount_total"],
        customer_email=None,
        discounts=[],
        shipping_options=[],
        shipping_cost=None,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
    )
    obj["customer_details"].update(email="buyer@example.test", name="Pat Buyer", phone="+15555550100")
    address = {"line1": "1 Main St", "line2": None, "city": "Springfield", "state": None}
    address |= {"postal_code": "12345", "country": "US"}
    obj["customer_details"]["address"] = address
    obj["collected_information"]["shipping_details"] = {"name": "Pat Buyer", "address": address}
    if offer:  # rxshop's orders carry an offer: the first option chosen, as the order's checkout offered
        amounts = [int(item.split(":", 2)[1]) for item in offer.split(",")]
        rates = [f"shr_{i}{order['id'][-12:]}" for i in range(len(amounts))]
        obj.update(
            amount_total=subtotal + amounts[0],
            shipping_options=[
                {"shipping_amount": a, "shipping_rate": r} for a, r in zip(amounts, rates, strict=True)
            ],
            shipping_cost={"amount_subtotal": amounts[0], "amount_tax": 0, "amount_total": amounts[0]}
            | {"shipping_rate": rates[0]},
        )
        obj["total_details"]["amount_shipping"] = amounts[0]
    return obj


def _charge(order: dict, refunded: int) -> dict:
    obj = copy.deepcopy(_examples()["charge"])
    obj.update(
        id="ch_" + order["id"][-20:],
        amount=refunded,
        amount_captured=refunded,
        amount_refunded=refunded,
        refunded=True,
        currency=order["currency"],
        payment_intent=order["payment_intent"],
        metadata={"order_id": order["id"]},
    )
    return obj


def _event(type_: str, obj: dict) -> bytes:
    event = {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "api_version": "2025-03-31.basil",
        "type": type_,
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }
    return json.dumps(event).encode()


def story_events(kind: str, order: dict) -> list[bytes]:
    """The events Stripe sends for one order of this kind, in order."""
    paid = {"status": "complete", "payment_status": "paid"}
    unpaid = {"status": "complete", "payment_status": "unpaid"}
    if kind in ("paid", "return"):
        return [_event("checkout.session.completed", _session(order, **paid))]
    if kind == "expired":
        return [
            _event("checkout.session.expired", _session(order, status="expired", payment_status="unpaid"))
        ]
    if kind in ("async_ok", "async_failed"):
        after = ("checkout.session.async_payment_succeeded", paid)
        if kind == "async_failed":
            after = ("checkout.session.async_payment_failed", unpaid)
        return [
            _event("checkout.session.completed", _session(order, **unpaid)),
            _event(after[0], _session(order, **after[1])),
        ]
    assert kind == "refund"
    completed = _session(order, **paid)
    return [
        _event("checkout.session.completed", completed),
        _event("charge.refunded", _charge(order, completed["amount_total"])),
    ]


def day_kind(rng: random.Random) -> str:
    """A realistic day: 5 % expired, 3 % delayed (half fail), 2 % refunded, 20 % after the return page."""
    x = rng.random()
    for kind, upto in (("expired", 0.05), ("async_ok", 0.065), ("async_failed", 0.08), ("refund", 0.10)):
        if x < upto:
            return kind
    return "return" if x < 0.30 else "paid"


def arrange(stories: list[Story], repeats: float, rng: random.Random) -> list[bytes]:
    """Every story's events in Stripe's order (follow-ups LATER deliveries after the first), a share
    `repeats` of deliveries being a redelivery of an earlier one (the same body: the same event id)."""
    out: list[bytes] = []
    pending: list[tuple[int, Story, bytes]] = []
    for story in stories:
        first, *rest = story_events(story.kind, story.order)
        story.bodies = [first, *rest]
        due = [p for p in pending if p[0] <= len(out)]
        pending = [p for p in pending if p[0] > len(out)]
        for _at, s, body in due:
            out.append(body)
            s.last = len(out) - 1
        out.append(first)
        story.last = len(out) - 1
        pending += [(len(out) + LATER, story, body) for body in rest]
        if out and rng.random() < repeats:
            out.append(rng.choice(out[-1000:]))
    for _at, s, body in pending:
        out.append(body)
        s.last = len(out) - 1
    return out


def signed(payload: bytes) -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload.decode()}", WEBHOOK_SECRET)
    return payload, {"Stripe-Signature": f"t={now},v1={signature}", "Content-Type": "application/json"}


def problems(app: str, url: str, stories: list[Story], sent: int) -> list[str]:
    """What the database shows wrong for every story answered in full (its last delivery among the
    first `sent`): each order in its final status, paid once (one fulfilled event, one confirmation),
    refunded once (one refund email), an expired or failed checkout's hold given back."""
    done = [s for s in stories if 0 <= s.last < sent]
    if not done:
        return []
    eng = sa.create_engine(url)
    ids = [s.order["id"] for s in done]
    found: list[str] = []
    with eng.connect() as conn:
        table = "orders" if app == "rxshop" else "bare_orders"
        cols = "status, amount_refunded, amount_total" if app == "rxshop" else "status, 0, 0"
        rows = {r[0]: r for r in _chunked(conn, f"SELECT id, {cols} FROM {table} WHERE id IN :ids", ids)}
        counts = _rxshop_counts(conn, ids) if app == "rxshop" else {}
    eng.dispose()
    for story in done:
        oid = story.order["id"]
        row = rows.get(oid)
        if row is None or row[1] != FINAL[story.kind]:
            found.append(f"{story.kind} order {oid}: {row and row[1]} (want {FINAL[story.kind]})")
        elif app == "rxshop":
            found += _rxshop_problems(story, row, counts)
    return found


def _chunked(conn: sa.Connection, sql: str, ids: list[str]) -> list[Any]:
    stmt = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True))
    return [r for i in range(0, len(ids), 500) for r in conn.execute(stmt, {"ids": ids[i : i + 500]})]


def _rxshop_counts(conn: sa.Connection, ids: list[str]) -> dict[tuple[str, str], Any]:
    counts: dict[tuple[str, str], Any] = {}
    queries = (
        (
            "SELECT order_id, 'fulfilled', count(*) FROM stripe_events WHERE outcome = 'fulfilled'"
            " AND order_id IN :ids GROUP BY order_id"
        ),
        "SELECT order_id, kind, count(*) FROM mail_outbox WHERE order_id IN :ids GROUP BY order_id, kind",
        (
            "SELECT order_id, 'holds', min(status) || '/' || max(status) FROM stock_reservations"
            " WHERE order_id IN :ids GROUP BY order_id"
        ),
    )
    for sql in queries:
        counts.update({(r[0], r[1]): r[2] for r in _chunked(conn, sql, ids)})
    return counts


# kind: (fulfilled events, confirmation emails, refund emails, holds afterwards)
_WANT = {
    "paid": (1, 1, 0, "sold/sold"),
    "return": (0, 0, 0, "sold/sold"),
    "async_ok": (1, 1, 0, "sold/sold"),
    "async_failed": (0, 0, 0, "released/released"),
    "expired": (0, 0, 0, "released/released"),
    "refund": (1, 1, 1, "sold/sold"),
}


def _rxshop_problems(story: Story, row: Any, counts: dict[tuple[str, str], Any]) -> list[str]:
    oid = story.order["id"]
    got = (
        counts.get((oid, "fulfilled"), 0),
        counts.get((oid, "order_confirmed"), 0),
        counts.get((oid, "refunded"), 0),
        counts.get((oid, "holds")),
    )
    out = [] if got == _WANT[story.kind] else [f"{story.kind} order {oid}: {got} (want {_WANT[story.kind]})"]
    if story.kind == "refund" and row[2] != row[3]:
        out.append(f"refund order {oid}: refunded {row[2]} of {row[3]}")
    return out
