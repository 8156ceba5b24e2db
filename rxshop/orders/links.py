"""Secret order links: a URL that shows one order, on any device, to whoever holds it.

The token is 128 random bits (22 URL-safe characters); only its SHA-256 is stored, so the database alone
opens no order. A link is made when a message carrying it is composed (rxshop.mail.compose), never in the
webhook's transaction; the owner revokes every link of an order at once, and the buyer is sent a new one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.core import routes
from rxshop.core.mail_models import OrderLink
from rxshop.core.models import Order
from rxshop.core.settings import get_settings
from rxshop.mail import outbox
from rxshop.orders.records import OrderView, load_order, transaction, view_of

TOKEN = re.compile(r"[A-Za-z0-9_-]{22}")  # secrets.token_urlsafe(16)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_url(token: str) -> str:
    return get_settings().app_url + routes.ORDER_LINK_KEY + token


def issue(session: Session, order_id: str, now: datetime) -> str:
    """A new link to `order_id` inside the caller's transaction; returns the token (not stored anywhere)."""
    token = secrets.token_urlsafe(16)
    session.add(OrderLink(order_id=order_id, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def order_for_token(*, session: Session, token: str) -> OrderView | None:
    """The order this token opens, or None (malformed, unknown or revoked: the page says the same)."""
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        return None
    with transaction(session):
        order_id = session.exec(
            select(OrderLink.order_id).where(
                OrderLink.token_hash == hash_token(token), col(OrderLink.revoked_at).is_(None)
            )
        ).first()
        order = load_order(session, Order.id == order_id) if order_id else None
        return view_of(session, order) if order is not None else None


def active_links(session: Session, order_id: str) -> int:
    return session.exec(
        select(sa.func.count())
        .select_from(OrderLink)
        .where(OrderLink.order_id == order_id, col(OrderLink.revoked_at).is_(None))
    ).one()


def revoke_all(session: Session, order_id: str, now: datetime) -> int:
    """Every link of the order stops working (inside the caller's transaction); returns how many did."""
    return session.exec(
        sa.update(OrderLink)
        .where(col(OrderLink.order_id) == order_id, col(OrderLink.revoked_at).is_(None))
        .values(revoked_at=now)
    ).rowcount


def queue_new_link(session: Session, order_id: str, now: datetime) -> bool:
    """Queue an email with a new link to the order (made when it is composed); False when email is off."""
    return outbox.new_order_link(session.connection(), order_id, now)
