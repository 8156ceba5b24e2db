"""The transactional outbox: each email is a row written in the SAME transaction as the change it tells
about, so a committed change always has its message and a rolled-back one never does.

Writers call one function per cause with the caller's connection (never a commit of their own): the paid,
processing and failed transitions (`order_moved`, and `paid_messages` for the webhook's fast path: one
prebuilt INSERT), a refund, a shipment, a new exception, a revoked link, a sign-in code. `dedupe_key` is
unique and the INSERT skips a conflict, so repeated causes queue one message. With MAIL_MODE=off nothing
is queued. rxshop.mail.sender claims due rows (`claim_due`) and records what became of them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from rxshop.core.driver_sql import DriverStatement
from rxshop.core.models import UTCDateTime
from rxshop.core.settings import get_settings


class Kind(StrEnum):
    """What a message is about (mail_outbox.kind); each has its templates in rxshop/mail/templates/."""

    ORDER_CONFIRMED = "order_confirmed"
    PAYMENT_PROCESSING = "payment_processing"
    PAYMENT_FAILED = "payment_failed"
    SHIPPED = "shipped"
    REFUNDED = "refunded"
    ORDER_LINK = "order_link"  # a new link after the owner revoked the old ones
    SIGN_IN_CODE = "sign_in_code"  # "find my orders": the 6-digit code
    OWNER_NEW_ORDER = "owner_new_order"
    OWNER_EXCEPTION = "owner_exception"

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def to_owner(self) -> bool:
        return self in (Kind.OWNER_NEW_ORDER, Kind.OWNER_EXCEPTION)


_LABELS = {
    Kind.ORDER_CONFIRMED: "Order confirmation",
    Kind.PAYMENT_PROCESSING: "Payment processing",
    Kind.PAYMENT_FAILED: "Payment failed",
    Kind.SHIPPED: "Shipped",
    Kind.REFUNDED: "Refund",
    Kind.ORDER_LINK: "New order link",
    Kind.SIGN_IN_CODE: "Sign-in code",
    Kind.OWNER_NEW_ORDER: "New order (to the owner)",
    Kind.OWNER_EXCEPTION: "Exception (to the owner)",
}


class Status(StrEnum):
    QUEUED = "queued"  # waiting for its first attempt, or for a retry (attempts > 0, last_error says why)
    SENDING = "sending"  # claimed by a sender until lease_until
    SENT = "sent"
    FAILED = "failed"  # given up: a permanent refusal, or too many attempts (last_error says why)


def _digest(text: str) -> str:
    """A fixed-length key part for long or free text (a tracking number, an event id)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def mail_on() -> bool:
    return get_settings().mail_mode != "off"


def _owner_on() -> bool:
    settings = get_settings()
    return settings.mail_mode != "off" and settings.owner_email is not None


# --- Writing: one prebuilt INSERT per number of rows ----------------------------------------------------------

_COLUMNS = "dedupe_key, kind, order_id, params, status, attempts, next_attempt_at, created_at"


def _insert(rows: int) -> DriverStatement:
    """On the driver's cursor (rxshop.core.driver_sql): the webhook queues a confirmation for every order."""
    values = ", ".join(
        f"(:key{i}, :kind{i}, :order_id{i}, :params{i}, '{Status.QUEUED}', 0, :now, :now)"
        for i in range(rows)
    )
    sql = f"INSERT INTO mail_outbox ({_COLUMNS}) VALUES {values} ON CONFLICT (dedupe_key) DO NOTHING"
    return DriverStatement(sql, datetimes=["now"])


_INSERTS = {rows: _insert(rows) for rows in (1, 2)}


@dataclass(frozen=True, slots=True)
class Message:
    """One message to queue: what, its unique key, the order it is about, and what it says beyond it."""

    kind: Kind
    key: str
    order_id: str | None = None
    params: dict[str, Any] | None = None


