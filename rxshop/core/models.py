"""SQLModel tables: orders and their lines, Stripe events received (de-duplication), the order timeline,
refund requests, promotion codes seen, the owner's exceptions inbox, the owner's sign-ins, stock with its
reservations, and each visitor's cart."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


# No 0/O, 1/I/L: an order number is read out on the phone and typed from an email.
ORDER_NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def new_order_number() -> str:
    """'RX-' + 6 characters of an unambiguous alphabet (31**6, about 887 million); unique in the database."""
    return "RX-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(6))


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
        sa.Index("uq_orders_number", "number", unique=True),
        # The owner's order table (rxshop.admin.queries.sort_clauses): per sort, its ORDER BY then the columns
        # the list filters on, so a page and the tab counts are read from an index alone; revenue per day of
        # payment, with the amounts it sums and the id product totals join on (migration 0012).
        sa.Index("ix_orders_list_created_at", "created_at", "id", "status", "fulfillment_status"),
        sa.Index(
            "ix_orders_list_email", "customer_email", "created_at", "id", "status", "fulfillment_status"
        ),
        sa.Index("ix_orders_list_total", "amount_total", "created_at", "id", "status", "fulfillment_status"),
        sa.Index("ix_orders_list_number", "number", "id", "status", "fulfillment_status", "created_at"),
        sa.Index("ix_orders_list_status", "status", "fulfillment_status", "created_at", "id"),
        sa.Index(
            "ix_orders_revenue",
            *(
                "paid_at",
                "status",
                "id",
                "amount_total",
                "amount_shipping",
                "amount_discount",
                "amount_refunded",
            ),
        ),
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
    # Short and unique, for people (the id stays the key): nullable in the schema only because SQLite
    # cannot add NOT NULL to a table other tables reference; every order gets one at creation.
    number: str | None = Field(default_factory=new_order_number, max_length=16)
    # Money, all in minor units: amount_total = amount_subtotal - amount_discount + amount_shipping once paid
    # (as Stripe reports and fulfillment checks them); before payment amount_total is the subtotal.
    amount_subtotal: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    amount_shipping: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    amount_discount: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})
    # The rates offered for this cart when the order was made (rxshop.domain.shipping.encode_offer): Stripe's
    # reported rate and amount are checked against it, as lines are against order_lines.
    shipping_offer: str | None = Field(default=None, max_length=500)
    shipping_rate_id: str | None = Field(default=None, max_length=32)
    shipping_rate_name: str | None = Field(default=None, max_length=100)
    ship_name: str | None = Field(default=None, max_length=200)
    ship_line1: str | None = Field(default=None, max_length=200)
    ship_line2: str | None = Field(default=None, max_length=200)
    ship_city: str | None = Field(default=None, max_length=200)
    ship_state: str | None = Field(default=None, max_length=200)
    ship_postal_code: str | None = Field(default=None, max_length=32)
    ship_country: str | None = Field(default=None, max_length=2)
    phone: str | None = Field(default=None, max_length=40)
    fulfillment_status: str = Field(
        default="unfulfilled", max_length=16, sa_column_kwargs={"server_default": "unfulfilled"}
    )
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The owner changed the tracking and ticked "tell the buyer": set here, in the same transaction as the
    # change; the mail sender tells the buyer of the tracking as it then is, and clears it.
    tracking_email_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The promotion code (promo_...) and coupon Stripe applied at Checkout, from the session's `discounts`.
    promotion_code_id: str | None = Field(default=None, max_length=255)
    coupon_id: str | None = Field(default=None, max_length=255)


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


class OrderEvent(SQLModel, table=True):
    """The order's timeline: each status change, shipment and refund request, with its time and who did it.

    Webhook deliveries are not copied here: `stripe_events.order_id` links them, and the timeline joins both.
    """

    __tablename__ = "order_events"
    __table_args__ = (sa.Index("ix_order_events_order_id_at", "order_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    order_id: str = Field(max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=32)  # rxshop.orders.history.EventKind
    detail: str = Field(default="", sa_type=sa.Text)
    actor: str = Field(default="system", max_length=64)  # stripe | system | owner


class RefundRequest(SQLModel, table=True):
    """One owner's refund request: the unique key makes a double click one request, hence one Stripe refund."""

    __tablename__ = "refund_requests"
    __table_args__ = (sa.UniqueConstraint("request_key", name="uq_refund_requests_request_key"),)

    id: int | None = Field(default=None, primary_key=True)
    request_key: str = Field(max_length=64)
    order_id: str = Field(max_length=40, index=True)
    amount: int = Field(sa_type=sa.BigInteger)
    status: str = Field(max_length=16)  # requested | succeeded | failed
    stripe_refund_id: str | None = Field(default=None, max_length=255)
    error: str | None = Field(default=None, max_length=500)
    requested_by: str = Field(default="owner", max_length=64)
    # Stripe's refund reason (duplicate | fraudulent | requested_by_customer), or "other" with the owner's note
    # (rxshop.domain.refunds): sent to Stripe, shown on the timeline and said in the buyer's refund email.
    reason: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    requested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DiscountCode(SQLModel, table=True):
    """A Stripe promotion code the shop has seen (made on the Discounts page or listed from Stripe): an order
    stores only the promotion code's id Stripe reports, and its page shows the code the buyer typed."""

    __tablename__ = "discount_codes"

    id: str = Field(primary_key=True, max_length=255)  # promo_...
    code: str = Field(max_length=500)
    coupon_id: str = Field(max_length=255)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class InboxItem(SQLModel, table=True):
    """Something the owner must look at: money without a matching order, an unprocessable event, or (only
    once resolved) an overdue shipment. One row per (kind, reference), however often Stripe repeats it."""

    __tablename__ = "exceptions_inbox"
    __table_args__ = (sa.UniqueConstraint("kind", "reference", name="uq_exceptions_inbox_kind_reference"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)  # mismatch | unknown_session | unprocessable | ship_overdue
    reference: str = Field(max_length=255)  # the session id, event id or order id it is about
    order_id: str | None = Field(default=None, max_length=40)
    session_id: str | None = Field(default=None, max_length=255)
    event_id: str | None = Field(default=None, max_length=255)
    amount: int | None = Field(default=None, sa_type=sa.BigInteger)
    currency: str | None = Field(default=None, max_length=3)
    detail: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_note: str | None = Field(default=None, sa_type=sa.Text)


class AdminSession(SQLModel, table=True):
    """The owner's sign-ins, server-side: one row per admin cookie, and per one-time grant that becomes one.

    Only the SHA-256 of each random token is stored, so a copy of the database signs no one in. A `grant`
    lives a minute and is exchanged once (by the browser it was made for) for a `session`: the HttpOnly
    admin cookie. Deleting rows signs out; `expires_at` is the absolute end, `last_seen_at` the idle clock.
    """

    __tablename__ = "admin_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # grant | session
    visitor_id: str = Field(max_length=64)  # the browser (its visitor credential) it was made for
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class AdminBrowser(SQLModel, table=True):
    """Browsers (visitor ids) the owner signed in from: a flood of guesses from elsewhere, which the
    shop-wide sign-in limit slows down, does not hold them up."""

    __tablename__ = "admin_browsers"

    visitor_id: str = Field(primary_key=True, max_length=64)
    last_signed_in_at: datetime = Field(sa_type=UTCDateTime)


class AdminLoginFailure(SQLModel, table=True):
    """Sign-in attempts not (yet) proven right, per key: a client address (IPv4) or network (IPv6 /64), or
    "shop" for all of them. Counted before the password is hashed; in the database so every worker agrees."""

    __tablename__ = "admin_login_failures"

    client_key: str = Field(primary_key=True, max_length=128)
    failures: int = Field(default=0)
    last_failure_at: datetime = Field(sa_type=UTCDateTime)
    blocked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class StockItem(SQLModel, table=True):
    """One product's stock (rxshop.domain.stock): units for sale, units held by open checkouts, and when
    the owner wants to hear it runs low. No row, or tracked=False: the product is never counted."""

    __tablename__ = "stock"
    __table_args__ = (sa.CheckConstraint("quantity >= 0", name="ck_stock_quantity"),)

    product_id: str = Field(primary_key=True, max_length=64)
    tracked: bool = Field(default=True)
    quantity: int = Field(default=0)  # for sale, held units included; a sale takes units off
    reserved: int = Field(default=0)  # held by open Checkout Sessions (the sum of their held reservations)
    low_threshold: int = Field(default=3)
    generation: int = Field(default=0)  # +1 per count the owner sets: one low-stock alert per restock
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StockReservation(SQLModel, table=True):
    """What one order holds of one product, keyed by the order id: a second press of Buy for the same order
    finds it and reserves nothing more. Held until the order's Checkout Session expires (`expires_at`, the
    very value sent to Stripe), fails or is cancelled; then released, or sold when paid."""

    __tablename__ = "stock_reservations"
    __table_args__ = (sa.Index("ix_stock_reservations_status_expires_at", "status", "expires_at"),)

    order_id: str = Field(primary_key=True, max_length=40)  # no FK: reserved before the order is written
    product_id: str = Field(primary_key=True, max_length=64)
    quantity: int
    status: str = Field(max_length=16)  # rxshop.domain.stock.ReservationStatus
    expires_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VisitorCart(SQLModel, table=True):
    """A visitor's cart, kept on the server for the visitor credential: the same in every tab, on every
    visit. `updated_at` is its last change: an order paid after it with exactly its lines empties it
    (rxshop.orders.carts)."""

    __tablename__ = "carts"
    __table_args__ = (sa.Index("ix_carts_updated_at", "updated_at"),)  # forgetting abandoned carts

    visitor_id: str = Field(primary_key=True, max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class VisitorCartLine(SQLModel, table=True):
    """One product of a visitor's cart and how many; no row for a product not in it (quantity 0)."""

    __tablename__ = "cart_lines"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["carts.visitor_id"], name="fk_cart_lines_visitor_id_carts", ondelete="CASCADE"
        ),
        sa.CheckConstraint("quantity > 0", name="ck_cart_lines_quantity_positive"),
    )

    visitor_id: str = Field(primary_key=True, max_length=64)
    product_id: str = Field(primary_key=True, max_length=64)
    quantity: int
