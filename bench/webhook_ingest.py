"""Webhook ingest: signed checkout.session.completed deliveries per second into POST /stripe/webhook.

Each event is verified, de-duplicated and fulfills a real pending order (SQLite WAL); the endpoint runs in its
own uvicorn process. Prints events/s and latency percentiles, and the rate for repeated deliveries.
Target on this 2-core machine: >= 150 fulfillments/s with p95 <= 250 ms, >= 500 duplicates/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import time
from pathlib import Path

import stripe
from _http import post_all
from _support import check, free_port, percentile, serving, use_fresh_database

SECRET = "whsec_bench_" + secrets.token_hex(8)
N_EVENTS = 1000
CONCURRENCY = 20


def make_orders(n: int) -> list[dict]:
    from rxshop import orders
    from rxshop.cart import price_cart
    from rxshop.db import new_session

    cart = price_cart({"mug": 2, "notebook": 1})
    sessions = []
    with new_session() as session:
        for _ in range(n):
            order = orders.create_pending_order(session=session, visitor_id=secrets.token_hex(16), cart=cart)
            session_id = "cs_test_" + secrets.token_hex(20)
            orders.attach_checkout_session(
                session=session,
                order_id=order.id,
                session_id=session_id,
                url="https://example.test/pay",
                expires_at=int(time.time()) + 1800,
            )
            sessions.append(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "status": "complete",
                    "payment_status": "paid",
                    "amount_total": cart.total,
                    "currency": cart.currency,
                    "client_reference_id": order.id,
                    "metadata": {"order_id": order.id},
                    "payment_intent": "pi_" + secrets.token_hex(12),
                }
            )
    return sessions


def signed(event: dict) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event)
    now = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload}", SECRET)
    return payload.encode(), {
        "Stripe-Signature": f"t={now},v1={signature}",
        "Content-Type": "application/json",
    }


def webhook_endpoint(port: int):
    """The endpoint in its own process (uvicorn, one worker), as in production: the load generator here
    must not share a GIL with the server it measures."""
    bench = Path(__file__).resolve().parent
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "webhook_server:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return serving(
        command,
        f"http://127.0.0.1:{port}/stripe/webhook",
        cwd=bench,
        env={**os.environ, "PYTHONPATH": f"{bench.parent}:{bench}"},
    )


def main() -> None:
    use_fresh_database(
        STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_SECRET_KEY="sk_test_bench", STRIPE_API_BASE="http://127.0.0.1:9"
    )
    sessions = make_orders(N_EVENTS)
    events = [
        {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "data": {"object": s},
        }
        for s in sessions
    ]
    port = free_port()
    url = f"http://127.0.0.1:{port}/stripe/webhook"
    with webhook_endpoint(port):
        elapsed, latencies, statuses = asyncio.run(post_all(url, [signed(e) for e in events], CONCURRENCY))
        assert statuses.count(200) == len(events), f"not all recorded: {sorted(set(statuses))}"
        met = check("fulfillments/s", len(events) / elapsed, 150, at_least=True)
        met &= check("fulfill p95 ms", percentile(latencies, 95) * 1000, 250)
        print(
            f"webhook ingest (fulfill): {len(events) / elapsed:,.0f} events/s, "
            f"p50 {percentile(latencies, 50) * 1000:.1f} ms, p95 {percentile(latencies, 95) * 1000:.1f} ms "
            f"({len(events)} events, {CONCURRENCY} concurrent)"
        )
        elapsed, latencies, statuses = asyncio.run(
            post_all(url, [signed(e) for e in events[:500]], CONCURRENCY)
        )
        assert statuses.count(200) == 500
        met &= check("duplicates/s", 500 / elapsed, 500, at_least=True)
        print(
            f"webhook ingest (duplicates): {500 / elapsed:,.0f} events/s, "
            f"p95 {percentile(latencies, 95) * 1000:.1f} ms"
        )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