def statement(messages: Sequence[Message], now: datetime) -> tuple[DriverStatement, dict[str, Any]]:
    """The prebuilt INSERT of these (one or two) messages and its values."""
    values: dict[str, Any] = {"now": now}
    for i, message in enumerate(messages):
        values[f"key{i}"] = message.key
        values[f"kind{i}"] = str(message.kind)
        values[f"order_id{i}"] = message.order_id
        values[f"params{i}"] = json.dumps(message.params or {}, sort_keys=True)
    return _INSERTS[len(messages)], values


def write(connection: sa.Connection, messages: Sequence[Message], now: datetime) -> int:
    """Queue `messages` inside the caller's transaction; returns how many were new (not repeats)."""
    if not messages:
        return 0
    stmt, values = statement(messages, now)
    return stmt.rowcount(connection, values)


# --- The causes -----------------------------------------------------------------------------------------------


def paid_messages(order_id: str) -> list[Message]:
    """An order just became paid: the buyer's confirmation, and the owner's notice (with OWNER_EMAIL)."""
    if not mail_on():
        return []
    messages = [Message(Kind.ORDER_CONFIRMED, f"confirmed:{order_id}", order_id)]
    if _owner_on():
        messages.append(Message(Kind.OWNER_NEW_ORDER, f"owner-order:{order_id}", order_id))
    return messages


_MOVED = {"processing": Kind.PAYMENT_PROCESSING, "failed": Kind.PAYMENT_FAILED}


def order_moved(connection: sa.Connection, order_id: str, target: str, now: datetime) -> None:
    """An order's payment moved (fulfillment): paid, processing (a delayed payment) or failed."""
    if target == "paid":
        write(connection, paid_messages(order_id), now)
    elif target in _MOVED and mail_on():
        kind = _MOVED[target]
        write(connection, [Message(kind, f"{kind}:{order_id}", order_id)], now)


def shipped(
    connection: sa.Connection, order_id: str, carrier: str, tracking_number: str, now: datetime
) -> None:
    """The owner marked the order shipped; the same carrier and number again is the same message."""
    if mail_on():
        key = f"shipped:{order_id}:{_digest(carrier + chr(0) + tracking_number)}"
        params = {"carrier": carrier, "tracking_number": tracking_number}
        write(connection, [Message(Kind.SHIPPED, key, order_id, params)], now)


def refunded(
    connection: sa.Connection, order_id: str, amount: int, refunded_total: int, now: datetime
) -> None:
    """Stripe reported more refunded (cumulative `refunded_total`, this refund `amount`, minor units)."""
    if mail_on() and amount > 0:
        params = {"amount": amount, "refunded_total": refunded_total}
        write(
            connection, [Message(Kind.REFUNDED, f"refund:{order_id}:{refunded_total}", order_id, params)], now
        )


def exception_flagged(
    connection: sa.Connection,
    *,
    kind: str,
    reference: str,
    detail: str,
    order_id: str | None,
    amount: int | None,
    currency: str | None,
    now: datetime,
) -> None:
    """A new item in the owner's exceptions inbox (history.flag), told to OWNER_EMAIL."""
    if _owner_on():
        key = f"exception:{kind}:{_digest(reference)}"
        params = {
            "kind": kind,
            "reference": reference[:255],
            "detail": detail[:500],
            "amount": amount,
            "currency": currency,
        }
        write(connection, [Message(Kind.OWNER_EXCEPTION, key, order_id, params)], now)


def new_order_link(connection: sa.Connection, order_id: str, now: datetime) -> bool:
    """The owner revoked the order's links: the buyer gets a new one (made when the message is composed)."""
    if not mail_on():
        return False
    key = f"link:{order_id}:{secrets.token_hex(8)}"
    return write(connection, [Message(Kind.ORDER_LINK, key, order_id)], now) == 1


def sign_in_code(connection: sa.Connection, challenge_id: str, email: str, code: str, now: datetime) -> None:
    """A "find my orders" code for `email`: it stays in the row only until sent (then it is blanked)."""
    if mail_on():
        params = {"email": email, "code": code}
        write(connection, [Message(Kind.SIGN_IN_CODE, f"code:{challenge_id}", None, params)], now)


# --- The sender's side ----------------------------------------------------------------------------------------

