"""The owner's view of an order's email: each message with what became of it, sending one again, and
revoking the order's secret links (the buyer is sent a new one).

Every function checks the sign-in itself (`require_admin`), like the other admin services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from rxshop.admin.actions import ActionRefused
from rxshop.admin.auth import require_admin
from rxshop.core.mail_models import OutboxMessage
from rxshop.core.models import Order, utcnow
from rxshop.core.settings import get_settings
from rxshop.mail.outbox import Kind, Status, mail_on
from rxshop.orders import links
from rxshop.orders.records import load_order, transaction

MAX_SHOWN = 50


@dataclass(frozen=True)
class MessageView:
    id: int
    kind: Kind
    recipient: str  # "" until composed (a buyer's message goes to the order's address)
    status: Status
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
    last_error: str
    resend_of: int | None

    @property
    def can_resend(self) -> bool:
        return self.status in (Status.SENT, Status.FAILED) and self.kind != Kind.SIGN_IN_CODE


@dataclass(frozen=True)
class OrderMessages:
    mail_mode: str  # smtp | mailbox | off
    buyer_email: str
    active_links: int
    messages: tuple[MessageView, ...]  # newest first


def _view(row: OutboxMessage) -> MessageView:
    assert row.id is not None
    return MessageView(
        id=row.id,
        kind=Kind(row.kind),
        recipient=row.recipient or "",
        status=Status(row.status),
        attempts=row.attempts,
        created_at=row.created_at,
        sent_at=row.sent_at,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error or "",
        resend_of=row.resend_of,
    )


def order_messages(*, session: Session, admin: str, order_id: str) -> OrderMessages | None:
    """The order's messages, newest first; None if there is no such order."""
    with transaction(session):
        require_admin(session, admin)
        order = load_order(session, Order.id == order_id)
        if order is None:
            return None
        rows = session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.order_id == order_id)
            .order_by(col(OutboxMessage.id).desc())
            .limit(MAX_SHOWN)
            .execution_options(populate_existing=True)
        ).all()
        return OrderMessages(
            mail_mode=get_settings().mail_mode,
            buyer_email=order.customer_email or "",
            active_links=links.active_links(session, order_id),
            messages=tuple(_view(row) for row in rows),
        )


def resend(
    *, session: Session, admin: str, order_id: str, message_id: int, now: datetime | None = None
) -> MessageView:
    """Queue a copy of a sent or failed message of this order (a new row: the first one's record stays).

    A second click while the copy waits is refused, so a double click sends it once.
    """
    if not mail_on():
        raise ActionRefused("Email is off (MAIL_MODE=off): nothing can be sent.")
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        original = session.exec(
            select(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.order_id == order_id)
        ).first()
        if original is None or original.id is None:
            raise ActionRefused("There is no such message for this order.")
        if not _view(original).can_resend:
            raise ActionRefused("This message is still on its way; it cannot be sent again yet.")
        copies = session.exec(
            select(OutboxMessage.status).where(OutboxMessage.resend_of == original.id)
        ).all()
        if any(status in (Status.QUEUED, Status.SENDING) for status in copies):
            raise ActionRefused("A copy of this message is already on its way.")
        copy = OutboxMessage(
            dedupe_key=f"resend:{original.id}:{len(copies) + 1}",
            kind=original.kind,
            order_id=order_id,
            params=original.params,
            created_at=now,
            next_attempt_at=now,
            resend_of=original.id,
        )
        session.add(copy)
        try:
            session.flush()  # the unique key decides between two clicks at once
        except IntegrityError:
            raise ActionRefused("A copy of this message is already on its way.") from None
        return _view(copy)


@dataclass(frozen=True)
class Revoked:
    revoked: int
    new_link_sent: bool
    visitor_id: str  # whose open tabs to tell (the order changed for them: its link no longer works)


def revoke_links(*, session: Session, admin: str, order_id: str, now: datetime | None = None) -> Revoked:
    """Every secret link of the order stops working; the buyer is emailed a new one (if email is on)."""
    now = now or utcnow()
    with transaction(session):
        require_admin(session, admin, now)
        order = load_order(session, Order.id == order_id)
        if order is None:
            raise ActionRefused("There is no such order.")
        revoked = links.revoke_all(session, order_id, now)
        sent = bool(order.customer_email) and links.queue_new_link(session, order_id, now)
        return Revoked(revoked, sent, order.visitor_id)
