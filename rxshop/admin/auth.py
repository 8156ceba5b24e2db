"""The owner's sign-in: one password (ADMIN_PASSWORD), tried only within the limits, then a one-time grant.

`sign_in` claims the attempt in the database first (rxshop.admin.limits: per address, shop-wide), hashes the
password only if the claim was counted, and on success gives the browser a grant it trades for the admin
cookie (rxshop.admin.sessions). Every admin service calls `require_admin` itself, so a handler that forgets to
check still cannot read or change anything. The names the services and states use are re-exported here.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlmodel import Session

from rxshop.admin import limits
from rxshop.admin.limits import Claim, claim_attempt
from rxshop.admin.sessions import (  # noqa: F401  (re-exported: what the services and the UI use)
    GRANT_LIFETIME,
    IDLE_TIMEOUT,
    SESSION_LIFETIME,
    NotSignedIn,
    cookie_name,
    is_signed_in,
    issue_grant,
    redeem_grant,
    require_admin,
    sign_out,
    sign_out_everywhere,
    token_from_cookies,
)
from rxshop.core.db import in_session
from rxshop.core.models import utcnow
from rxshop.core.settings import Settings, get_settings
from rxshop.domain.identity import is_visitor_id
from rxshop.orders.records import transaction

MAX_PASSWORD = 1024  # longer candidates are wrong without being hashed
# scrypt at n=2**14, r=8: ~16 MiB and tens of milliseconds per guess (Python's stdlib, no dependency).
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class SignInStatus(StrEnum):
    SIGNED_IN = "signed_in"  # `grant` is set: the browser trades it for the admin cookie
    WRONG_PASSWORD = "wrong_password"
    THROTTLED = "throttled"  # too many attempts: wait `retry_after` seconds
    DISABLED = "disabled"  # ADMIN_PASSWORD is not set: the dashboard does not exist


@dataclass(frozen=True)
class SignIn:
    status: SignInStatus
    retry_after: int = 0  # seconds, when throttled
    grant: str = ""  # when signed in: one-time, for this browser, GRANT_LIFETIME
    limit: limits.Limit | None = None  # the limit that refused (throttled)

    @property
    def message(self) -> str:
        if self.status == SignInStatus.THROTTLED:
            return (self.limit or limits.PER_ADDRESS).message.format(seconds=self.retry_after)
        return {
            SignInStatus.SIGNED_IN: "",
            SignInStatus.WRONG_PASSWORD: "That password is not right.",
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
    if not settings.admin_password or not isinstance(candidate, str) or len(candidate) > MAX_PASSWORD:
        return False
    return _hash_for(settings.admin_password).matches(candidate)


def _refusal(settings: Settings, visitor_id: str) -> SignIn | None:
    if not settings.admin_enabled:
        return SignIn(SignInStatus.DISABLED)
    if not is_visitor_id(visitor_id):
        raise NotSignedIn()
    return None


def _settled(claim: Claim) -> SignIn | None:
    return SignIn(SignInStatus.THROTTLED, claim.retry_after, limit=claim.limit) if claim.refused else None


def finish_sign_in(
    *, session: Session, visitor_id: str, claim: Claim, right: bool, now: datetime | None = None
) -> SignIn:
    """After the hash: a wrong password stays counted; a right one gives its claims back and gets a grant."""
    if not right:
        return SignIn(SignInStatus.WRONG_PASSWORD)
    now = now or utcnow()
    with transaction(session):
        limits.give_back(session, claim)
        limits.remember_browser(session, visitor_id, now)
        grant = issue_grant(session, visitor_id, now)
    return SignIn(SignInStatus.SIGNED_IN, grant=grant)


def sign_in(
    *,
    session: Session,
    visitor_id: str,
    client_ip: object,
    password: object,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> SignIn:
    """Try the password for this browser (its credential's visitor id) from this client address.

    The attempt is counted before the password is hashed; a refused attempt costs one statement, no hash.
    In one thread (tools, tests); the dashboard calls `sign_in_async`, which hashes off the database thread.
    """
    settings = settings or get_settings()
    if (refused := _refusal(settings, visitor_id)) is not None:
        return refused
    now = now or utcnow()
    claim = claim_attempt(session=session, visitor_id=visitor_id, address=client_ip, now=now)
    if (throttled := _settled(claim)) is not None:
        return throttled
    right = verify_password(password, settings)
    return finish_sign_in(session=session, visitor_id=visitor_id, claim=claim, right=right, now=now)


async def sign_in_async(
    *, visitor_id: str, client_ip: object, password: object, now: datetime | None = None
) -> SignIn:
    """`sign_in` from the event loop: the claim and the grant through `db.in_session`, scrypt in a thread of
    its own (on SQLite the database thread is one per process and must not wait for a hash)."""
    settings = get_settings()
    if (refused := _refusal(settings, visitor_id)) is not None:
        return refused
    now = now or utcnow()
    claim = await in_session(claim_attempt, visitor_id=visitor_id, address=client_ip, now=now)
    if (throttled := _settled(claim)) is not None:
        return throttled
    right = await asyncio.to_thread(verify_password, password, settings)
    return await in_session(finish_sign_in, visitor_id=visitor_id, claim=claim, right=right, now=now)