_DUE = (
    f"((status = '{Status.QUEUED}' AND next_attempt_at <= :now)"
    f" OR (status = '{Status.SENDING}' AND lease_until < :now))"
)


def _claim(lock: str) -> sa.TextualSelect:
    sql = (
        f"UPDATE mail_outbox SET status = '{Status.SENDING}', lease_token = :token, lease_until = :until,"
        " attempts = attempts + 1"
        f" WHERE id IN (SELECT id FROM mail_outbox WHERE {_DUE} ORDER BY next_attempt_at, id LIMIT :limit{lock})"
        f" AND {_DUE}"
        " RETURNING id, kind, order_id, params, attempts, created_at"
    )
    return (
        sa.text(sql)
        .bindparams(
            sa.bindparam("now", type_=UTCDateTime()),
            sa.bindparam("until", type_=UTCDateTime()),
        )
        .columns(created_at=UTCDateTime())
    )


# PostgreSQL: claimers skip each other's rows instead of waiting on them. SQLite has one writer at a time:
# the conditional UPDATE is the claim, and the lease brings back what a crashed sender held.
_CLAIMS = {"postgresql": _claim(" FOR UPDATE SKIP LOCKED"), "sqlite": _claim("")}


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: Kind
    order_id: str | None
    params: dict[str, Any]
    attempts: int  # this attempt included
    created_at: datetime
    lease_token: str


def claim_due(*, session, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Claim up to `limit` due messages for this sender until `now + lease` (one transaction)."""
    token = secrets.token_hex(16)
    claim = _CLAIMS[session.get_bind().dialect.name]
    try:
        rows = session.connection().execute(
            claim, {"token": token, "until": now + lease, "now": now, "limit": limit}
        )
        claimed = [
            Claimed(r.id, Kind(r.kind), r.order_id, json.loads(r.params), r.attempts, r.created_at, token)
            for r in rows
        ]
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return sorted(claimed, key=lambda c: c.id)


_SENT = sa.text(
    f"UPDATE mail_outbox SET status = '{Status.SENT}', sent_at = :now, recipient = :recipient,"
    " params = :params, last_error = NULL, lease_token = NULL, lease_until = NULL"
    f" WHERE id = :id AND lease_token = :token AND status = '{Status.SENDING}'"
).bindparams(sa.bindparam("now", type_=UTCDateTime()))
_FAILED = sa.text(
    "UPDATE mail_outbox SET status = :status, next_attempt_at = :retry_at, last_error = :error,"
    " recipient = COALESCE(:recipient, recipient), params = :params, lease_token = NULL, lease_until = NULL"
    f" WHERE id = :id AND lease_token = :token AND status = '{Status.SENDING}'"
).bindparams(sa.bindparam("retry_at", type_=UTCDateTime()))


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed message: sent (error None), to retry at `retry_at`, or given up."""

    claimed: Claimed
    recipient: str | None
    error: str | None = None
    retry_at: datetime | None = None

    @property
    def stored_params(self) -> str:
        """A code is blanked once its message is done with: only its keyed hash stays (email_challenges)."""
        params = dict(self.claimed.params)
        if "code" in params and (self.error is None or self.retry_at is None):
            params["code"] = "······"
        return json.dumps(params, sort_keys=True)


def record(*, session, outcomes: Sequence[Outcome], now: datetime) -> int:
    """Record a batch's outcomes in one transaction; only the lease holder's writes count. Returns how many
    were recorded (a message whose lease ran out and was claimed again is the new holder's)."""
    recorded = 0
    try:
        connection = session.connection()
        for outcome in outcomes:
            common = {
                "id": outcome.claimed.id,
                "token": outcome.claimed.lease_token,
                "recipient": outcome.recipient,
                "params": outcome.stored_params,
            }
            if outcome.error is None:
                result = connection.execute(_SENT, {**common, "now": now})
            else:
                status = Status.QUEUED if outcome.retry_at is not None else Status.FAILED
                values = {**common, "status": str(status), "error": outcome.error[:1000]}
                result = connection.execute(_FAILED, {**values, "retry_at": outcome.retry_at or now})
            recorded += result.rowcount
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return recorded
