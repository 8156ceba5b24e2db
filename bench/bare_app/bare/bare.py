"""The bare app: the least a Reflex shop must do for a Buy and for a paid webhook, as the yardstick for rxshop.

Deliberately as small as issue 12 describes it, and fair: the same Reflex, the same stripe SDK (async,
httpx, two network retries, the same Checkout Session parameters), the same simulator, the same database
driver with the same SQLite pragmas (WAL, synchronous=FULL, busy_timeout), the same worker model.

- Buy: one background event reads the cart under `async with self`, makes one Checkout Session with an
  idempotency key, inserts one order row in `asyncio.to_thread`, and answers with `rx.call_script`.
- POST /stripe/webhook: verify the signature, parse the JSON, `INSERT ... ON CONFLICT DO NOTHING` the event id,
  update one order row (the status the event type asks for, from the statuses it may come from; a payment's
  amount checked), in `asyncio.to_thread`. Nothing more: no emails, no stock, no timeline.

Settings come from the environment: DATABASE_URL, STRIPE_SECRET_KEY, STRIPE_API_BASE, STRIPE_WEBHOOK_SECRET,
APP_URL, REDIS_URL (rxconfig.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid

import reflex as rx  # noqa: TID251 (a Reflex app)
import sqlalchemy as sa
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bare.schema import SCHEMA

PRICES = {"mug": 1800, "tote": 2400, "notebook": 1200}
_lock = threading.Lock()
_engine: sa.Engine | None = None
_client: stripe.StripeClient | None = None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # as rxshop (core/db.py): a 2xx survives a power loss
    cursor.close()


def engine() -> sa.Engine:
    """Made on first use in each worker (never before the fork), tables created if missing."""
    global _engine
    with _lock:
        if _engine is None:
            url = os.environ["DATABASE_URL"]
            if url.startswith("sqlite"):
                _engine = sa.create_engine(url, connect_args={"check_same_thread": False})
                sa.event.listen(_engine, "connect", _sqlite_pragmas)
            else:
                _engine = sa.create_engine(url, pool_pre_ping=True)
            _create_tables(_engine)
    return _engine


def _create_tables(engine: sa.Engine) -> None:
    """CREATE TABLE IF NOT EXISTS, by both workers at once on PostgreSQL: the loser of that race fails on
    pg_type's unique index (and its Buy never answered: the benchmark's warm-up hang); once the winner has
    committed, trying again finds the tables."""
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                for statement in SCHEMA:
                    conn.exec_driver_sql(statement)
            return
        except sa.exc.IntegrityError:
            if attempt == 2:
                raise
            time.sleep(0.2)


def client() -> stripe.StripeClient:
    global _client
    if _client is None:
        _client = stripe.StripeClient(
            os.environ["STRIPE_SECRET_KEY"],
            base_addresses={"api": os.environ["STRIPE_API_BASE"]},
            max_network_retries=2,
            http_client=stripe.HTTPXClient(timeout=15.0, allow_sync_methods=True),
        )
    return _client


def _insert_order(order_id: str, session_id: str, amount: int) -> None:
    with engine().begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO bare_orders (id, session_id, status, amount_total, created_at)"
                " VALUES (:id, :sid, 'pending', :amount, :now)"
            ),
            {"id": order_id, "sid": session_id, "amount": amount, "now": time.time()},
        )


class BuyState(rx.State):
    cart: dict[str, int] = {}

    @rx.event
    def set_quantity(self, product_id: str, value: int):
        if product_id in PRICES and isinstance(value, int) and 0 <= value <= 10:
            self.cart = {**self.cart, product_id: value}

    @rx.event(background=True)
    async def buy(self):
        async with self:
            cart = {k: v for k, v in self.cart.items() if v > 0}
        if not cart:
            return
        order_id = uuid.uuid4().hex
        app_url = os.environ.get("APP_URL", "http://127.0.0.1")
        session = await client().v1.checkout.sessions.create_async(
            {
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": PRICES[product],
                            "product_data": {"name": product, "metadata": {"product_id": product}},
                        },
                        "quantity": quantity,
                    }
                    for product, quantity in sorted(cart.items())
                ],
                "success_url": f"{app_url}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
                "cancel_url": f"{app_url}/checkout/cancel",
                "client_reference_id": order_id,
                "metadata": {"order_id": order_id},
                "payment_intent_data": {"metadata": {"order_id": order_id}},
                "expires_at": int(time.time()) + 31 * 60,
            },
            options={"idempotency_key": f"bare-checkout-{order_id}"},
        )
        amount = sum(PRICES[p] * q for p, q in cart.items())
        await asyncio.to_thread(_insert_order, order_id, session.id, amount)
        return rx.call_script(f"window.location.assign({json.dumps(session.url)})")


# (event type, payment_status or None for any) -> (the status it moves an order to, from which statuses)
_MOVES = {
    ("checkout.session.completed", "paid"): ("paid", ("pending",)),
    ("checkout.session.completed", "unpaid"): ("processing", ("pending",)),
    ("checkout.session.async_payment_succeeded", None): ("paid", ("pending", "processing")),
    ("checkout.session.async_payment_failed", None): ("failed", ("pending", "processing")),
    ("checkout.session.expired", None): ("expired", ("pending",)),
    ("charge.refunded", None): ("refunded", ("paid",)),
}
_UPDATE = "UPDATE bare_orders SET status = :to WHERE id = :order_id AND status IN :sources"
_SOURCES = sa.bindparam("sources", expanding=True)
_UPDATES = {  # a payment must pay the order's amount
    True: sa.text(_UPDATE + " AND amount_total = :amount").bindparams(_SOURCES),
    False: sa.text(_UPDATE).bindparams(_SOURCES),
}


def _record(event_id: str, event_type: str, obj: dict) -> str:
    move = _MOVES.get((event_type, obj.get("payment_status"))) or _MOVES.get((event_type, None))
    order_id = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("order_id")
    with engine().begin() as conn:
        inserted = conn.execute(
            sa.text("INSERT INTO bare_events (id) VALUES (:id) ON CONFLICT DO NOTHING"), {"id": event_id}
        ).rowcount
        if not inserted:
            return "duplicate"
        if move is None or not order_id:
            return "ignored"
        to, sources = move
        values = {"to": to, "order_id": order_id, "sources": list(sources), "amount": obj.get("amount_total")}
        return to if conn.execute(_UPDATES[to == "paid"], values).rowcount else "unchanged"


async def stripe_webhook(request: Request) -> JSONResponse:
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            request.headers.get("stripe-signature", ""),
            os.environ["STRIPE_WEBHOOK_SECRET"],
            300,
        )
        event = json.loads(payload)
        obj = event["data"]["object"]
    except (stripe.SignatureVerificationError, ValueError, KeyError, TypeError):
        return JSONResponse({"error": "bad request"}, status_code=400)
    try:
        outcome = await asyncio.to_thread(_record, event["id"], event["type"], obj)
    except Exception:
        return JSONResponse({"error": "retry"}, status_code=500)
    return JSONResponse({"received": True, "outcome": outcome})


def index() -> rx.Component:
    return rx.button("Buy", on_click=BuyState.buy)


app = rx.App(api_transformer=Starlette(routes=[Route("/stripe/webhook", stripe_webhook, methods=["POST"])]))
app.add_page(index, route="/")
