"""The owner's sign-in as its own cookie: random tokens stored hashed, one-time grants, expiry, sign-out.

The visitor credential says which browser this is; it never says "owner". A right password makes a one-time
grant (a minute, for that browser only); the browser trades it at POST /admin-session (rxshop.web.admin_session)
for the admin cookie: HttpOnly, SameSite=Strict, `__Host-rxshop_admin` under https. The token inside is 256
random bits; the database keeps only its SHA-256, so each sign-in is a new value, one can be revoked (sign-out,
sign out everywhere), and none outlives SESSION_LIFETIME or IDLE_TIMEOUT without use. The Reflex states read the
cookie from the websocket handshake (`token_from_cookies`) and pass the token as `admin` to every service,
each of which calls `require_admin` itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from http.cookies import CookieError, SimpleCookie

import sqlalchemy as sa
from sqlmodel import Session, col, select

from rxshop.core.models import AdminSession, utcnow
from rxshop.core.settings import get_settings
from rxshop.domain.identity import is_visitor_id
from rxshop.orders.records import transaction

SESSION_LIFETIME = timedelta(hours=12)  # from sign-in, however active: then the password again
IDLE_TIMEOUT = timedelta(hours=2)  # without a click of the owner's (live refreshes do not count)
GRANT_LIFETIME = timedelta(seconds=60)  # between the right password and the cookie
COOKIE = "rxshop_admin"  # on http (development)
SECURE_COOKIE = "__Host-rxshop_admin"  # under https: Secure, Path=/, no Domain, as the prefix demands
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)


class NotSignedIn(PermissionError):
    """The caller is not (or no longer) signed in as the owner; the UI shows the sign-in form."""

    def __init__(self) -> None:
        super().__init__("Please sign in again.")


class Kind(StrEnum):
    GRANT = "grant"
    SESSION = "session"


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def token_from_cookies(cookie_header: object, *, secure: bool) -> str:
    """The admin token in a `Cookie` request header, or "" (only the cookie name of this scheme counts)."""
    if not isinstance(cookie_header, str) or not cookie_header:
        return ""
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except CookieError:
        return ""
    morsel = cookies.get(cookie_name(secure))
    return morsel.value if morsel is not None and is_token(morsel.value) else ""


def is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_grant(session: Session, visitor_id: str, now: datetime) -> str:
    """A one-time grant for this browser (inside the caller's transaction); old rows are swept here."""
    session.exec(
        sa.delete(AdminSession).where(
            sa.or_(
                col(AdminSession.expires_at) <= now,
                col(AdminSession.last_seen_at) <= now - IDLE_TIMEOUT,
            )
        )
    )
    grant = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            token_hash=_hash(grant),
            kind=Kind.GRANT,
            visitor_id=visitor_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + GRANT_LIFETIME,
        )
    )
    return grant


def redeem_grant(*, session: Session, grant: object, visitor_id: str, now: datetime | None = None) -> str:
    """Trade a grant, once, in the browser it was made for, for a new session token; "" if it cannot be."""
    now = now or utcnow()
    if not get_settings().admin_enabled or not is_token(grant) or not is_visitor_id(visitor_id):
        return ""
    assert isinstance(grant, str)
    with transaction(session):
        used = session.exec(
            sa.delete(AdminSession).where(
                col(AdminSession.token_hash) == _hash(grant),
                col(AdminSession.kind) == Kind.GRANT,
                col(AdminSession.visitor_id) == visitor_id,
                col(AdminSession.expires_at) > now,
            )
        )
        if used.rowcount != 1:
            return ""
        token = secrets.token_urlsafe(32)
        session.add(
            AdminSession(
                token_hash=_hash(token),
                kind=Kind.SESSION,
                visitor_id=visitor_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


def _live(admin: str, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        col(AdminSession.token_hash) == _hash(admin),
        col(AdminSession.kind) == Kind.SESSION,
        col(AdminSession.expires_at) > now,
        col(AdminSession.last_seen_at) > now - IDLE_TIMEOUT,
    )


def require_admin(session: Session, admin: str, now: datetime | None = None, *, touch: bool = False) -> None:
    """Raise NotSignedIn unless `admin` is a live session token; `touch` (the owner acted) slides the idle
    window. Runs inside the caller's transaction (every admin service calls it first, without `touch`)."""
    now = now or utcnow()
    if not get_settings().admin_enabled or not is_token(admin):
        raise NotSignedIn()
    if touch:
        live = session.exec(sa.update(AdminSession).where(*_live(admin, now)).values(last_seen_at=now))
        found = live.rowcount == 1
    else:
        found = session.exec(select(AdminSession.token_hash).where(*_live(admin, now))).first() is not None
    if not found:
        session.exec(sa.delete(AdminSession).where(col(AdminSession.token_hash) == _hash(admin)))
        session.commit()  # the expired sign-in is gone even though the caller's work is refused
        raise NotSignedIn()


def is_signed_in(*, session: Session, admin: str, now: datetime | None = None, touch: bool = True) -> bool:
    """For the UI: True (and, with `touch`, the idle window slides) or False."""
    try:
        with transaction(session):
            require_admin(session, admin, now, touch=touch)
    except NotSignedIn:
        return False
    return True


def sign_out(*, session: Session, admin: str) -> None:
    """End this sign-in (its cookie is then worth nothing, wherever a copy of it is)."""
    if not is_token(admin):
        return
    with transaction(session):
        session.exec(sa.delete(AdminSession).where(col(AdminSession.token_hash) == _hash(admin)))


def sign_out_everywhere(*, session: Session, admin: str, now: datetime | None = None) -> int:
    """End every sign-in of the owner, this one too (a lost laptop, a shared computer); how many ended."""
    with transaction(session):
        require_admin(session, admin, now)
        ended = session.exec(sa.delete(AdminSession))
    return ended.rowcount
