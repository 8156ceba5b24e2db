"""Background upkeep run by each backend worker: expire pending orders whose checkout ran out of time,
and forget carts nobody touched for months.

Stripe's checkout.session.expired webhook normally does the first; this catches the ones it never sent.
Safe on several workers at once: the update is conditional, so each order expires once.
"""

import asyncio
import logging
from datetime import UTC, datetime

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.orders import carts, records

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
            await in_session(carts.forget_abandoned_carts, now=datetime.now(UTC))
        except Exception:
            log.exception("Forgetting abandoned carts failed; trying again in %s s", INTERVAL_SECONDS)
