"""POST /admin-session and /admin-session/end served for real: a one-time grant becomes the owner's own HttpOnly,
SameSite=Strict cookie (`__Host-` and Secure under https) in the browser it was made for, and nowhere else;
the end route revokes the sign-in and deletes the cookie; other sites are refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from rxshop.admin.auth import SignInStatus, is_signed_in, sign_in
from rxshop.core import routes
from rxshop.core.db import new_session
from rxshop.core.settings import Settings
from rxshop.domain.identity import COOKIE_NAME, read_credential
from rxshop.web.admin_session import ADMIN_SESSION_ROUTES
from rxshop.web.visitor import claim_visitor
from tests.fixtures.app import AppEnv
from tests.fixtures.shop import ADMIN_PASSWORD
from tests.fixtures.sim import serve_asgi

SHOP = "http://shop.test"
ADMIN_COOKIE = "rxshop_admin"


@pytest.fixture
def served(app_env: AppEnv) -> Iterator[tuple[str, Settings]]:
    routes_ = [Route(routes.VISITOR, claim_visitor, methods=["POST"]), *ADMIN_SESSION_ROUTES]
    with serve_asgi(lambda base: Starlette(routes=routes_)) as base:
        yield base, app_env(APP_URL=SHOP, BACKEND_URL=base, ADMIN_PASSWORD=ADMIN_PASSWORD)


@contextmanager
def _browser(base: str) -> Iterator[httpx.Client]:
    """A browser with its visitor credential, as the shop's pages get it."""
    with httpx.Client(base_url=base, headers={"Origin": SHOP}) as client:
        client.post(routes.VISITOR, json={}).raise_for_status()
        yield client


def _grant(engine, browser: httpx.Client | str, settings: Settings) -> str:
    """The password checked as the sign-in handler does, for this browser's visitor id (or credential)."""
    value = browser if isinstance(browser, str) else browser.cookies[COOKIE_NAME]
    credential = read_credential(value, key=settings.signing_key(), now=time.time())
    assert credential is not None
    with new_session(engine) as session:
        done = sign_in(
            session=session, visitor_id=credential.visitor_id, client_ip="192.0.2.1", password=ADMIN_PASSWORD
        )
    assert done.status == SignInStatus.SIGNED_IN
    return done.grant


def _signed_in(engine, token: str) -> bool:
    with new_session(engine) as session:
        return is_signed_in(session=session, admin=token)


def test_a_grant_becomes_an_httponly_strict_cookie_once_in_its_own_browser(served, engine):
    base, settings = served
    with _browser(base) as owner, _browser(base) as other:
        grant = _grant(engine, owner, settings)
        stolen = other.post(routes.ADMIN_SESSION, json={"grant": grant})  # another browser: refused
        assert stolen.status_code == 403 and "set-cookie" not in stolen.headers

        response = owner.post(routes.ADMIN_SESSION, json={"grant": grant})
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{ADMIN_COOKIE}=")
        for attribute in ("httponly", "samesite=strict", "path=/", "max-age=43200"):
            assert attribute in cookie.lower()
        assert "secure" not in cookie.lower() and "domain" not in cookie.lower()  # http://shop.test
        token = owner.cookies[ADMIN_COOKIE]
        assert token not in response.text and token != grant and _signed_in(engine, token)
        again = owner.post(routes.ADMIN_SESSION, json={"grant": grant})  # once
        assert again.status_code == 403 and "set-cookie" not in again.headers

        ended = owner.post(routes.ADMIN_SESSION_END)
        assert ended.status_code == 200 and ADMIN_COOKIE not in owner.cookies
        assert not _signed_in(engine, token)  # a copy of the cookie is worth nothing now


def test_https_shops_set_a_host_prefixed_secure_cookie(app_env: AppEnv, engine):
    routes_ = [Route(routes.VISITOR, claim_visitor, methods=["POST"]), *ADMIN_SESSION_ROUTES]
    with serve_asgi(lambda base: Starlette(routes=routes_)) as base:
        settings = app_env(APP_URL="https://shop.example", BACKEND_URL=base, ADMIN_PASSWORD=ADMIN_PASSWORD)
        origin = {"Origin": "https://shop.example"}
        credential = httpx.post(f"{base}{routes.VISITOR}", json={}, headers=origin).cookies[COOKIE_NAME]
        response = httpx.post(  # the Secure visitor cookie, sent by hand (this test server speaks http)
            f"{base}{routes.ADMIN_SESSION}",
            json={"grant": _grant(engine, credential, settings)},
            headers={**origin, "Cookie": f"{COOKIE_NAME}={credential}"},
        )
    cookie = response.headers["set-cookie"]
    assert response.status_code == 200 and cookie.startswith("__Host-rxshop_admin=")
    assert "secure" in cookie.lower() and "path=/" in cookie.lower() and "domain" not in cookie.lower()


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "", "http://shop.test.evil.example"])
def test_other_sites_are_refused(served, engine, origin):
    base, settings = served
    with _browser(base) as owner:
        grant = _grant(engine, owner, settings)
        headers = {"Origin": origin} if origin else {}
        owner.headers.pop("Origin")
        response = owner.post(routes.ADMIN_SESSION, json={"grant": grant}, headers=headers)
        assert response.status_code == 403 and "set-cookie" not in response.headers
        end = owner.post(routes.ADMIN_SESSION_END, headers=headers)
        assert end.status_code == 403 and "set-cookie" not in end.headers
        # The grant was not used up by the refused request: the shop's own page still trades it.
        assert (
            owner.post(routes.ADMIN_SESSION, json={"grant": grant}, headers={"Origin": SHOP}).status_code
            == 200
        )


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b"not json", b'{"grant": 5}', b"{}", b'{"grant": "' + b"a" * 2000 + b'"}']
)
def test_bad_bodies_are_refused(served, body):
    base, _ = served
    with _browser(base) as owner:
        response = owner.post(
            routes.ADMIN_SESSION, content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code in (400, 403, 413) and "set-cookie" not in response.headers
