"""The owner's sign-in: one password (ADMIN_PASSWORD), server-side sessions, and a slow-down on failures.

Everything lives in the database, keyed by what the server issued (the visitor id inside the signed,
HttpOnly credential of rxshop.domain.identity) or saw (the client address): several workers agree, and nothing
the browser holds can sign anyone in. Every admin service calls `require_admin` itself, so a handler that
forgets to check still cannot read or change anything.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from rxshop.core.models import AdminLoginFailure, AdminSession, utcnow
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.identity import is_visitor_id
from rxshop.orders.records import transaction

IDLE_TIMEOUT = timedelta(hours=8)
FREE_ATTEMPTS = 5  # failures per client before each further attempt must wait
MAX_DELAY = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(hours=24)  # failures older than this are forgotten
# scrypt at n=2**14, r=8: ~16 MiB and tens of milliseconds per guess (Python's stdlib, no dependency).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class NotSignedIn(PermissionError):
    """The caller is not (or no longer) signed in as the owner; the UI shows the sign-in form."""

    def __init__(self) -> None:
        super().__init__("Please sign in again.")


class SignInStatus(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG_PASSWORD = "wrong_password"
    THROTTLED = "throttled"  # too many failures from this client: wait `retry_after` seconds
    DISABLED = "disabled"  # ADMIN_PASSWORD is not set: the dashboard does not exist


@dataclass(frozen=True)
class SignIn:
    status: SignInStatus
    retry_after: int = 0  # seconds, when throttled

    @property
    def message(self) -> str:
        return {
            SignInStatus.SIGNED_IN: "",
            SignInStatus.WRONG_PASSWORD: "That password is not right.",
            SignInStatus.THROTTLED: f"Too many attempts. Try again in {self.retry_after} seconds.",
            SignInStatus.DISABLED: "The owner's dashboard is turned off (ADMIN_PASSWORD is not set).",
        }[self.status]


@dataclass(frozen=True)
class PasswordHash:
    salt: bytes
    digest: bytes

    @classmethod
    def of(cls, password: str, salt: bytes | None = None) -> PasswordHash:
        salt = salt or secrets.token_bytes(16)
        return cls(salt, hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT))

    def matches(self, candidate: str) -> bool:
        """scrypt of the candidate, compared in constant time (hmac.compare_digest)."""
        other = hashlib.scrypt(candidate.encode(), salt=self.salt, **_SCRYPT)
        return hmac.compare_digest(self.digest, other)


@functools.cache
def _hash_for(password: str) -> PasswordHash:
    """The configured password is hashed once per process and only the hash is compared against."""
    return PasswordHash.of(password)


def verify_password(candidate: object, settings: Settings | None = None) -> bool:
    settings = settings or get_settings()
    if not settings.admin_password or not isinstance(candidate, str) or len(candidate) > 1024:
        return False
    return _hash_for(settings.admin_password).matches(candidate)


def delay_after(failures: int) -> timedelta:
    """How long a client waits after `failures` failures: nothing for the first few, then doubling."""
    if failures < FREE_ATTEMPTS:
        return timedelta(0)
    return min(timedelta(seconds=2 ** (failures - FREE_ATTEMPTS + 1)), MAX_DELAY)


def _upsert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _record_failure(session: Session, client_key: str, now: datetime) -> None:
    """failures + 1 in one statement (concurrent failures all count), then block for the delay."""
    stale = col(AdminLoginFailure.last_failure_at) < now - FAILURE_MEMORY
    session.exec(
        _upsert(session)(AdminLoginFailure)
        .values(client_key=client_key, failures=1, last_failure_at=now)
        .on_conflict_do_update(
            index_elements=["client_key"],
            set_={
                "failures": sa.case((stale, 1), else_=col(AdminLoginFailure.failures) + 1),
                "last_failure_at": now,
            },
        )
    )
    row = session.exec(
        select(AdminLoginFailure)
        .where(AdminLoginFailure.client_key == client_key)
        .execution_options(populate_existing=True)
    ).one()
    delay = delay_after(row.failures)
    if delay:
        row.blocked_until = now + delay
        session.add(row)


def sign_in(
    *,
    session: Session,
    visitor_id: str,
    client_key: str,
    password: object,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> SignIn:
    """Check the password for this visitor (their credential's id) from this client (its address).

    A throttled client is answered before the password is even hashed, so guessing costs time, not CPU.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    if not settings.admin_enabled:
        return SignIn(SignInStatus.DISABLED)
    if not is_visitor_id(visitor_id):
        raise NotSignedIn()
    client_key = (client_key or "unknown")[:128]
    with transaction(session):
        failure = session.exec(
            select(AdminLoginFailure)
            .where(AdminLoginFailure.client_key == client_key)
            .execution_options(populate_existing=True)
        ).first()
    if failure is not None and failure.blocked_until is not None and failure.blocked_until > now:
        return SignIn(SignInStatus.THROTTLED, int((failure.blocked_until - now).total_seconds()) + 1)
    if not verify_password(password, settings):
        with transaction(session):
            _record_failure(session, client_key, now)
        return SignIn(SignInStatus.WRONG_PASSWORD)
    with transaction(session):
        session.exec(sa.delete(AdminLoginFailure).where(col(AdminLoginFailure.client_key) == client_key))
        session.exec(sa.delete(AdminSession).where(col(AdminSession.visitor_id) == visitor_id))
        session.add(AdminSession(visitor_id=visitor_id, signed_in_at=now, last_seen_at=now))
    return SignIn(SignInStatus.SIGNED_IN)


def require_admin(session: Session, visitor_id: str, now: datetime | None = None) -> None:
    """Raise NotSignedIn unless this visitor signed in and was active within IDLE_TIMEOUT; slide the window.

    Runs inside the caller's transaction (every admin service calls it first).
    """
    now = now or utcnow()
    if not get_settings().admin_enabled or not is_visitor_id(visitor_id):
        raise NotSignedIn()
    touched = session.exec(
        sa.update(AdminSession)
        .where(
            col(AdminSession.visitor_id) == visitor_id, col(AdminSession.last_seen_at) > now - IDLE_TIMEOUT
        )
        .values(last_seen_at=now)
    )
    if touched.rowcount != 1:
        session.exec(sa.delete(AdminSession).where(col(AdminSession.visitor_id) == visitor_id))
        session.commit()  # the expired sign-in is gone even though the caller's work is refused
        raise NotSignedIn()


def is_signed_in(*, session: Session, visitor_id: str, now: datetime | None = None) -> bool:
    """For the UI's page load: True (and the idle window slides) or False."""
    try:
        with transaction(session):
            require_admin(session, visitor_id, now)
    except NotSignedIn:
        return False
    return True


def sign_out(*, session: Session, visitor_id: str) -> None:
    with transaction(session):
        session.exec(sa.delete(AdminSession).where(col(AdminSession.visitor_id) == visitor_id))
