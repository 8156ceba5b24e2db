""" "Find my orders" by email: a 6-digit code sent to the address opens, in this browser, every order paid
with it.

Asking for a code always makes a challenge for this visitor and answers the same way; only when the
address has orders does a code go out (then the challenge holds its keyed hash, HMAC-SHA256 with the
server's key, else a hash nothing matches). A code lives 10 minutes and allows 5 tries; asking again
replaces it. The right code grants this visitor (the server-issued credential) the address until the
browser is forgotten. Throttling per address and per client is the caller's (rxshop.core.throttle).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from rxshop.core.mail_models import EmailChallenge, EmailGrant
from rxshop.core.models import Order
from rxshop.domain.lifecycle import LISTED_STATUSES
from rxshop.mail import outbox
from rxshop.orders.records import OrderView, lines_of, transaction
from rxshop.orders.views import view

CODE_LIFETIME = timedelta(minutes=10)
MAX_TRIES = 5
CODE = re.compile(r"[0-9]{6}")
MAX_SHOWN = 100  # orders shown for the granted addresses, newest first


class Verdict(StrEnum):
    GRANTED = "granted"
    WRONG = "wrong"  # tries_left says how many remain
    EXPIRED = "expired"
    TOO_MANY = "too_many"
    NO_CODE = "no_code"  # nothing asked for in this browser (or already used)


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    tries_left: int = 0
    email: str = ""


def _code_hash(key: bytes, challenge_id: str, code: str) -> str:
    return hmac.new(key, f"rxshop-email-code:{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _orders_with(emails: Sequence[str]) -> sa.ColumnElement[bool]:
    return sa.and_(
        sa.func.lower(col(Order.customer_email)).in_(list(emails)),
        col(Order.status).in_(tuple(LISTED_STATUSES)),
    )


def request_code(*, session: Session, visitor_id: str, email: str, key: bytes, now: datetime) -> None:
    """A new code for `email` (normalized: trimmed, lower case) to this visitor; sent only if it has orders.

    The caller answers the same whatever happens here, so nobody learns which addresses bought.
    """
    challenge_id = secrets.token_hex(16)
    with transaction(session):
        # One open code per browser: asking again replaces it. Old challenges go (they hold addresses).
        session.exec(
            sa.delete(EmailChallenge).where(
                sa.or_(
                    col(EmailChallenge.visitor_id) == visitor_id,
                    col(EmailChallenge.expires_at) < now - timedelta(days=1),
                )
            )
        )
        has_orders = session.exec(select(Order.id).where(_orders_with([email])).limit(1)).first() is not None
        code = f"{secrets.randbelow(10**6):06d}"
        code_hash = _code_hash(key, challenge_id, code) if has_orders else secrets.token_hex(32)
        session.add(
            EmailChallenge(
                id=challenge_id,
                visitor_id=visitor_id,
                email=email,
                code_hash=code_hash,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        session.flush()
        if has_orders:
            outbox.sign_in_code(session.connection(), challenge_id, email, code, now)


def check_code(*, session: Session, visitor_id: str, code: str, key: bytes, now: datetime) -> Checked:
    """Try `code` against this visitor's open challenge: one try used whatever the answer."""
    with transaction(session):
        challenge = session.exec(
            select(EmailChallenge)
            .where(EmailChallenge.visitor_id == visitor_id, col(EmailChallenge.used_at).is_(None))
            .order_by(col(EmailChallenge.created_at).desc())
            .limit(1)
            .execution_options(populate_existing=True)
        ).first()
        if challenge is None:
            return Checked(Verdict.NO_CODE)
        if challenge.expires_at <= now:
            return Checked(Verdict.EXPIRED)
        tries_left = MAX_TRIES - challenge.tries - 1  # read before the UPDATE (which refreshes the object)
        # Conditional: two tries at once cannot both take the fifth.
        took = session.exec(
            sa.update(EmailChallenge)
            .where(col(EmailChallenge.id) == challenge.id, col(EmailChallenge.tries) < MAX_TRIES)
            .values(tries=EmailChallenge.tries + 1)
        ).rowcount
        if took != 1:
            return Checked(Verdict.TOO_MANY)
        right = isinstance(code, str) and CODE.fullmatch(code) is not None
        if not (right and hmac.compare_digest(_code_hash(key, challenge.id, code), challenge.code_hash)):
            return Checked(Verdict.WRONG if tries_left > 0 else Verdict.TOO_MANY, tries_left)
        session.exec(
            sa.update(EmailChallenge).where(col(EmailChallenge.id) == challenge.id).values(used_at=now)
        )
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.exec(
            insert(EmailGrant)
            .values(visitor_id=visitor_id, email=challenge.email, granted_at=now)
            .on_conflict_do_nothing(index_elements=["visitor_id", "email"])
        )
        return Checked(Verdict.GRANTED, tries_left, challenge.email)


@dataclass(frozen=True)
class FoundOrders:
    emails: tuple[str, ...]  # the addresses this browser proved it reads
    orders: tuple[OrderView, ...]


def found_orders(*, session: Session, visitor_id: str) -> FoundOrders:
    """Every order paid with an address granted to this visitor, newest first (two queries and the grants)."""
    with transaction(session):
        emails = tuple(
            session.exec(
                select(EmailGrant.email).where(EmailGrant.visitor_id == visitor_id).order_by(EmailGrant.email)
            ).all()
        )
        if not emails:
            return FoundOrders((), ())
        orders = session.exec(
            select(Order)
            .where(_orders_with(emails))
            .order_by(col(Order.created_at).desc(), col(Order.id).desc())
            .limit(MAX_SHOWN)
            .execution_options(populate_existing=True)
        ).all()
        lines = lines_of(session, [o.id for o in orders])
        return FoundOrders(emails, tuple(view(o, lines[o.id]) for o in orders))


def forget_emails(*, session: Session, visitor_id: str) -> int:
    """This browser stops showing the orders found by email (its own orders stay)."""
    with transaction(session):
        return session.exec(sa.delete(EmailGrant).where(col(EmailGrant.visitor_id) == visitor_id)).rowcount


def email_of_order(*, session: Session, order_id: str) -> str | None:
    """The (lower-cased) address an order was paid with: which "found by email" tabs show it."""
    with transaction(session):
        email = session.exec(select(Order.customer_email).where(Order.id == order_id)).first()
    return email.lower() if email else None
