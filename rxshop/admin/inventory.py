"""The owner's inventory: read and set each product's stock, and refund an oversold order in one click.

Every function checks the sign-in first, like the rest of rxshop.admin; the records are rxshop.orders.stock.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from rxshop.admin.actions import ActionRefused, RefundDone, refund_order, resolve_exception
from rxshop.admin.auth import require_admin
from rxshop.admin.queries import order_detail
from rxshop.core.db import in_session
from rxshop.core.models import InboxItem, utcnow
from rxshop.domain.catalog import UnknownProduct, format_money, get_product
from rxshop.domain.stock import StockLevel
from rxshop.orders import stock
from rxshop.orders.history import InboxKind
from rxshop.orders.records import transaction
from rxshop.payments.gateway import CheckoutGateway


def inventory(*, session: Session, admin: str, now: datetime | None = None) -> tuple[StockLevel, ...]:
    """Every product's stock, in catalog order."""
    with transaction(session):
        require_admin(session, admin, now)
    return stock.levels(session=session)


def update_stock(
    *,
    session: Session,
    admin: str,
    product_id: str,
    tracked: bool,
    quantity: int,
    low_threshold: int,
    now: datetime | None = None,
) -> StockLevel:
    """The owner's count of one product (checked by the caller: rxshop.domain.stock.parse_count)."""
    try:
        get_product(product_id)
    except UnknownProduct as err:
        raise ActionRefused("There is no such product.") from err
    with transaction(session):
        require_admin(session, admin, now)
    return stock.set_stock(
        session=session,
        product_id=product_id,
        tracked=tracked,
        quantity=quantity,
        low_threshold=low_threshold,
    )


def _oversold_refundable(*, session: Session, admin: str, order_id: str) -> int:
    """What the one-click refund of an oversold order returns: all that is left to refund of it."""
    with transaction(session):
        require_admin(session, admin)
        item = session.exec(
            select(InboxItem).where(
                col(InboxItem.kind) == InboxKind.OVERSOLD,
                col(InboxItem.reference) == order_id,
                col(InboxItem.resolved_at).is_(None),
            )
        ).first()
    if item is None:
        raise ActionRefused("This order is not waiting in the inbox as oversold any more.")
    detail = order_detail(session=session, admin=admin, order_id=order_id)
    if detail is None:
        raise ActionRefused("There is no such order.")
    return detail.refundable


async def refund_oversold(*, admin: str, order_id: str, gateway: CheckoutGateway) -> RefundDone:
    """Refund what remains of an oversold order, put back what its sale took, and resolve its inbox item.

    The request key is made from the order and the amount, so a double click is one refund at Stripe."""
    amount = await in_session(_oversold_refundable, admin=admin, order_id=order_id)
    if amount <= 0:
        raise ActionRefused("Nothing is left to refund on this order.")
    done = await refund_order(
        admin=admin,
        order_id=order_id,
        amount=amount,
        request_key=f"oversold-{order_id}-{amount}"[:64],
        gateway=gateway,
        restock=True,
    )
    await in_session(
        resolve_exception,
        admin=admin,
        kind=InboxKind.OVERSOLD,
        reference=order_id,
        note=f"Refunded {format_money(done.amount, done.order.currency)} in one click ({done.stripe_refund_id}).",
        now=utcnow(),
    )
    return done
