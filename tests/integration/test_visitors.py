"""POST /visitor and /visitor/forget served for real: only the server writes the credential, once per
browser, HttpOnly; cross-site pages are refused; an old localStorage id brings its orders over once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from rxshop.core import routes
from rxshop.core.db import new_session
from rxshop.core.settings import Settings
from rxshop.domain.identity import COOKIE_NAME, new_visitor_id, read_credential
from rxshop.web.visitor import MAX_BODY_BYTES, claim_visitor, forget_visitor
from tests.fixtures.app import AppEnv
from tests.fixtures.db import bought_order
from tests.fixtures.sim import serve_asgi

SHOP = "http://shop.test"


@pytest.fixture
def visitors(app_env: AppEnv) -> Iterator[tuple[str, Settings]]:
    """The two routes under uvicorn, with the app's settings on the test database."""
    served = [
        Route(routes.VISITOR, claim_visitor, methods=["POST"]),
        Route(routes.VISITOR_FORGET, forget_visitor, methods=["POST"]),
    ]
    with serve_asgi(lambda base: Starlette(routes=served)) as base:
        yield base, app_env(APP_URL=SHOP, BACKEND_URL=base)


def _claim(client: httpx.Client, base: str, body: object = None, *, origin: str = SHOP) -> httpx.Response:
    return client.post(f"{base}/visitor", json=body or {}, headers={"Origin": origin})


def _visitor_of(client: httpx.Client, settings: Settings) -> str:
    credential = read_credential(client.cookies.get(COOKIE_NAME), key=settings.signing_key(), now=time.time())
    assert credential is not None
    return credential.visitor_id


def test_a_new_browser_gets_an_httponly_credential_and_keeps_it(visitors):
    base, settings = visitors
    with httpx.Client() as browser:
        response = _claim(browser, base)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
        cookie = response.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=lax", "path=/", "max-age=31536000"):
            assert attribute in cookie
        assert "secure" not in cookie  # http://shop.test: a Secure cookie would never come back
        assert browser.cookies[COOKIE_NAME] not in response.text  # never readable by page scripts
        first = _visitor_of(browser, settings)
        assert _claim(browser, base).status_code == 200  # renewed: the same visitor, another year
        assert _visitor_of(browser, settings) == first
    with httpx.Client() as other:
        _claim(other, base)
        assert _visitor_of(other, settings) != first


def test_a_made_up_credential_gets_a_fresh_identity(visitors):
    base, settings = visitors
    forged = f"v1.{'0' * 32}.{int(time.time())}.{'0' * 64}"
    response = httpx.post(
        f"{base}/visitor", json={}, headers={"Origin": SHOP, "Cookie": f"{COOKIE_NAME}={forged}"}
    )
    value = response.cookies[COOKIE_NAME]
    credential = read_credential(value, key=settings.signing_key(), now=time.time())
    assert credential is not None and credential.visitor_id != "0" * 32


def test_https_shops_set_a_secure_cookie(app_env: AppEnv):
    served = [Route(routes.VISITOR, claim_visitor, methods=["POST"])]
    with serve_asgi(lambda base: Starlette(routes=served)) as base:
        app_env(APP_URL="https://shop.example", BACKEND_URL=base)
        response = httpx.post(f"{base}/visitor", json={}, headers={"Origin": "https://shop.example"})
        assert response.status_code == 200 and "secure" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "", "http://shop.test.evil.example"])
def test_other_sites_are_refused(visitors, origin):
    base, _ = visitors
    response = httpx.post(f"{base}/visitor", json={}, headers={"Origin": origin} if origin else {})
    assert response.status_code == 403 and "set-cookie" not in response.headers
    forget = httpx.post(f"{base}/visitor/forget", headers={"Origin": origin} if origin else {})
    assert forget.status_code == 403 and "set-cookie" not in forget.headers


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'{"legacy": "' + b"a" * 2000 + b'"}'])
def test_bad_bodies_are_refused(visitors, body):
    base, _ = visitors
    response = httpx.post(
        f"{base}/visitor", content=body, headers={"Origin": SHOP, "Content-Type": "application/json"}
    )
    assert response.status_code in (400, 413) and "set-cookie" not in response.headers


def test_a_body_over_1_kib_is_413_declared_or_streamed(visitors):
    base, _ = visitors
    body = b'{"legacy": "' + b"a" * MAX_BODY_BYTES + b'"}'
    headers = {"Origin": SHOP, "Content-Type": "application/json"}
    declared = httpx.post(f"{base}/visitor", content=body, headers=headers)
    assert declared.status_code == 413 and "set-cookie" not in declared.headers
    streamed = httpx.post(f"{base}/visitor", content=iter([body[:512], body[512:]]), headers=headers)
    assert streamed.status_code == 413 and "content-length" not in streamed.request.headers
    assert "set-cookie" not in streamed.headers


def test_an_old_localstorage_id_brings_its_orders_over_once(visitors, engine):
    base, settings = visitors
    legacy = new_visitor_id()
    with new_session(engine) as session:
        order = bought_order(session, legacy)
    with httpx.Client() as browser:
        assert _claim(browser, base, {"legacy": legacy}).json()["orders_moved"] == 1
        owner = _visitor_of(browser, settings)
        assert owner != legacy
    with new_session(engine) as session:
        from rxshop.orders.records import list_orders

        assert [o.id for o in list_orders(session=session, visitor_id=owner).orders] == [order.id]
        assert list_orders(session=session, visitor_id=legacy).orders == ()
    with httpx.Client() as thief:  # the same old id later brings nothing
        assert _claim(thief, base, {"legacy": legacy}).json()["orders_moved"] == 0


def test_forget_deletes_the_credential(visitors):
    base, settings = visitors
    with httpx.Client() as browser:
        _claim(browser, base)
        before = _visitor_of(browser, settings)
        response = browser.post(f"{base}/visitor/forget", headers={"Origin": SHOP})
        assert response.status_code == 200 and COOKIE_NAME not in browser.cookies
        _claim(browser, base)
        assert _visitor_of(browser, settings) != before
