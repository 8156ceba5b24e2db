"""The visitor's cart, kept on the server for the visitor credential: one cart in every tab, on every visit.

A tab's state only shows it (rxshop.state.cart); these functions are the one place it is read and changed,
each in its own transaction, with the quantity rules of rxshop.domain.cart (a browser sends anything).
Concurrent changes from several tabs are serialised on the cart's row (an upsert locks it), so steps
(+1, -1) from two tabs both count.

When is a cart emptied? When the order made from it is paid, and only then: reading a cart (every page
load, every push, Buy) first checks for an order of this visitor paid since the cart last changed whose
lines are exactly the cart's; if there is one, the cart was bought, and it is emptied. So opening an old
order's return page empties nothing, a cart changed while the buyer was on Stripe's page stays, and the
payment paths (return page, webhook) need no cart code: the open tabs hear of the order through
rxshop.core.notify and read their cart again (rxshop.state.cart). A cart changed back to the same lines after a payment is not
emptied (its last change is after the payment). A cart untouched for CART_LIFETIME is forgotten
(`forget_abandoned_carts`, from the housekeeping loop).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from rxshop.core.db import GroupCommit, in_session
from rxshop.core.models import Order, OrderLine, VisitorCart, VisitorCartLine, utcnow
from rxshop.domain.cart import InvalidQuantity, parse_quantity
from rxshop.domain.catalog import MAX_QUANTITY, PRODUCTS, get_product
from rxshop.domain.identity import is_visitor_id
from rxshop.orders.records import transaction

CART_LIFETIME = timedelta(days=90)  # a cart nobody changed for this long is deleted
Quantities = dict[str, int]  # product id -> quantity (1..MAX_QUANTITY), in catalog order

_CATALOG_ORDER = {p.id: i for i, p in enumerate(PRODUCTS)}


class NoVisitor(ValueError):
    """The connection has no valid credential: there is no cart to read or change."""


def _checked(visitor_id: str) -> str:
    if not is_visitor_id(visitor_id):
        raise NoVisitor("Your browser session is not ready yet; please reload the page.")
    return visitor_id


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _valid(stored: dict[str, int]) -> Quantities:
    """The stored lines still valid in today's catalog, in its order (a product since removed, or a
    quantity above today's maximum, is left out: the cart never offers what the shop does not sell)."""
    found = {pid: qty for pid, qty in stored.items() if pid in _CATALOG_ORDER and 0 < qty <= MAX_QUANTITY}
    return dict(sorted(found.items(), key=lambda item: _CATALOG_ORDER[item[0]]))


def _lines(session: Session, visitor_id: str) -> Quantities:
    rows = session.exec(
        select(VisitorCartLine.product_id, VisitorCartLine.quantity).where(
            VisitorCartLine.visitor_id == visitor_id
        )
    ).all()
    return _valid(dict(rows))


def _bought_since(session: Session, visitor_id: str, since: datetime, quantities: Quantities) -> bool:
    """Was an order of this visitor with exactly these lines paid at or after `since`?"""
    rows = session.exec(
        select(OrderLine.order_id, OrderLine.product_id, OrderLine.quantity)
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .where(Order.visitor_id == visitor_id, col(Order.paid_at) >= since)
    ).all()
    paid: dict[str, Quantities] = {}
    for order_id, product_id, quantity in rows:
        lines = paid.setdefault(order_id, {})
        lines[product_id] = lines.get(product_id, 0) + quantity
    return any(lines == quantities for lines in paid.values())


# Built once (a statement built per call costs Buy more than running it, bench/buy_burst.py): the lines,
# when the cart last changed, and whether an order of this visitor was paid since.
_LINES, _CARTS, _ORDERS = (sa.inspect(model).local_table for model in (VisitorCartLine, VisitorCart, Order))
# One statement for one visitor (read_cart) or a burst of them (read_carts).
_READ = (
    sa.select(
        _LINES.c.visitor_id,
        _LINES.c.product_id,
        _LINES.c.quantity,
        _CARTS.c.updated_at,
        sa.exists()
        .where(_ORDERS.c.visitor_id == _CARTS.c.visitor_id, _ORDERS.c.paid_at >= _CARTS.c.updated_at)
        .label("paid_since"),
    )
    .join(_CARTS, _CARTS.c.visitor_id == _LINES.c.visitor_id)
    .where(_LINES.c.visitor_id.in_(sa.bindparam("visitors", expanding=True)))
)


def read_cart(*, session: Session, visitor_id: str) -> Quantities:
    """The visitor's cart; emptied first if the order made from it has been paid (see the module).

    One statement in the common case (Buy reads the cart with it); only when an order of this visitor
    was paid since the cart last changed are that order's lines compared.
    """
    _checked(visitor_id)
    rows = session.connection().execute(_READ, {"visitors": [visitor_id]}).all()
    quantities = _valid({row.product_id: row.quantity for row in rows})
    if not rows or not rows[0].paid_since:
        return quantities
    changed_at = rows[0].updated_at
    if not _bought_since(session, visitor_id, changed_at, quantities):
        return quantities
    with transaction(session):
        # Only if unchanged since it was read: a change from another tab in between keeps the cart. The
        # row's lines go with it (ON DELETE CASCADE).
        emptied = session.exec(
            sa.delete(VisitorCart).where(
                col(VisitorCart.visitor_id) == visitor_id, col(VisitorCart.updated_at) == changed_at
            )
        ).rowcount
        if emptied:
            return {}
    return read_cart(session=session, visitor_id=visitor_id)


