"""Background upkeep run by each backend worker: expire pending orders whose checkout ran out of time, give
back the stock holds nobody can pay any more (rxshop.orders.stock.sweep), and forget carts nobody touched for
months.

Stripe's checkout.session.expired webhook normally does the first two; this catches the ones it never sent.
Safe on several workers at once: the updates are conditional, so each order expires once and each hold is
given back once.
"""

import asyncio
import logging
from datetime import UTC, datetime

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.orders import carts, records, stock

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 300


async def expire_stale_orders_forever() -> None:
    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        try:
            expired = await in_session(records.expire_stale_orders, now=datetime.now(UTC))
        except Exception:
            log.exception("Expiring stale orders failed; trying again in %s s", INTERVAL_SECONDS)
            continue
        for order in expired:
            notify.order_changed(order.visitor_id, order.id)
        try:
            if await in_session(stock.sweep, now=datetime.now(UTC)):
                notify.stock_changed()
        except Exception:
            log.exception("Giving back stale stock holds failed; trying again in %s s", INTERVAL_SECONDS)
        try:
            await in_session(carts.forget_abandoned_carts, now=datetime.now(UTC))
        except Exception:
            log.exception("Forgetting abandoned carts failed; trying again in %s s", INTERVAL_SECONDS)
