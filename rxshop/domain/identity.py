"""Visitor identity: the random id that owns a browser's orders, and the signed credential that carries it.

The server issues the credential and keeps it in an HttpOnly cookie: page scripts cannot read it, and
an id the server never signed (or signed more than CREDENTIAL_LIFETIME ago) is refused. Pure functions:
the cookie is set by rxshop.web.visitor (HTTP) and read by the Reflex states from the websocket handshake.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from http.cookies import CookieError, SimpleCookie

VISITOR_ID = re.compile(r"[0-9a-f]{32}")
COOKIE_NAME = "rxshop_visitor"
# Sliding: every visit after REFRESH_AFTER re-issues it for another year.
CREDENTIAL_LIFETIME = timedelta(days=365)
REFRESH_AFTER = timedelta(days=1)
_CLOCK_SKEW = 300  # seconds a credential may seem to come from the future (several hosts' clocks)
_CREDENTIAL = re.compile(r"v1\.([0-9a-f]{32})\.([0-9]{1,12})\.([0-9a-f]{64})")


def is_visitor_id(value: object) -> bool:
    return isinstance(value, str) and VISITOR_ID.fullmatch(value) is not None


def new_visitor_id() -> str:
    """128 random bits as hex: unguessable, and safe in a Reflex shared-state token (no '_')."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Credential:
    visitor_id: str
    issued_at: int  # unix seconds

    def needs_refresh(self, now: float) -> bool:
        return now - self.issued_at > REFRESH_AFTER.total_seconds()


def _mac(key: bytes, visitor_id: str, issued_at: int) -> str:
    return hmac.new(key, f"rxshop-visitor:v1:{visitor_id}:{issued_at}".encode(), hashlib.sha256).hexdigest()


def issue_credential(visitor_id: str, *, key: bytes, now: float) -> str:
    """The cookie value proving that this server gave `visitor_id` to this browser at `now`."""
    if not is_visitor_id(visitor_id):
        raise ValueError("not a visitor id")
    issued_at = int(now)
    return f"v1.{visitor_id}.{issued_at}.{_mac(key, visitor_id, issued_at)}"


def read_credential(value: object, *, key: bytes, now: float) -> Credential | None:
    """The credential if this server signed it and it has not expired; None for anything else."""
    if not isinstance(value, str):
        return None
    match = _CREDENTIAL.fullmatch(value)
    if match is None:
        return None
    visitor_id, issued_at, mac = match.group(1), int(match.group(2)), match.group(3)
    if not hmac.compare_digest(mac, _mac(key, visitor_id, issued_at)):
        return None
    if not (now - CREDENTIAL_LIFETIME.total_seconds() < issued_at <= now + _CLOCK_SKEW):
        return None
    return Credential(visitor_id, issued_at)


def credential_from_cookies(cookie_header: object, *, key: bytes, now: float) -> Credential | None:
    """The valid credential in a `Cookie` request header, if there is one."""
    if not isinstance(cookie_header, str) or not cookie_header:
        return None
    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except CookieError:
        return None
    morsel = cookies.get(COOKIE_NAME)
    return read_credential(morsel.value, key=key, now=now) if morsel is not None else None
