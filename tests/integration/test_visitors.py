"""GET /visitor.js, POST /visitor and /visitor/forget served for real: only the server writes the credential,
once per browser, HttpOnly; cross-site pages are refused; no body moves anyone's orders (issue 18: the old
localStorage "legacy" migration took the orders of any id presented)."""

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
from rxshop.domain.identity import COOKIE_NAME, issue_credential, read_credential
from rxshop.orders.records import list_orders
from rxshop.web.visitor import MAX_BODY_BYTES, claim_visitor, forget_visitor, visitor_script
from tests.fixtures.app import AppEnv
from tests.fixtures.db import bought_order
from tests.fixtures.sim import serve_asgi

SHOP = "http://shop.test"


@pytest.fixture
def visitors(app_env: AppEnv) -> Iterator[tuple[str, Settings]]:
    """The two routes under uvicorn, with the app's settings on the test database."""
    served = [
        Route(routes.VISITOR, claim_visitor, methods=["POST"]),
        Route(routes.VISITOR_SCRIPT, visitor_script, methods=["GET"]),
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


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b"", b'{"legacy": null}', b'{"legacy": 7}'])
def test_any_body_is_ignored(visitors, body):
    """The body names nothing the server uses: every shape gets the same answer, a credential."""
    base, settings = visitors
    with httpx.Client() as browser:
        response = browser.post(
            f"{base}/visitor", content=body, headers={"Origin": SHOP, "Content-Type": "application/json"}
        )
        assert response.status_code == 200 and response.json() == {"ok": True}
        _visitor_of(browser, settings)


def test_a_body_over_1_kib_is_413_declared_or_streamed(visitors):
    base, _ = visitors
    body = b'{"legacy": "' + b"a" * MAX_BODY_BYTES + b'"}'
    headers = {"Origin": SHOP, "Content-Type": "application/json"}
    declared = httpx.post(f"{base}/visitor", content=body, headers=headers)
    assert declared.status_code == 413 and "set-cookie" not in declared.headers
    streamed = httpx.post(f"{base}/visitor", content=iter([body[:512], body[512:]]), headers=headers)
    assert streamed.status_code == 413 and "content-length" not in streamed.request.headers
    assert "set-cookie" not in streamed.headers


def _orders_of(engine, visitor_id: str) -> list[str]:
    with new_session(engine) as session:
        return [o.id for o in list_orders(session=session, visitor_id=visitor_id).orders]


def test_naming_another_visitors_id_takes_none_of_their_orders(visitors, engine):
    """The takeover of issue 18: the id is the plain middle part of any credential ever seen (expired or
    forgotten ones too). Presented as the old localStorage id, it moved every order to the caller."""
    base, settings = visitors
    with httpx.Client() as victim:
        _claim(victim, base)
        victim_id = _visitor_of(victim, settings)
        seen = victim.cookies[COOKIE_NAME]
    with new_session(engine) as session:
        order = bought_order(session, victim_id)
    assert seen.split(".")[1] == victim_id  # what anyone who saw the cookie knows
    old = issue_credential(victim_id, key=settings.signing_key(), now=time.time() - 400 * 86400)
    for body in ({"legacy": victim_id}, {"legacy": old}, {"legacy": seen}, {"visitor": victim_id}):
        with httpx.Client() as thief:
            response = _claim(thief, base, body)
            assert response.status_code == 200 and "orders_moved" not in response.text
            thief_id = _visitor_of(thief, settings)
            assert thief_id != victim_id
            assert _orders_of(engine, thief_id) == []
    assert _orders_of(engine, victim_id) == [order.id]  # the victim's order stays theirs


def test_the_head_script_issues_a_credential_only_when_one_is_needed(visitors):
    """GET /visitor.js, the parser-blocking script of every page: a credential for a new browser, nothing
    for one that has a fresh one, the same visitor renewed for an old one, nothing for another site."""
    base, settings = visitors
    with httpx.Client() as browser:
        first = browser.get(f"{base}/visitor.js")
        assert first.status_code == 200 and first.text == ""
        assert first.headers["content-type"].startswith("text/javascript")
        assert first.headers["cache-control"] == "no-store"
        assert "httponly" in first.headers["set-cookie"].lower()
        visitor = _visitor_of(browser, settings)
        again = browser.get(f"{base}/visitor.js")
        assert again.status_code == 200 and "set-cookie" not in again.headers
    two_days_old = issue_credential(visitor, key=settings.signing_key(), now=time.time() - 2 * 86400)
    renewed = httpx.get(f"{base}/visitor.js", headers={"Cookie": f"{COOKIE_NAME}={two_days_old}"})
    credential = read_credential(renewed.cookies[COOKIE_NAME], key=settings.signing_key(), now=time.time())
    assert credential is not None and credential.visitor_id == visitor
    assert credential.issued_at > time.time() - 60
    embedded = httpx.get(f"{base}/visitor.js", headers={"Sec-Fetch-Site": "cross-site"})
    assert embedded.status_code == 200 and "set-cookie" not in embedded.headers


def test_forget_deletes_the_credential(visitors):
    base, settings = visitors
    with httpx.Client() as browser:
        _claim(browser, base)
        before = _visitor_of(browser, settings)
        response = browser.post(f"{base}/visitor/forget", headers={"Origin": SHOP})
        assert response.status_code == 200 and COOKIE_NAME not in browser.cookies
        _claim(browser, base)
        assert _visitor_of(browser, settings) != before
