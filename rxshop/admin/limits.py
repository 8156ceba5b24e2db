"""How many passwords may be tried, and when: per client address and for the whole shop, counted before hashing.

An attempt is claimed in the database first, in one conditional upsert per key (`INSERT ... ON CONFLICT DO
UPDATE ... WHERE not blocked RETURNING failures`): every worker and every concurrent attempt agrees, and an
attempt past the limit is refused before its password is hashed. Keys: an IPv4 address, an IPv6 /64 (one
subscriber's network, not 2**64 fresh addresses), and "shop" for every address together. A right password
gives its claims back (the address starts again; the shop count drops by one).

Nobody is held up for long: a wait is at most MAX_DELAY per address and SHOP_MAX_DELAY shop-wide, and a browser
the owner signed in from before (its signed visitor credential, `admin_browsers`) is exempt from the shop-wide
limit, so guesses from many addresses cannot keep the owner out.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from rxshop.core.models import AdminBrowser, AdminLoginFailure
from rxshop.orders.records import transaction

FAILURE_MEMORY = timedelta(hours=24)  # a key quiet this long starts again
KNOWN_BROWSER_FOR = timedelta(days=90)  # a browser the owner signed in from stays exempt this long
SHOP_KEY = "shop"


@dataclass(frozen=True)
class Limit:
    """`free` attempts, then each further one waits 2, 4, 8 … seconds, at most `max_delay`."""

    free: int
    max_delay: timedelta
    message: str  # the refusal, with {seconds}

    def delay_after(self, failures: int) -> timedelta:
        if failures < self.free:
            return timedelta(0)
        return min(timedelta(seconds=2 ** min(failures - self.free + 1, 30)), self.max_delay)


PER_ADDRESS = Limit(
    free=5,
    max_delay=timedelta(minutes=5),
    message="Too many attempts. Try again in {seconds} seconds (a wait is never longer than 5 minutes).",
)
SHOP_WIDE = Limit(
    free=20,
    max_delay=timedelta(minutes=1),
    message="Too many attempts on this shop from many places. Try again in {seconds} seconds (never longer "
    "than a minute; the browser you signed in with before is not held up).",
)
FREE_ATTEMPTS, MAX_DELAY, SHOP_MAX_DELAY = PER_ADDRESS.free, PER_ADDRESS.max_delay, SHOP_WIDE.max_delay


def client_key(address: object) -> str:
    """The key an address is counted under: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address(address if isinstance(address, str) else "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class Claim:
    """One attempt, counted (`keys`) or refused (`retry_after` seconds, the `limit` that refused it)."""

    keys: tuple[str, ...] = ()
    retry_after: int = 0
    limit: Limit | None = None

    @property
    def refused(self) -> bool:
        return self.limit is not None


class _Refused(Exception):
    def __init__(self, claim: Claim) -> None:
        self.claim = claim


def _upsert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _claim_one(session: Session, key: str, limit: Limit, now: datetime) -> None:
    """Count one attempt under `key` (one statement), or raise _Refused while the key must wait."""
    row = AdminLoginFailure
    stale = col(row.last_failure_at) < now - FAILURE_MEMORY
    may_try = sa.or_(col(row.blocked_until).is_(None), col(row.blocked_until) <= now, stale)
    counted = session.exec(
        _upsert(session)(row)
        .values(client_key=key, failures=1, last_failure_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=["client_key"],
            set_={"failures": sa.case((stale, 1), else_=col(row.failures) + 1), "last_failure_at": now},
            where=may_try,
        )
        .returning(col(row.failures))
    ).scalar_one_or_none()
    if counted is None:
        blocked = session.exec(select(row.blocked_until).where(row.client_key == key)).one()
        wait = (blocked - now).total_seconds() if blocked is not None else 1
        raise _Refused(Claim(retry_after=max(1, math.ceil(wait)), limit=limit))
    delay = limit.delay_after(counted)
    if delay:
        # The same transaction holds the row (PostgreSQL's row lock, SQLite's write lock): the next claim
        # sees this block.
        session.exec(sa.update(row).where(col(row.client_key) == key).values(blocked_until=now + delay))


def _known_browser(session: Session, visitor_id: str, now: datetime) -> bool:
    return (
        session.exec(
            select(AdminBrowser.visitor_id).where(
                AdminBrowser.visitor_id == visitor_id,
                col(AdminBrowser.last_signed_in_at) > now - KNOWN_BROWSER_FOR,
            )
        ).first()
        is not None
    )


def claim_attempt(*, session: Session, visitor_id: str, address: object, now: datetime) -> Claim:
    """Count this attempt for its address and (unless the browser is the owner's) the shop, or refuse it.

    All or nothing, in one transaction that commits before any hashing: a refusal counts nowhere.
    """
    keys = [(client_key(address), PER_ADDRESS)]
    try:
        with transaction(session):  # rolled back on a refusal
            if not _known_browser(session, visitor_id, now):
                keys.append((SHOP_KEY, SHOP_WIDE))
            for key, limit in keys:  # always address first, then shop: no deadlock between two attempts
                _claim_one(session, key, limit, now)
    except _Refused as refused:
        return refused.claim
    return Claim(keys=tuple(key for key, _ in keys))


def give_back(session: Session, claim: Claim) -> None:
    """The password was right (inside the caller's transaction): the address starts again, and the shop-wide
    count forgets this attempt (not the others')."""
    for key in claim.keys:
        if key == SHOP_KEY:
            session.exec(
                sa.update(AdminLoginFailure)
                .where(col(AdminLoginFailure.client_key) == key, col(AdminLoginFailure.failures) > 0)
                .values(failures=col(AdminLoginFailure.failures) - 1)
            )
        else:
            session.exec(sa.delete(AdminLoginFailure).where(col(AdminLoginFailure.client_key) == key))


def remember_browser(session: Session, visitor_id: str, now: datetime) -> None:
    """This browser signed in (inside the caller's transaction): exempt from the shop-wide limit from now on."""
    session.exec(
        _upsert(session)(AdminBrowser)
        .values(visitor_id=visitor_id, last_signed_in_at=now)
        .on_conflict_do_update(index_elements=["visitor_id"], set_={"last_signed_in_at": now})
    )
