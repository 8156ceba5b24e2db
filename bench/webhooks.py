"""Webhooks: 50 concurrent senders of signed checkout.session.completed events, rxshop and the bare app side by side.

Every event pays a real pending order created beforehand (rxshop: clones of an order made by its order
service, lines and amounts included; the bare app: rows in its table), so rxshop runs its full fulfillment
path: signature, de-duplication row, order lookup, amount check, conditional UPDATE, event outcome, and the
live push to the visitor's My Orders state. Two mixes: every delivery new, and 30 % repeats of an earlier
delivery (same event id and body, as Stripe retries). Sending stops after --seconds (bounded by count
too); in-flight requests finish. Each app on granian, one worker, SQLite WAL (or --db postgres: PostgreSQL
+ Redis + 2 workers). Rounds alternate; afterwards the database must show exactly one paid order per new
event answered 200.

Targets: events/s rxshop / bare >= 0.75 and rxshop p95 <= 50 ms, in both mixes.

    python bench/webhooks.py [--rounds 3] [--seconds 8] [--senders 50] [--db sqlite|postgres]
    python bench/webhooks.py --quick      # one round, 3 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import statistics
import time

import stripe
from _http import post_all
from _seed import bare_orders, count_paid, rxshop_orders
from _support import (
    WEBHOOK_SECRET,
    abba,
    check,
    cpu_seconds,
    finish,
    loadavg,
    new_database,
    percentile,
    processes,
    start_backend,
    start_simulator,
    stop_backend,
)

MIXES = {"new": 0.0, "dup30": 0.3}


def _shipping_fields(order: dict) -> dict:
    """rxshop's orders carry a shipping offer: the session reports its options, the first one chosen,
    the subtotal and the buyer's address, as Stripe sends them (the bare app's rows have no offer)."""
    offer = order.get("shipping_offer")
    if not offer:
        return {"amount_total": order["amount_total"]}
    amounts = [int(item.split(":", 2)[1]) for item in offer.split(",")]
    rates = ["shr_" + secrets.token_hex(8) for _ in amounts]
    subtotal = order["amount_subtotal"]
    return {
        "amount_total": subtotal + amounts[0],
        "amount_subtotal": subtotal,
        "total_details": {"amount_discount": 0, "amount_shipping": amounts[0], "amount_tax": 0},
        "shipping_cost": {"amount_total": amounts[0], "shipping_rate": rates[0]},
        "shipping_options": [
            {"shipping_amount": a, "shipping_rate": r} for a, r in zip(amounts, rates, strict=True)
        ],
        "customer_details": {
            "email": "buyer@example.test",
            "phone": "+15555550100",
            "address": {"line1": "1 Main St", "city": "Springfield", "postal_code": "12345", "country": "US"},
            "name": "Pat Buyer",
        },
        "collected_information": {
            "shipping_details": {
                "name": "Pat Buyer",
                "address": {
                    "line1": "1 Main St",
                    "city": "Springfield",
                    "postal_code": "12345",
                    "country": "US",
                },
            }
        },
    }


def event_for(order: dict) -> dict:
    """checkout.session.completed for this order's session, paid, as Stripe sends it (no line items)."""
    return {
        "id": "evt_" + secrets.token_hex(12),
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": order["stripe_session_id"],
                "object": "checkout.session",
                "status": "complete",
                "payment_status": "paid",
                **_shipping_fields(order),
                "currency": order["currency"],
                "client_reference_id": order["id"],
                "metadata": {"order_id": order["id"]},
                "payment_intent": "pi_" + secrets.token_hex(12),
            }
        },
    }


def signed(payload: bytes) -> tuple[bytes, dict[str, str]]:
    now = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload.decode()}", WEBHOOK_SECRET)
    return payload, {"Stripe-Signature": f"t={now},v1={signature}", "Content-Type": "application/json"}


def deliveries(orders: list[dict], total: int, duplicates: float, rng: random.Random) -> tuple[list, int]:
    """`total` signed deliveries: new events in order, each delivery a repeat of an earlier one with
    probability `duplicates`; (deliveries, number of new events among them)."""
    bodies: list[bytes] = []
    out = []
    fresh = iter(orders)
    for _ in range(total):
        if bodies and rng.random() < duplicates:
            body = rng.choice(bodies)
        else:
            body = json.dumps(event_for(next(fresh))).encode()
            bodies.append(body)
        out.append(signed(body))
    return out, len(bodies)


