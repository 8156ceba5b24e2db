"""Tables of the buyer's side channels: the email outbox, secret order links, and sign-in codes by email.

Beside rxshop.core.models (which they build on) so the order tables stay one read. The outbox row is
written in the transaction of the change it tells about (rxshop.mail.outbox); links and codes are kept
only as hashes (rxshop.orders.links, rxshop.orders.email_access).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from rxshop.core.models import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    """One email to send: queued in the transaction that caused it, then claimed, sent and recorded.

    `dedupe_key` is unique, so the same news is queued once however often its cause repeats (a webhook
    delivered twice, the return page and the webhook both paying). The recipient is filled in when the
    message is composed (a buyer's address is the order's, OWNER_EMAIL the owner's).
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", name="uq_mail_outbox_dedupe_key"),
        # The sender's claim: due messages in order; the owner's page: an order's messages.
        sa.Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_mail_outbox_order_id_id", "order_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=160)
    kind: str = Field(max_length=32)  # rxshop.mail.outbox.Kind
    order_id: str | None = Field(default=None, max_length=40)
    recipient: str | None = Field(default=None, max_length=320)
    params: str = Field(default="{}", sa_type=sa.Text)  # JSON: what the message says beyond the order
    status: str = Field(default="queued", max_length=16)  # queued | sending | sent | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_token: str | None = Field(default=None, max_length=32)  # the sender holding it (status sending)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resend_of: int | None = Field(default=None)  # the message the owner sent again


class OrderLink(SQLModel, table=True):
    """A secret link to one order: only the SHA-256 of its 128-bit token is kept."""

    __tablename__ = "order_links"
    __table_args__ = (sa.UniqueConstraint("token_hash", name="uq_order_links_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=40, index=True)
    token_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailChallenge(SQLModel, table=True):
    """A 6-digit code asked for by one browser (visitor) for one address: its keyed hash, expiry and tries.

    Made whether or not the address has orders (then no code matches), so the answer never tells.
    """

    __tablename__ = "email_challenges"
    __table_args__ = (sa.Index("ix_email_challenges_visitor_id_created_at", "visitor_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    visitor_id: str = Field(max_length=64)
    email: str = Field(max_length=320)
    code_hash: str = Field(max_length=64)
    tries: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailGrant(SQLModel, table=True):
    """This visitor proved it reads this address: its browser shows the orders paid with it."""

    __tablename__ = "email_grants"

    visitor_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(primary_key=True, max_length=320)
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
