"""What the Buy path writes, prebuilt: a new order's row (`NewOrder`, every column) and the statements that
write it, each condition written once (no ORM, no expression building: one cheap pass per Buy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from rxshop.core.models import Order


@dataclass(slots=True)
class NewOrder:
    """Every column of an order not written yet (no ORM object: a burst of Buys builds one each)."""

    id: str
    visitor_id: str
    status: str
    currency: str
    amount_total: int
    amount_refunded: int
    cart_fingerprint: str
    stripe_session_id: str | None
    checkout_url: str | None
    session_expires_at: datetime | None
    payment_intent_id: str | None
    customer_email: str | None
    livemode: bool
    client_ip: str | None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None
    number: str | None
    amount_subtotal: int
    amount_shipping: int
    amount_discount: int
    shipping_offer: str | None
    shipping_rate_id: str | None
    shipping_rate_name: str | None
    ship_name: str | None
    ship_line1: str | None
    ship_line2: str | None
    ship_city: str | None
    ship_state: str | None
    ship_postal_code: str | None
    ship_country: str | None
    phone: str | None
    fulfillment_status: str
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime | None
    tracking_email_requested_at: datetime | None
    promotion_code_id: str | None
    coupon_id: str | None


_TABLE = sa.inspect(Order).local_table
ORDER_COLUMNS = tuple(c.name for c in _TABLE.columns)
_DATES = {name: sa.bindparam(name, type_=_TABLE.c.created_at.type) for name in ("now", "reuse", "expires_at")}

_INSERT_ORDER_SQL = (
    f"INSERT INTO orders ({', '.join(ORDER_COLUMNS)}) VALUES ({', '.join(':' + c for c in ORDER_COLUMNS)})"
)
_COLUMN_TYPES = [sa.bindparam(c.name, type_=c.type) for c in _TABLE.columns]
INSERT_ORDER = sa.text(_INSERT_ORDER_SQL).bindparams(*_COLUMN_TYPES)
# The fast path of a burst (buy.settle_checkouts): the same INSERT for the whole batch, a no-op for an order
# that exists already (executed with a list of rows: SQLAlchemy's "insertmanyvalues" sends them as multi-row
# INSERTs, one round trip per up to 1,000 rows instead of one per order); the ids written.
INSERT_NEW_ORDERS = {
    name: dialect.insert(_TABLE).on_conflict_do_nothing(index_elements=["id"]).returning(_TABLE.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}
INSERT_LINE = sa.text(
    "INSERT INTO order_lines (order_id, product_id, name, unit_amount, quantity)"
    " VALUES (:order_id, :product_id, :name, :unit_amount, :quantity)"
)
DELETE_NEW = sa.text("DELETE FROM orders WHERE id = :id")

# The conditions, once each.
_UNATTACHED = "status = :pending AND stripe_session_id IS NULL"  # no Checkout Session yet
_CART = "visitor_id = :visitor AND cart_fingerprint = :fingerprint"  # this visitor's same cart
# An open checkout: a pending order whose session is (or may still be) payable. Counted for the caps.
_OPEN = "status = :pending AND (session_expires_at IS NULL OR session_expires_at > :now)"
_OPEN_OF_VISITOR = f"visitor_id = :visitor AND {_OPEN}"
_OPEN_OF_CLIENT = f"client_ip = :client_ip AND {_OPEN}"
# An older open session of this cart (from an earlier window), handed back rather than a second one.
_OLDER_OPEN = f"{_CART} AND status = :pending AND checkout_url IS NOT NULL AND session_expires_at > :reuse AND id <> :id"

# An unattached order of this cart under another id is from an earlier window: its key is never asked
# again, and it would block the one-unattached-order index. First, so that SQLite takes its write lock
# at the start of the transaction (never a read upgraded later).
EXPIRE_OTHER_UNATTACHED = sa.text(
    f"UPDATE orders SET status = :expired, updated_at = :now WHERE {_CART} AND {_UNATTACHED} AND id <> :id"
).bindparams(_DATES["now"])
PLANNED = sa.text("SELECT status, stripe_session_id, checkout_url FROM orders WHERE id = :id")
ATTACH = sa.text(
    "UPDATE orders SET stripe_session_id = :session_id, checkout_url = :url, session_expires_at = :expires_at,"
    f" updated_at = :now WHERE id = :id AND {_UNATTACHED}"
).bindparams(_DATES["now"], _DATES["expires_at"])
GIVE_UP = sa.text(
    f"UPDATE orders SET status = :expired, updated_at = :now WHERE id = :id AND {_UNATTACHED}"
).bindparams(_DATES["now"])
REUSABLE = sa.text(
    f"SELECT id, checkout_url FROM orders WHERE {_OLDER_OPEN} ORDER BY created_at DESC, id DESC LIMIT 1"
).bindparams(_DATES["reuse"])
OPEN_BY_VISITOR = sa.text(f"SELECT count(*) FROM orders WHERE {_OPEN_OF_VISITOR}").bindparams(_DATES["now"])
OPEN_BY_CLIENT = sa.text(f"SELECT count(*) FROM orders WHERE {_OPEN_OF_CLIENT}").bindparams(_DATES["now"])
STATUSES = sa.text("SELECT id, status FROM orders WHERE id IN :ids").bindparams(
    sa.bindparam("ids", expanding=True)
)
# The fast path's one look around the order it has just inserted: the caps, an older open session, and
# whether an unattached order of the cart is there to give up.
AROUND_NEW = sa.text(
    f"SELECT (SELECT count(*) FROM orders WHERE {_OPEN_OF_VISITOR}) AS by_visitor,"
    f" (SELECT count(*) FROM orders WHERE {_OPEN_OF_CLIENT}) AS by_client,"
    f" (SELECT count(*) FROM orders WHERE {_OLDER_OPEN}) AS older,"
    f" (SELECT count(*) FROM orders WHERE {_CART} AND {_UNATTACHED}) AS unattached"
).bindparams(_DATES["now"], _DATES["reuse"])