def one_round(app: str, backend, mix: str, args, rng: random.Random) -> dict:
    total = args.deliveries
    need = int(total * (1 - MIXES[mix])) + 200
    seed = rxshop_orders if app == "rxshop" else bare_orders
    orders = seed(backend.database.url, need)
    requests, new_events = deliveries(orders, total, MIXES[mix], rng)
    paid_before = count_paid(app, backend.database.url)
    load = loadavg()
    cpu_before = cpu_seconds(backend.group)
    url = f"{backend.url}/stripe/webhook"
    elapsed, latencies, statuses = asyncio.run(post_all(url, requests, args.senders, args.seconds))
    cpu = cpu_seconds(backend.group) - cpu_before
    time.sleep(0.5)  # rxshop's live pushes run after the answers
    paid = count_paid(app, backend.database.url) - paid_before
    sent = len(statuses)
    # New events among those answered: deliveries are sent in order, so count the first `sent`.
    seen: set[bytes] = set()
    expected_paid = 0
    for body, _ in requests[:sent]:
        if body not in seen:
            seen.add(body)
            expected_paid += 1
    ok = statuses.count(200)
    return {
        "events_per_s": sent / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "max_ms": max(latencies) * 1000,
        "sent": sent,
        "ok": ok,
        "paid": paid,
        "expected_paid": expected_paid,
        "correct": ok == sent and paid == expected_paid,
        "backend_cpu_ms_per_event": cpu / max(sent, 1) * 1000,
        "loadavg": load,
        "new_events_available": new_events,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--deliveries", type=int, default=24000, help="upper bound per round")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="one round of 3 s")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.deliveries = 1, 3, 9000
    kind, workers, use_redis = ("sqlite", 1, False) if args.db == "sqlite" else ("postgresql", 2, True)
    rng = random.Random(12)
    results: dict = {"db": args.db, "senders": args.senders, "seconds": args.seconds, "mixes": {}}
    targets = []
    with processes() as procs:
        sim = start_simulator(procs, 0)
        backends = {
            app: start_backend(
                procs,
                app,
                sim_url=sim,
                database=new_database(kind, app),
                workers=workers,
                use_redis=use_redis,
            )
            for app in ("rxshop", "bare")
        }
        try:
            for mix in MIXES:
                print(f"== webhooks, {mix}: {args.senders} senders, {args.seconds} s, {args.db}", flush=True)
                per_app: dict[str, list[dict]] = {"rxshop": [], "bare": []}
                for r, app in abba(args.rounds):
                    res = one_round(app, backends[app], mix, args, rng)
                    res["round"] = r
                    per_app[app].append(res)
                    print(
                        f"  round {r} {app:6}: {res['events_per_s']:7,.0f} events/s  p50 {res['p50_ms']:6.1f} ms"
                        f"  p95 {res['p95_ms']:6.1f} ms  CPU {res['backend_cpu_ms_per_event']:5.2f} ms/event"
                        f"  {res['sent']} sent, {res['paid']} paid / {res['expected_paid']} new"
                        f"{'' if res['correct'] else '  INCORRECT'}  load {res['loadavg']}",
                        flush=True,
                    )
                summary: dict = {"rounds": per_app}
                for app in per_app:
                    summary[f"{app}_rate_median"] = statistics.median(x["events_per_s"] for x in per_app[app])
                    summary[f"{app}_p95_median"] = statistics.median(x["p95_ms"] for x in per_app[app])
                    summary[f"{app}_cpu_ms_median"] = statistics.median(
                        x["backend_cpu_ms_per_event"] for x in per_app[app]
                    )
                summary["rate_ratio"] = summary["rxshop_rate_median"] / summary["bare_rate_median"]
                summary["correct"] = all(x["correct"] for xs in per_app.values() for x in xs)
                results["mixes"][mix] = summary
                print(
                    f"  median: rxshop {summary['rxshop_rate_median']:,.0f}/s p95 {summary['rxshop_p95_median']:.1f} ms;"
                    f" bare {summary['bare_rate_median']:,.0f}/s p95 {summary['bare_p95_median']:.1f} ms;"
                    f" rxshop / bare = {summary['rate_ratio']:.2f}",
                    flush=True,
                )
                targets += [
                    check(
                        f"webhooks ({mix}) events/s rxshop / bare", summary["rate_ratio"], 0.75, at_least=True
                    ),
                    check(f"webhooks ({mix}) rxshop p95 ms", summary["rxshop_p95_median"], 50),
                    check(
                        f"webhooks ({mix}) every order paid once", float(summary["correct"]), 1, at_least=True
                    ),
                ]
        finally:
            for backend in backends.values():
                stop_backend(procs, backend)
    finish("webhooks", results, targets)


if __name__ == "__main__":
    main()
