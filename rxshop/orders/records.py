"""Order records: what the order services share, a new order's columns, expiring, listing and moving orders.

Orders are written by the Buy path (`rxshop.orders.buy`) from `pending_order_values`.

Every function takes the database session as the keyword `session=`, runs one transaction and commits.
Concurrency is left to the database: a unique Checkout Session id per order, and conditional UPDATEs
(`... WHERE status IN (<states allowed to move>)`). No in-process locks: the return page and Stripe's
webhooks may hit different workers or hosts at the same moment. What Stripe says about an order is
applied by `rxshop.orders.fulfillment`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic_core import PydanticUndefined
from sqlmodel import Session, col, select

from rxshop.core.models import Order, OrderLine, new_order_id, new_order_number, utcnow
from rxshop.domain.cart import Cart, price_cart
from rxshop.domain.lifecycle import UNATTACHED_ORDER_LIFETIME, sources_of
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.shipping import encode_offer, rates_for
from rxshop.orders import history
from rxshop.orders.history import EventKind
from rxshop.orders.views import (  # noqa: F401  (re-exported: the services and the UI read views from here)
    FulfillmentStatus,
    OrderLineView,
    OrderPage,
    OrderView,
    ShippingAddress,
)
from rxshop.orders.views import view as _view

logger = logging.getLogger(__name__)

# --- Shared by the order services (orders, fulfillment) ---------------------------------------------------------------------------------------------


@contextmanager
def transaction(session: Session) -> Iterator[None]:
    """Commit on success; on any error roll back (the event row too) and let the error propagate."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def load_order(session: Session, *where: Any) -> Order | None:
    # populate_existing: a reused Session must not answer from its identity map after a Core UPDATE.
    statement = select(Order).where(*where).execution_options(populate_existing=True)
    return session.exec(statement).first()


def lines_of(session: Session, order_ids: list[str]) -> dict[str, list[OrderLineView]]:
    lines: dict[str, list[OrderLineView]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return lines
    # Columns, not OrderLine objects: the owner's CSV reads ~200,000 lines, and ORM instances cost 3x.
    rows = (
        session.connection()
        .execute(
            sa.select(
                col(OrderLine.order_id),
                col(OrderLine.product_id),
                col(OrderLine.name),
                col(OrderLine.unit_amount),
                col(OrderLine.quantity),
            )
            .where(col(OrderLine.order_id).in_(order_ids))
            .order_by(col(OrderLine.id))
        )
        .all()
    )
    for order_id, product_id, name, unit_amount, quantity in rows:
        lines[order_id].append(OrderLineView(product_id, name, unit_amount, quantity))
    return lines


def view_of(session: Session, order: Order) -> OrderView:
    return _view(order, lines_of(session, [order.id])[order.id])


def views_by_id(session: Session, order_ids: Collection[str]) -> dict[str, OrderView]:
    """These orders (those that exist) with their lines, in two queries whatever their number."""
    if not order_ids:
        return {}
    statement = select(Order).where(col(Order.id).in_(sorted(order_ids)))
    orders = session.exec(statement.execution_options(populate_existing=True)).all()
    lines = lines_of(session, [order.id for order in orders])
    return {order.id: _view(order, lines[order.id]) for order in orders}


def reprice(cart: Cart) -> Cart:
    """The same quantities priced from the catalog now: a Cart built elsewhere never sets a price."""
    return price_cart({line.product_id: line.quantity for line in cart.lines})


def as_utc(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(int(value), UTC)


# --- New orders -------------------------------------------------------------------------------------


# What a new order holds in the columns nobody sets when it is made (statuses, amounts 0, NULLs).
_COLUMN_DEFAULTS = {
    name: field.default
    for name, field in Order.model_fields.items()
    if field.default is not PydanticUndefined
}


def pending_order_values(
    visitor_id: str, priced: Cart, session_expires_at: datetime | None, livemode: bool, client_ip: str | None
) -> dict[str, Any]:
    """Every column of a new pending order for a priced cart (the Buy path plans its orders from these)."""
    now = utcnow()
    return {
        **_COLUMN_DEFAULTS,
        "id": new_order_id(),
        "visitor_id": visitor_id,
        "status": S.PENDING,
        "currency": priced.currency,
        "amount_total": priced.total,
        "amount_subtotal": priced.total,
        # Fixed now, like the lines' prices: what Checkout offers and fulfillment checks.
        "shipping_offer": encode_offer(rates_for(priced)),
        "number": new_order_number(),
        "cart_fingerprint": priced.fingerprint(),
        "session_expires_at": session_expires_at,
        "livemode": livemode,
        "client_ip": client_ip,
        "created_at": now,
        "updated_at": now,
    }


def find_order_by_session(*, session: Session, session_id: str) -> OrderView | None:
    with transaction(session):
        order = load_order(session, Order.stripe_session_id == session_id)
        return view_of(session, order) if order is not None else None


# --- Housekeeping and listings -----------------------------------------------------------------------------


def _stale(now: datetime) -> sa.ColumnElement[bool]:
    """Past its session's expiry, or never given a session and older than UNATTACHED_ORDER_LIFETIME."""
    return sa.or_(
        col(Order.session_expires_at) < now,
        sa.and_(
            col(Order.stripe_session_id).is_(None), col(Order.created_at) < now - UNATTACHED_ORDER_LIFETIME
        ),
    )


def expire_stale_orders(*, session: Session, now: datetime) -> list[OrderView]:
    """Mark pending orders whose Checkout Session has expired (in case Stripe's expired event never came)."""
    expired: list[OrderView] = []
    with transaction(session):
        stale = session.exec(
            select(Order.id).where(col(Order.status).in_(sources_of(S.EXPIRED)), _stale(now))
        ).all()
        for order_id in stale:
            result = session.exec(
                sa.update(Order)
                .where(
                    col(Order.id) == order_id,
                    col(Order.status).in_(sources_of(S.EXPIRED)),
                    _stale(now),
                )
                .values(status=S.EXPIRED, updated_at=now)
            )
            if result.rowcount == 1:
                order = load_order(session, Order.id == order_id)
                assert order is not None
                history.add_event(session, order_id, EventKind.STATUS, "pending -> expired", at=now)
                expired.append(view_of(session, order))
    return expired


def list_orders(
    *,
    session: Session,
    visitor_id: str,
    offset: int = 0,
    limit: int = 20,
    statuses: Collection[str] | None = None,
) -> OrderPage:
    """One page of this visitor's orders, newest first, with their lines (only `statuses`, if given).

    Two queries (every page turn and every live push runs this): the page with `count(*) OVER ()` for the
    total, then its lines; both on indexes ((visitor_id, created_at), order_lines.order_id). A count
    query only when the page is past the end (no row to carry the total).
    """
    where = [col(Order.visitor_id) == visitor_id]
    if statuses is not None:
        where.append(col(Order.status).in_(tuple(statuses)))
    offset = max(0, int(offset))
    limit = min(max(1, int(limit)), 100)
    with transaction(session):
        rows = session.exec(
            select(Order, sa.func.count().over().label("total"))
            .where(*where)
            .order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .offset(offset)
            .limit(limit)
            .execution_options(populate_existing=True)
        ).all()
        orders = [order for order, _total in rows]
        if rows:
            total = rows[0][1]
        elif offset:
            total = session.exec(select(sa.func.count()).select_from(Order).where(*where)).one()
        else:
            total = 0
        lines = lines_of(session, [o.id for o in orders])
        views = tuple(_view(o, lines[o.id]) for o in orders)
    return OrderPage(orders=views, total=int(total), offset=offset, limit=limit)
