"""Never oversold under concurrency, through Reflex's real websocket protocol against the production backend:
5 units left, 30 buyers press Buy at once; exactly 5 Checkout Sessions are made and 25 buyers read which
product is short. On SQLite with one worker, and on PostgreSQL with two workers sharing state through Redis.
Every open tab then shows the product sold out (pushed live), and its cart cannot take more than is free.

The browsers are bench/reflex_client.py's: each claims its credential through POST /visitor, opens `/` (hydrate
and on_load), fills its cart through the cart's handlers, and presses Buy, as the compiled page does.
"""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from bench.reflex_client import Browser, Tab, changes, close_tabs, open_tabs, script_of
from rxshop.core.db import get_engine, new_session
from rxshop.orders import stock
from tests.fixtures.backend import Backend, backend_log, production_backend
from tests.fixtures.db import service_missing

CART = "___cart____cart_state"
CHECKOUT = "___checkout____checkout_state"
STOCK = "___live_stock____stock_state"
BUYERS, UNITS = 30, 5
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_DB = 12  # this test's own database on the shared Redis: flushed before and after


def _redis_url() -> str:
    import redis

    parts = urlsplit(REDIS_URL)
    url = f"{parts.scheme}://{parts.netloc}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis not reachable at {url}: {exc}")
    return url


async def _ready_tabs(backend: Backend) -> list[Tab]:
    browsers = [Browser(forwarded_for=f"127.7.0.{i + 1}") for i in range(BUYERS)]
    await asyncio.gather(*(b.claim_visitor(backend.url) for b in browsers))
    tabs = await open_tabs(backend.url, browsers, path="/", concurrency=10)
    await asyncio.gather(
        *(
            t.call(CART, "set_quantity", changes(CART, "quantities"), product_id="mug", value="1")
            for t in tabs
        )
    )
    return tabs


async def _press_buy_at_once(tabs: list[Tab]) -> list[str]:
    """Every tab presses Buy now; what each was answered: the redirect script or the error shown."""

    def answered(update: dict) -> bool:
        return bool(script_of(update)) or any(
            name.endswith(CHECKOUT) and delta.get("error_rx_state_")
            for name, delta in update["delta"].items()
        )

    async def press(tab: Tab) -> str:
        _seconds, update = await tab.call(CHECKOUT, "buy", answered, timeout=90)
        return script_of(update) or tab.var(CHECKOUT, "error")

    return list(await asyncio.gather(*(press(t) for t in tabs)))


async def _race(backend: Backend) -> None:
    with new_session(get_engine(backend.database_url)) as session:
        stock.set_stock(session=session, product_id="mug", tracked=True, quantity=UNITS, low_threshold=3)
    tabs = await _ready_tabs(backend)
    try:
        assert {t.var(STOCK, "badges")["mug"] for t in tabs} == {""}  # 5 free, low at 3: nothing to say
        answers = await _press_buy_at_once(tabs)

        redirects = [a for a in answers if "window.location.assign" in a]
        refusals = [a for a in answers if a not in redirects]
        assert len(redirects) == UNITS, (answers, backend_log())
        assert len(refusals) == BUYERS - UNITS
        assert all("Morning Mug is sold out" in a for a in refusals), refusals
        assert all(backend.sim_url in a for a in redirects)

        # What Stripe was asked for, and what the database holds.
        made = list(backend.stripe().v1.checkout.sessions.list({"limit": 100}).auto_paging_iter())
        assert len(made) == UNITS
        engine = get_engine(backend.database_url)
        with engine.connect() as conn:
            orders = conn.execute(sa.text("SELECT count(*) FROM orders")).scalar_one()
            held = conn.execute(sa.text("SELECT sum(quantity) FROM stock_reservations WHERE status = 'held'"))
            assert (orders, held.scalar_one()) == (UNITS, UNITS)
        with new_session(engine) as session:
            [mug] = [x for x in stock.levels(session=session) if x.product_id == "mug"]
        assert (mug.quantity, mug.reserved, mug.free) == (UNITS, UNITS, 0)

        # Every open tab hears that the mug is sold out, and its cart takes no more.
        deadline = time.monotonic() + 15
        while {t.var(STOCK, "badges")["mug"] for t in tabs} != {"Sold out"}:
            assert time.monotonic() < deadline, [t.var(STOCK, "badges") for t in tabs]
            await asyncio.sleep(0.1)
        assert {t.var(STOCK, "left")["mug"] for t in tabs} == {0}
        tab = tabs[-1]
        await tab.call(CART, "set_quantity", changes(CART, "notice"), product_id="mug", value="3")
        assert tab.var(CART, "notice") == "Morning Mug is sold out." and tab.var(CART, "quantities") == {}
    finally:
        await close_tabs(tabs)


def test_5_units_30_buyers_on_sqlite_with_one_worker(sqlite_url: str) -> None:
    with production_backend(sqlite_url, workers=1) as backend:
        asyncio.run(_race(backend))


@pytest.mark.postgres
@pytest.mark.redis
def test_5_units_30_buyers_on_postgresql_with_two_workers(postgres_url: str) -> None:
    with production_backend(postgres_url, workers=2, redis_url=_redis_url()) as backend:
        asyncio.run(_race(backend))
