"""An order's timeline names the changes that were made, even when the return page, the payment webhook and
refund webhooks race for it: each status row's "from" is the previous row's "to" (threads, each with its
own connection, on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlmodel import select

from rxshop.core.db import new_session
from rxshop.core.models import OrderEvent
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.history import EventKind
from rxshop.orders.webhook_batch import apply_webhook_events
from rxshop.payments.wire import Event, event_from_json
from tests.fixtures.db import bought_order, checkout_for, session_json, stored_order

ORDERS = 25


def _event(event_type: str, obj: dict[str, Any]) -> Event:
    body = {
        "id": "evt_" + secrets.token_hex(12),
        "type": event_type,
        "created": 1_700_000_000,
        "livemode": False,
        "data": {"object": obj},
    }
    return event_from_json(json.dumps(body).encode())


def _refunded(order, pi: str, amount: int) -> Event:
    charge = {"id": "ch_" + order.id[4:], "currency": order.currency, "amount_refunded": amount}
    return _event("charge.refunded", {**charge, "payment_intent": pi, "metadata": {"order_id": order.id}})


def _racers(engine, order) -> list[Callable[[], object]]:
    """The return page, the payment's webhook, and two refund webhooks (half, then all) for one order."""
    pi = "pi_" + order.id[4:]
    checkout = checkout_for(order, payment_intent=pi)
    deliveries = [
        _event("checkout.session.completed", session_json(checkout)),
        _refunded(order, pi, order.amount_total // 2),
        _refunded(order, pi, order.amount_total),
    ]

    def return_page() -> object:
        with new_session(engine) as session:
            return fulfill_checkout(session=session, checkout=checkout)

    def webhook(event: Event) -> Callable[[], object]:
        def deliver() -> object:
            with new_session(engine) as session:
                [result] = apply_webhook_events(session=session, events=[event])
            assert not isinstance(result, Exception), result
            return result

        return deliver

    return [return_page, *(webhook(e) for e in deliveries)]


def _race(calls: list[Callable[[], object]]) -> None:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], object]) -> object:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        for future in [pool.submit(run, c) for c in calls]:
            future.result(timeout=60)


def test_racing_payments_and_refunds_leave_a_timeline_of_real_transitions(engine, session) -> None:
    orders = [bought_order(session, secrets.token_hex(16)) for _ in range(ORDERS)]

    for order in orders:
        _race(_racers(engine, order))

    for order in orders:
        rows = session.exec(
            select(OrderEvent)
            .where(OrderEvent.order_id == order.id, OrderEvent.kind == EventKind.STATUS)
            .order_by(OrderEvent.id)
        ).all()
        steps = [tuple(r.detail.split(" -> ")) for r in rows]
        final = stored_order(session, order.id)
        assert (
            final is not None and final.status == S.REFUNDED and final.amount_refunded == order.amount_total
        )
        # One chain from pending to where the order is ("pending -> refunded" is real: refunds reported
        # before the payment are applied with it).
        assert steps and steps[0][0] == S.PENDING and steps[-1][1] == final.status, steps
        for (_, to), (since, _) in zip(steps, steps[1:], strict=False):
            assert since == to, steps
