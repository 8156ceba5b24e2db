"""The owner's sign-in: password checked by scrypt in constant time, attempts claimed in the database before any
hashing (per address, per IPv6 /64, shop-wide; the owner's own browser exempt from the shop-wide limit), a
one-time grant traded for a hashed, revocable session token with an idle and an absolute end, and every admin
service refusing without one. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hmac
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa

from rxshop.admin import auth, limits
from rxshop.admin.auth import (
    GRANT_LIFETIME,
    IDLE_TIMEOUT,
    SESSION_LIFETIME,
    NotSignedIn,
    SignInStatus,
    is_signed_in,
    redeem_grant,
    sign_in,
    sign_in_async,
    sign_out,
    sign_out_everywhere,
    token_from_cookies,
)
from rxshop.admin.queries import list_orders
from rxshop.core.models import AdminLoginFailure, AdminSession, utcnow
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor

CLIENT = "203.0.113.7"


@pytest.fixture
def admin_on(app_env):
    return app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """Every candidate password scrypt was run on (the real hash still runs: a spy, not a stand-in)."""
    seen: list[str] = []
    real = auth.PasswordHash.matches

    def matches(self, candidate: str) -> bool:
        seen.append(candidate)
        return real(self, candidate)

    monkeypatch.setattr(auth.PasswordHash, "matches", matches)
    return seen


def _sign_in(session, visitor, password=ADMIN_PASSWORD, client=CLIENT, now=None):
    return sign_in(session=session, visitor_id=visitor, client_ip=client, password=password, now=now)


def _token(session, visitor, client=CLIENT, now=None) -> str:
    done = _sign_in(session, visitor, client=client, now=now)
    assert done.status == SignInStatus.SIGNED_IN, done
    token = redeem_grant(session=session, grant=done.grant, visitor_id=visitor, now=now)
    assert token
    return token


def _failures(session, key: str) -> int:
    row = session.get(AdminLoginFailure, key, populate_existing=True)
    return row.failures if row else 0


@pytest.mark.usefixtures("admin_on")
def test_right_password_signs_in_and_wrong_one_does_not(session, monkeypatch) -> None:
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    visitor, stranger = new_visitor(), new_visitor()

    assert _sign_in(session, stranger, "correct horse battery stapler").status == SignInStatus.WRONG_PASSWORD
    done = _sign_in(session, visitor)
    assert done.status == SignInStatus.SIGNED_IN and done.grant

    assert len(compared) == 2 and all(len(a) == len(b) == 32 for a, b in compared)  # scrypt digests
    assert ADMIN_PASSWORD.encode() not in {x for pair in compared for x in pair}
    token = redeem_grant(session=session, grant=done.grant, visitor_id=visitor)
    assert is_signed_in(session=session, admin=token)
    # The visitor id (what the visitor cookie carries) is not an admin credential, nor is the grant.
    for not_admin in (visitor, done.grant, stranger, "", token[:-1] + ("A" if token[-1] != "A" else "B")):
        assert not is_signed_in(session=session, admin=not_admin)
        with pytest.raises(NotSignedIn):
            list_orders(session=session, admin=not_admin)
    assert list_orders(session=session, admin=token).total_count == 0


def test_no_admin_password_no_dashboard(session, app_env) -> None:
    app_env(ADMIN_PASSWORD="")
    assert _sign_in(session, new_visitor(), "").status == SignInStatus.DISABLED
    assert not auth.verify_password("")


@pytest.mark.usefixtures("admin_on")
def test_failures_slow_the_address_down_before_hashing_and_the_right_password_resets(session, hashed) -> None:
    now = utcnow()
    visitor = new_visitor()
    for _ in range(limits.FREE_ATTEMPTS):
        assert _sign_in(session, visitor, "guess", now=now).status == SignInStatus.WRONG_PASSWORD
    blocked = _sign_in(session, visitor, now=now)  # even the right password waits, and is not hashed
    assert blocked.status == SignInStatus.THROTTLED and 1 <= blocked.retry_after <= 3
    assert blocked.message.startswith("Too many attempts. Try again in")
    assert "never longer than 5 minutes" in blocked.message
    assert hashed == ["guess"] * limits.FREE_ATTEMPTS
    assert _sign_in(session, visitor, now=now, client="198.51.100.1").status == SignInStatus.SIGNED_IN

    later = now + timedelta(seconds=3)
    assert _sign_in(session, visitor, "guess", now=later).status == SignInStatus.WRONG_PASSWORD  # the 6th
    assert _sign_in(session, visitor, now=later).retry_after > 2  # the wait doubles
    assert limits.PER_ADDRESS.delay_after(40) == limits.MAX_DELAY == timedelta(minutes=5)

    much_later = later + timedelta(seconds=10)
    assert _sign_in(session, visitor, now=much_later).status == SignInStatus.SIGNED_IN
    assert _failures(session, CLIENT) == 0  # the address starts again


def test_client_keys_are_ipv4_addresses_and_ipv6_networks() -> None:
    assert limits.client_key("203.0.113.7") == "203.0.113.7"
    assert limits.client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert limits.client_key("2001:db8:1:2:aaaa::1") == limits.client_key("2001:db8:1:2:ffff::9")
    assert limits.client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert limits.client_key("2001:db8:1:3::1") != limits.client_key("2001:db8:1:2::1")
    assert limits.client_key("not an address") == limits.client_key(None) == "unknown"


@pytest.mark.usefixtures("admin_on")
async def test_concurrent_attempts_from_one_address_evaluate_at_most_the_free_ones(hashed) -> None:
    """30 at once, as 30 tabs would send them: each is claimed in the database before its hash."""
    visitor, now = new_visitor(), utcnow()  # one moment for all (a slow machine must not let a wait run out)
    results = await asyncio.gather(
        *(
            sign_in_async(visitor_id=visitor, client_ip=CLIENT, password=f"guess {i}", now=now)
            for i in range(30)
        )
    )
    statuses = Counter(r.status for r in results)
    assert statuses == {SignInStatus.WRONG_PASSWORD: 5, SignInStatus.THROTTLED: 25}
    assert len(hashed) == 5


@pytest.mark.usefixtures("admin_on")
async def test_a_whole_ipv6_network_counts_as_one_address(hashed) -> None:
    visitor, now = new_visitor(), utcnow()
    addresses = [f"2001:db8:77:1:{i:x}::1" for i in range(1, 31)]
    results = await asyncio.gather(
        *(sign_in_async(visitor_id=visitor, client_ip=ip, password="guess", now=now) for ip in addresses)
    )
    assert Counter(r.status for r in results)[SignInStatus.WRONG_PASSWORD] == 5 == len(hashed)


@pytest.mark.usefixtures("admin_on")
async def test_many_addresses_meet_the_shop_wide_limit_but_the_owners_browser_does_not(
    session, hashed
) -> None:
    owner = new_visitor()
    _token(session, owner, client="192.0.2.50")  # the owner signed in from this browser before
    hashed.clear()
    attacker, now = new_visitor(), utcnow()  # one moment for all: the waits do not run out meanwhile
    results = await asyncio.gather(
        *(
            sign_in_async(
                visitor_id=attacker, client_ip=f"198.51.{i // 200}.{i % 200 + 1}", password="guess", now=now
            )
            for i in range(40)
        )
    )
    statuses = Counter(r.status for r in results)
    assert statuses[SignInStatus.WRONG_PASSWORD] == limits.SHOP_WIDE.free == len(hashed)
    refused = next(r for r in results if r.status == SignInStatus.THROTTLED)
    assert 1 <= refused.retry_after <= 60 and "never longer than a minute" in refused.message
    # A new browser waits too, even with the right password; the owner's usual browser does not.
    stranger = await sign_in_async(
        visitor_id=new_visitor(), client_ip="192.0.2.99", password=ADMIN_PASSWORD, now=now
    )
    assert stranger.status == SignInStatus.THROTTLED
    owners = await sign_in_async(visitor_id=owner, client_ip="192.0.2.99", password=ADMIN_PASSWORD, now=now)
    assert owners.status == SignInStatus.SIGNED_IN
    assert limits.SHOP_WIDE.delay_after(10_000) == limits.SHOP_MAX_DELAY == timedelta(minutes=1)


@pytest.mark.usefixtures("admin_on")
def test_a_grant_is_traded_once_in_its_own_browser_within_a_minute(session) -> None:
    now = utcnow()
    visitor, other = new_visitor(), new_visitor()
    grant = _sign_in(session, visitor, now=now).grant
    assert redeem_grant(session=session, grant=grant, visitor_id=other, now=now) == ""  # another browser
    token = redeem_grant(session=session, grant=grant, visitor_id=visitor, now=now)
    assert token and token != grant
    assert redeem_grant(session=session, grant=grant, visitor_id=visitor, now=now) == ""  # once

    late = _sign_in(session, visitor, now=now).grant
    too_late = now + GRANT_LIFETIME + timedelta(seconds=1)
    assert redeem_grant(session=session, grant=late, visitor_id=visitor, now=too_late) == ""
    for junk in ("", None, 42, "x" * 43, "../" * 20):
        assert redeem_grant(session=session, grant=junk, visitor_id=visitor, now=now) == ""

    # Each sign-in is a new value; the database holds only hashes of them.
    second = _token(session, visitor, now=now)
    assert second != token
    stored = session.exec(sa.text("SELECT * FROM admin_sessions")).all()
    assert stored and not any(t in str(row) for row in stored for t in (token, second, grant, late))


@pytest.mark.usefixtures("admin_on")
def test_idle_expiry_slides_with_use_but_the_absolute_end_does_not(session) -> None:
    now = utcnow()
    token = _token(session, new_visitor(), now=now)
    almost_idle = now + IDLE_TIMEOUT - timedelta(minutes=1)
    # A live refresh (touch=False) does not count as the owner's activity.
    assert is_signed_in(session=session, admin=token, now=almost_idle, touch=False)
    assert is_signed_in(session=session, admin=token, now=almost_idle)  # the owner clicked
    assert is_signed_in(session=session, admin=token, now=almost_idle + IDLE_TIMEOUT - timedelta(minutes=1))

    busy = _token(session, new_visitor(), now=now)
    t = now
    while t + timedelta(hours=1) < now + SESSION_LIFETIME:
        t += timedelta(hours=1)
        assert is_signed_in(session=session, admin=busy, now=t)  # active every hour
    assert not is_signed_in(session=session, admin=busy, now=now + SESSION_LIFETIME + timedelta(seconds=1))

    idle = _token(session, new_visitor(), now=now)
    assert not is_signed_in(session=session, admin=idle, now=now + IDLE_TIMEOUT + timedelta(seconds=1))
    assert not is_signed_in(session=session, admin=idle, now=now)  # gone for good: no coming back "earlier"


@pytest.mark.usefixtures("admin_on")
def test_sign_out_and_sign_out_everywhere(session) -> None:
    laptop, phone, desk = (_token(session, new_visitor()) for _ in range(3))
    sign_out(session=session, admin=laptop)
    assert not is_signed_in(session=session, admin=laptop)
    with pytest.raises(NotSignedIn):
        list_orders(session=session, admin=laptop)
    assert is_signed_in(session=session, admin=phone)

    with pytest.raises(NotSignedIn):
        sign_out_everywhere(session=session, admin=laptop)  # a signed-out cookie cannot end the others
    assert sign_out_everywhere(session=session, admin=desk) == 2
    assert not is_signed_in(session=session, admin=phone) and not is_signed_in(session=session, admin=desk)
    assert session.exec(sa.select(sa.func.count()).select_from(AdminSession)).one()[0] == 0


@pytest.mark.usefixtures("admin_on")
def test_only_a_credential_visitor_id_can_sign_in(session) -> None:
    with pytest.raises(NotSignedIn):
        _sign_in(session, "not-a-visitor-id")


def test_the_admin_cookie_is_read_by_its_name_for_the_scheme() -> None:
    token = "A" * 43
    assert token_from_cookies(f"rxshop_visitor=v1.x; rxshop_admin={token}", secure=False) == token
    assert token_from_cookies(f"rxshop_admin={token}", secure=True) == ""  # https reads the __Host- one only
    assert token_from_cookies(f"__Host-rxshop_admin={token}", secure=True) == token
    for header in (None, "", "rxshop_admin=short", 'rxshop_admin="a;b"', "\x00", f"rxshop_admin={token}!"):
        assert token_from_cookies(header, secure=False) == ""
