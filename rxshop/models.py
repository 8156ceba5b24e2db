"""SQLModel tables: orders, their lines, and the log of Stripe events received (webhook de-duplication)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_order_id() -> str:
    """'ord_' + 24 random hex digits: unguessable, because it travels in URLs and Stripe metadata."""
    return "ord_" + secrets.token_hex(12)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so values are stored as naive UTC text and
    come back tagged UTC. Naive datetimes are refused on the way in: they are always a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UNATTACHED_PENDING = sa.text("status = 'pending' AND stripe_session_id IS NULL")


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        # The database, not the app, guarantees one order per Checkout Session.
        sa.UniqueConstraint("stripe_session_id", name="uq_orders_stripe_session_id"),
        # "My orders", newest first, and the stale-order sweep.
        sa.Index("ix_orders_visitor_id_created_at", "visitor_id", "created_at"),
        sa.Index("ix_orders_status_session_expires_at", "status", "session_expires_at"),
        # The cap on open checkouts per client address.
        sa.Index("ix_orders_client_ip_status", "client_ip", "status"),
        # At most one pending order per visitor and cart still waiting for its Checkout Session: two tabs
        # pressing Buy at once share one order, hence one idempotency key, hence one session.
        sa.Index(
            "uq_orders_unattached_pending_cart",
            "visitor_id",
            "cart_fingerprint",
            unique=True,
            sqlite_where=UNATTACHED_PENDING,
            postgresql_where=UNATTACHED_PENDING,
        ),
    )

    id: str = Field(default_factory=new_order_id, primary_key=True, max_length=40)
    visitor_id: str = Field(max_length=64)
    status: str = Field(max_length=32)
    currency: str = Field(max_length=3)
    amount_total: int = Field(sa_type=sa.BigInteger)
    amount_refunded: int = Field(default=0, sa_type=sa.BigInteger)
    cart_fingerprint: str
    stripe_session_id: str | None = Field(default=None, max_length=255)
    checkout_url: str | None = Field(default=None)
    session_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    payment_intent_id: str | None = Field(default=None, max_length=255, index=True)
    customer_email: str | None = Field(default=None, max_length=320)
    # The mode of the Stripe key the order was made with: an event or session of the other mode never applies.
    livemode: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    client_ip: str | None = Field(
        default=None, max_length=64
    )  # where Buy was pressed (the open-checkout cap)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_lines_order_id_orders"),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=40, index=True)
    product_id: str = Field(max_length=64)
    name: str = Field(max_length=200)  # as sold, so a later catalog rename does not rewrite history
    unit_amount: int = Field(sa_type=sa.BigInteger)
    quantity: int


class StripeEvent(SQLModel, table=True):
    """One row per Stripe event id processed; a second delivery of the same id is a no-op."""

    __tablename__ = "stripe_events"

    id: str = Field(primary_key=True, max_length=255)  # Stripe's event id, evt_...
    type: str = Field(max_length=100)
    session_id: str | None = Field(default=None, max_length=255)
    order_id: str | None = Field(default=None, max_length=40)  # no FK: unknown sessions are logged too
    stripe_created: int | None = Field(default=None, sa_type=sa.BigInteger)  # the event's `created`
    outcome: str = Field(max_length=32)
    detail: str | None = Field(default=None, sa_type=sa.Text)  # why it could not be applied (unprocessable)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
