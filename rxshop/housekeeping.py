"""Background upkeep run by each backend worker: expire pending orders whose checkout ran out of time.

Stripe's checkout.session.expired webhook normally does this; this catches the ones it never sent.
Safe on several workers at once: the update is conditional, so each order expires once.
"""

import asyncio
import logging
from datetime import UTC, datetime

from rxshop import orders
from rxshop.db import new_session, run_sync

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 300


def expire_stale_now() -> list[orders.OrderView]:
    with new_session() as session:
        return orders.expire_stale_orders(session=session, now=datetime.now(UTC))


async def expire_stale_orders_forever() -> None:
    from rxshop.live import publish_orders_changed

    while True:
        await asyncio.sleep(INTERVAL_SECONDS)
        try:
            expired = await run_sync(expire_stale_now)
        except Exception:
            log.exception("Expiring stale orders failed; trying again in %s s", INTERVAL_SECONDS)
            continue
        for visitor_id in {order.visitor_id for order in expired}:
            await publish_orders_changed(visitor_id)
