"""Who may use a simulator reachable by others: the API key a request carries, the keys accepted, and
where its sessions may redirect.

Standalone on a developer's machine any well-formed test key works. Mounted in the shop's public backend
that would let anyone list buyers' sessions, refund their payments, or create sessions whose pay page and
`success_url` they wrote (an open redirect on the shop's own host): there the simulator accepts only the
key it shares with the app, and redirects only to the shop.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.requests import Request

from rxshop.stripe_sim.errors import authentication, invalid

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TEST_KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]{1,247}$")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an absolute http(s) URL, lower-cased, default port left out; else None.

    Compared as whole strings, so `https://shop.example.com.evil.test` is not `https://shop.example.com`
    and `http://shop.example.com@evil.test/` is evil.test.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, _DEFAULT_PORTS[scheme]) else "")


def redirect_origins(origins: Collection[str] | None) -> frozenset[str] | None:
    """The origins a session may send buyers back to (None: any); each must be a bare origin."""
    if origins is None:
        return None
    checked = set()
    for origin in origins:
        normalized = origin_of(origin)
        if normalized is None or urlsplit(origin.strip()).path not in ("", "/"):
            raise ValueError(
                f"redirect origin must look like https://shop.example.com[:port], got {origin!r}"
            )
        checked.add(normalized)
    return frozenset(checked)


def mask(key: str) -> str:
    """How Stripe names a refused key: its prefix and last four characters only."""
    return f"{key[:8]}****{key[-4:] if len(key) > 12 else ''}"


def check_key(key: str, accepted: frozenset[str] | None) -> None:
    """401 (stripe.AuthenticationError) unless `key` is one of `accepted` (None: any test key)."""
    if accepted is None:
        return
    # Every candidate compared in constant time: the answer's timing says nothing about the key.
    if not any(hmac.compare_digest(key.encode(), candidate.encode()) for candidate in accepted):
        raise authentication(f"Invalid API Key provided: {mask(key)}")


def check_redirect(url: str | None, param: str, allowed: frozenset[str] | None) -> None:
    """400 (stripe.InvalidRequestError, `param`) when `url` leaves the allowed origins."""
    if url is None or allowed is None:
        return
    if origin_of(url) not in allowed:
        raise invalid(
            f"Invalid {param}: this simulator only redirects buyers to {', '.join(sorted(allowed))}.",
            param=param,
            code="url_invalid",
        )


def api_key_from(request: Request) -> str:
    """The test key of a /v1 request (Bearer, or HTTP Basic with the key as user name); 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    if not key:
        raise authentication(
            "You did not provide an API key. You need to provide your API key in the Authorization header, "
            "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
            "https://stripe.com/docs/api#authentication for details."
        )
    if key.startswith(("sk_live_", "rk_live_")):
        raise authentication(
            "The rxshop Stripe simulator only accepts test-mode keys (sk_test_...); "
            "it refuses live keys so they never leave your machine for a fake server."
        )
    if not _TEST_KEY.match(key):
        raise authentication(f"Invalid API Key provided: {mask(key)}")
    return key