def read_carts(*, session: Session, visitor_ids: list[str]) -> list[Quantities | Exception]:
    """read_cart for several visitors at once: one statement for a burst of Buys or page loads (read_cart
    itself only for a cart with an order paid since it changed). A visitor's error is theirs alone."""
    valid = sorted({v for v in visitor_ids if is_visitor_id(v)})
    found: dict[str, list[Any]] = {}
    for row in session.connection().execute(_READ, {"visitors": valid}) if valid else ():
        found.setdefault(row.visitor_id, []).append(row)
    session.rollback()  # a read: end it before read_cart's own transactions
    results: list[Quantities | Exception] = []
    for visitor_id in visitor_ids:
        rows = found.get(visitor_id, [])
        if not is_visitor_id(visitor_id):
            results.append(NoVisitor("Your browser session is not ready yet; please reload the page."))
        elif rows and rows[0].paid_since:
            try:
                results.append(read_cart(session=session, visitor_id=visitor_id))
            except sa.exc.SQLAlchemyError as err:
                session.rollback()
                results.append(err)
        else:
            results.append(_valid({row.product_id: row.quantity for row in rows}))
    return results


# Reads that arrive while the database works on earlier ones go together (core.db.GroupCommit).
_reads: GroupCommit[str, Quantities] = GroupCommit(lambda ids: in_session(read_carts, visitor_ids=ids))


async def fetch_cart(visitor_id: str) -> Quantities:
    """The visitor's cart, from async code (Buy, a page load): read_cart off the event loop, grouped with
    the reads of the same moment. Raises NoVisitor for a missing credential, at once."""
    return await _reads.submit(_checked(visitor_id))


def _touch(session: Session, visitor_id: str) -> None:
    """Mark the cart changed now (made if missing), inside the caller's transaction.

    The upsert takes the cart row's lock on PostgreSQL, and on SQLite the database's write lock, so what
    follows is a consistent read-modify-write however many tabs change the cart at once.
    """
    now = utcnow()
    session.exec(
        _insert(session)(VisitorCart)
        .values(visitor_id=visitor_id, updated_at=now)
        .on_conflict_do_update(index_elements=["visitor_id"], set_={"updated_at": now})
    )


def _write_line(session: Session, visitor_id: str, product_id: str, quantity: int) -> None:
    if quantity == 0:
        session.exec(
            sa.delete(VisitorCartLine).where(
                col(VisitorCartLine.visitor_id) == visitor_id, col(VisitorCartLine.product_id) == product_id
            )
        )
        return
    session.exec(
        _insert(session)(VisitorCartLine)
        .values(visitor_id=visitor_id, product_id=product_id, quantity=quantity)
        .on_conflict_do_update(index_elements=["visitor_id", "product_id"], set_={"quantity": quantity})
    )


def set_quantity(*, session: Session, visitor_id: str, product_id: object, quantity: object) -> Quantities:
    """Set one product's quantity (0 removes it); the whole cart after. Raises catalog.UnknownProduct or
    cart.InvalidQuantity (and changes nothing) for what the shop does not accept."""
    _checked(visitor_id)
    product = get_product(product_id)  # type: ignore[arg-type]  # checks any value
    checked = parse_quantity(quantity)
    with transaction(session):
        _touch(session, visitor_id)
        _write_line(session, visitor_id, product.id, checked)
        return _lines(session, visitor_id)


def step_quantity(*, session: Session, visitor_id: str, product_id: object, delta: int) -> Quantities:
    """One more (+1) or one fewer (-1), kept within 0..MAX_QUANTITY; the whole cart after."""
    _checked(visitor_id)
    product = get_product(product_id)  # type: ignore[arg-type]
    if isinstance(delta, bool) or delta not in (-1, 1):
        raise InvalidQuantity()
    with transaction(session):
        _touch(session, visitor_id)
        current = session.exec(
            select(VisitorCartLine.quantity).where(
                VisitorCartLine.visitor_id == visitor_id, VisitorCartLine.product_id == product.id
            )
        ).first()
        _write_line(session, visitor_id, product.id, min(max((current or 0) + delta, 0), MAX_QUANTITY))
        return _lines(session, visitor_id)


def clear_cart(*, session: Session, visitor_id: str) -> Quantities:
    """Empty the cart (the buyer's own choice)."""
    _checked(visitor_id)
    with transaction(session):
        session.exec(sa.delete(VisitorCartLine).where(col(VisitorCartLine.visitor_id) == visitor_id))
        session.exec(sa.delete(VisitorCart).where(col(VisitorCart.visitor_id) == visitor_id))
    return {}


def forget_abandoned_carts(*, session: Session, now: datetime) -> int:
    """Delete the carts nobody changed for CART_LIFETIME (their lines go with them); how many."""
    with transaction(session):
        return session.exec(
            sa.delete(VisitorCart).where(col(VisitorCart.updated_at) < now - CART_LIFETIME)
        ).rowcount
