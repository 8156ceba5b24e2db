"""The webhook's group commit: deliveries arriving together go in one transaction, each event's fast path
(rxshop.orders.webhook_fast) in its own SAVEPOINT; what the fast path leaves takes `apply_stripe_event`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session

from rxshop.core.db import begin_writing, error_summary, permanent_data_error
from rxshop.core.driver_sql import DriverStatement
from rxshop.core.models import utcnow
from rxshop.orders.records import transaction
from rxshop.orders.stripe_events import EventResult, apply_stripe_event, record_unprocessable
from rxshop.orders.webhook_fast import Followups, fast_step
from rxshop.payments.wire import Event

logger = logging.getLogger(__name__)


def apply_webhook_events(*, session: Session, events: list[Event]) -> list[EventResult | Exception]:
    """Group commit: the fast path of every event in ONE transaction, each in its own SAVEPOINT (an event
    that fails there leaves nothing written and takes the full path: one bad event never fails another),
    then each other event through `apply_stripe_event` in its own transaction.

    Results in the order of `events`. An event whose data the database refuses for good (a permanent data
    error: no retry can fix it) is recorded as unprocessable for the owner, as a malformed event is; any
    other failure of an event is its exception (only that delivery is answered 5xx, and Stripe retries).
    If the shared transaction itself fails (the connection is lost), this raises and nothing of it is
    recorded: every delivery of the batch is answered 5xx. Return only after the COMMIT: the caller
    answers 2xx once the outcome is on disk.
    """
    fast: list[EventResult | None] = [None] * len(events)
    with transaction(session):
        connection = session.connection()
        begin_writing(connection)
        # In event id order: two workers' batches holding the same repeated deliveries take their event
        # rows' locks in one order (on PostgreSQL a deadlock would fail a whole batch: 5xx, retried).
        after = Followups()
        for i in sorted(range(len(events)), key=lambda i: events[i].id):
            fast[i] = _isolated_fast_step(connection, events[i], after)
        # The units of the orders paid or given up here, product by product for the whole batch.
        after.run(connection, utcnow())
    return [
        _full_path(session, event) if done is None else done for event, done in zip(events, fast, strict=True)
    ]


_SAVEPOINT = DriverStatement("SAVEPOINT fast_step")
_RELEASE = DriverStatement("RELEASE SAVEPOINT fast_step")
_UNDO = DriverStatement("ROLLBACK TO SAVEPOINT fast_step")  # then released: savepoints never pile up


def _isolated_fast_step(connection: sa.Connection, event: Event, after: Followups) -> EventResult | None:
    """The fast path in a SAVEPOINT: rolled back, leaving nothing written, unless it answers.

    Plain statements on the driver's cursor rather than `begin_nested()`: the same SAVEPOINT, for a
    fraction of the CPU (its bookkeeping cost about 0.1 ms per event, bench/sqlite_durability.py's CPU
    column).
    """
    _SAVEPOINT.rowcount(connection)
    planned = (len(after.sell), len(after.release))
    try:
        result = fast_step(connection, event, "webhook", after)
    except Exception as err:  # noqa: BLE001 (the full path decides, in its own transaction)
        result = None
        logger.warning(
            "Webhook event=%s: fast path failed (%s); the full path decides", event.id, error_summary(err)
        )
    if result is None:
        _UNDO.rowcount(connection)
        del after.sell[planned[0] :], after.release[planned[1] :]  # nothing of it is left to follow up
    _RELEASE.rowcount(connection)
    return result


def _full_path(session: Session, event: Event) -> EventResult | Exception:
    """`apply_stripe_event`; a permanent data error makes the event unprocessable, another is handed back."""
    try:
        return apply_stripe_event(session=session, event=event)
    except Exception as err:  # noqa: BLE001 (handed to that delivery's caller, which answers 5xx)
        if not permanent_data_error(err):
            return err
        reason = error_summary(err)
    logger.error(
        "Webhook event=%s type=%s cannot be stored (%s): recorded as unprocessable for the owner",
        event.id,
        event.type,
        reason,
    )
    try:
        outcome = record_unprocessable(
            session=session,
            event_id=event.id,
            event_type=event.type,
            created=event.created,
            detail=f"the database refused its data ({reason})",
        )
    except Exception as err:  # noqa: BLE001
        return err
    return EventResult(outcome)
