"""The owner's sign-in: password checked by scrypt in constant time, throttled per client in the database,
sessions that end after 8 idle hours or at sign-out, and every admin service refusing without one."""

from __future__ import annotations

import hmac
from datetime import timedelta

import pytest

from rxshop.admin import auth
from rxshop.admin.auth import IDLE_TIMEOUT, NotSignedIn, SignInStatus, is_signed_in, sign_in, sign_out
from rxshop.admin.queries import list_orders
from rxshop.core.models import utcnow
from tests.fixtures.shop import ADMIN_PASSWORD, new_visitor

CLIENT = "203.0.113.7"


@pytest.fixture
def admin_on(app_env):
    return app_env(ADMIN_PASSWORD=ADMIN_PASSWORD)


def _sign_in(session, visitor, password=ADMIN_PASSWORD, client=CLIENT, now=None):
    return sign_in(session=session, visitor_id=visitor, client_key=client, password=password, now=now)


@pytest.mark.usefixtures("admin_on")
def test_right_password_signs_in_and_wrong_one_does_not(session, monkeypatch) -> None:
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(auth.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    visitor, stranger = new_visitor(), new_visitor()

    assert _sign_in(session, stranger, "correct horse battery stapler").status == SignInStatus.WRONG_PASSWORD
    assert _sign_in(session, visitor).status == SignInStatus.SIGNED_IN

    assert len(compared) == 2 and all(len(a) == len(b) == 32 for a, b in compared)  # scrypt digests
    assert ADMIN_PASSWORD.encode() not in {x for pair in compared for x in pair}
    assert is_signed_in(session=session, visitor_id=visitor)
    assert not is_signed_in(session=session, visitor_id=stranger)
    with pytest.raises(NotSignedIn):
        list_orders(session=session, admin=stranger)
    assert list_orders(session=session, admin=visitor).total_count == 0


def test_no_admin_password_no_dashboard(session, app_env) -> None:
    app_env(ADMIN_PASSWORD="")
    assert _sign_in(session, new_visitor(), "").status == SignInStatus.DISABLED
    assert not auth.verify_password("")


@pytest.mark.usefixtures("admin_on")
def test_repeated_failures_slow_the_client_down_then_the_right_password_resets(session) -> None:
    now = utcnow()
    visitor = new_visitor()
    for _ in range(auth.FREE_ATTEMPTS - 1):
        assert _sign_in(session, visitor, "guess", now=now).status == SignInStatus.WRONG_PASSWORD
    assert _sign_in(session, visitor, "guess", now=now).status == SignInStatus.WRONG_PASSWORD  # the 5th
    blocked = _sign_in(session, visitor, now=now)  # even the right password waits
    assert blocked.status == SignInStatus.THROTTLED and 1 <= blocked.retry_after <= 3
    assert "Try again in" in blocked.message
    assert (
        _sign_in(session, visitor, now=now, client="198.51.100.1").status == SignInStatus.SIGNED_IN
    )  # per client

    later = now + timedelta(seconds=3)
    assert _sign_in(session, visitor, "guess", now=later).status == SignInStatus.WRONG_PASSWORD  # the 6th
    assert _sign_in(session, visitor, now=later).retry_after > 2  # the wait doubles
    assert auth.delay_after(40) == auth.MAX_DELAY

    much_later = later + timedelta(seconds=10)
    assert _sign_in(session, visitor, now=much_later).status == SignInStatus.SIGNED_IN
    assert _sign_in(session, visitor, "guess", now=much_later).status == SignInStatus.WRONG_PASSWORD  # reset


@pytest.mark.usefixtures("admin_on")
def test_sign_in_expires_after_8_idle_hours_and_activity_keeps_it(session) -> None:
    now = utcnow()
    visitor = new_visitor()
    _sign_in(session, visitor, now=now)
    assert is_signed_in(session=session, visitor_id=visitor, now=now + IDLE_TIMEOUT - timedelta(minutes=1))
    # Active a moment before the limit: the window slides from there.
    assert is_signed_in(
        session=session, visitor_id=visitor, now=now + 2 * IDLE_TIMEOUT - timedelta(minutes=2)
    )
    assert not is_signed_in(session=session, visitor_id=visitor, now=now + 3 * IDLE_TIMEOUT)
    # Gone for good: coming back "earlier" does not revive it.
    assert not is_signed_in(session=session, visitor_id=visitor, now=now)


@pytest.mark.usefixtures("admin_on")
def test_sign_out(session) -> None:
    visitor = new_visitor()
    _sign_in(session, visitor)
    sign_out(session=session, visitor_id=visitor)
    assert not is_signed_in(session=session, visitor_id=visitor)
    with pytest.raises(NotSignedIn):
        list_orders(session=session, admin=visitor)


@pytest.mark.usefixtures("admin_on")
def test_only_a_credential_visitor_id_can_sign_in(session) -> None:
    with pytest.raises(NotSignedIn):
        _sign_in(session, "not-a-visitor-id")
