"""The simulator the shop mounts is not a public API: only the app's own key, redirects only to the shop,
413 past the body cap (mounted and standalone). Served for real from the shop's own `backend_routes`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe

from rxshop.core.settings import SIMULATOR_MOUNT, Settings
from rxshop.orders.checkout import start_checkout
from rxshop.payments.gateway import CheckoutGateway
from rxshop.rxshop import backend_routes
from rxshop.stripe_sim.limits import MAX_BODY_BYTES
from tests.fixtures.app import AppEnv
from tests.fixtures.servers import free_port
from tests.fixtures.shop import BUYER_FORM, CART, new_visitor
from tests.fixtures.sim import serve_asgi

REPO = Path(__file__).resolve().parents[2]
SHOP = "http://shop.test"
OTHER_KEY = "sk_test_someone_else_0123456789abcd"
HUGE = b"mode=payment&pad=" + b"x" * (MAX_BODY_BYTES + 1)


@dataclass
class MountedBackend:
    url: str
    settings: Settings

    @property
    def sim(self) -> str:
        return self.url + SIMULATOR_MOUNT

    def client(self, key: str) -> stripe.StripeClient:
        return stripe.StripeClient(key, base_addresses={"api": self.sim}, max_network_retries=0)


def _serve(app_env: AppEnv, **env: str) -> Iterator[MountedBackend]:
    backend: MountedBackend | None = None

    def make_app(base: str):
        nonlocal backend
        backend = MountedBackend(base, app_env(APP_URL=SHOP, BACKEND_URL=base, **env))
        assert backend.settings.mount_simulator
        return backend_routes(backend.settings)

    with serve_asgi(make_app):
        assert backend is not None
        yield backend


@pytest.fixture
def mounted(app_env: AppEnv) -> Iterator[MountedBackend]:
    """The shop's backend routes as production mounts them: no control API."""
    yield from _serve(app_env)


@pytest.fixture
def mounted_for_tests(app_env: AppEnv) -> Iterator[MountedBackend]:
    """As the browser tests run it: SIMULATOR_CONTROL_API=true."""
    yield from _serve(app_env, SIMULATOR_CONTROL_API="true")


def _params(**overrides: object) -> dict:
    return {
        "mode": "payment",
        "success_url": f"{SHOP}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{SHOP}/checkout/cancel",
        "line_items": [
            {
                "quantity": 1,
                "price_data": {"currency": "usd", "unit_amount": 900, "product_data": {"name": "Mug"}},
            }
        ],
        **overrides,
    }


def _chunks(body: bytes) -> Iterator[bytes]:
    """No Content-Length: the cap is counted as the body streams in."""
    for start in range(0, len(body), 16 * 1024):
        yield body[start : start + 16 * 1024]


def _assert_413_declared_and_streamed(url: str, key: str) -> None:
    """With the right key, so the body is read (without one the API answers 401 before reading)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": f"Bearer {key}"}
    assert httpx.post(url, content=HUGE, headers=headers).status_code == 413
    streamed = httpx.post(url, content=_chunks(HUGE), headers=headers)
    assert streamed.status_code == 413 and "content-length" not in streamed.request.headers


async def test_the_apps_own_checkout_works_and_the_hosted_page_needs_no_key(mounted: MountedBackend):
    gateway = CheckoutGateway.from_settings(mounted.settings, max_network_retries=0)
    started = await start_checkout(
        visitor_id=new_visitor(), quantities=CART, gateway=gateway, settings=mounted.settings
    )
    assert started.url.startswith(f"{mounted.sim}/pay/cs_test_")
    page = httpx.get(started.url)  # a buyer's browser: no API key, only the session's URL
    assert page.status_code == 200 and "Test checkout" in page.text
    paid = httpx.post(
        started.url, data={"email": "b@example.com", "card_number": "4242 4242 4242 4242", **BUYER_FORM}
    )
    assert paid.status_code == 303 and paid.headers["location"].startswith(f"{SHOP}/checkout/success?")
    # The key is the app's own, made at start: never a fixed or guessable string.
    key = mounted.settings.stripe_secret_key
    assert key.startswith("sk_test_sim") and len(key) >= 40
    assert httpx.get(f"{mounted.sim}/_sim/config").status_code == 404  # no control API in production


def test_any_other_key_gets_stripes_401_and_sees_or_changes_nothing(mounted: MountedBackend):
    own = mounted.client(mounted.settings.stripe_secret_key)
    session = own.v1.checkout.sessions.create(_params(customer_email="buyer@example.com"))
    stranger = mounted.client(OTHER_KEY)
    attempts = [
        lambda: stranger.v1.checkout.sessions.list(),
        lambda: stranger.v1.checkout.sessions.retrieve(session.id),
        lambda: stranger.v1.checkout.sessions.expire(session.id),
        lambda: stranger.v1.checkout.sessions.create(_params()),
        lambda: stranger.v1.refunds.create({"payment_intent": "pi_x"}),
    ]
    for attempt in attempts:
        with pytest.raises(stripe.AuthenticationError) as refused:
            attempt()
        assert refused.value.http_status == 401
        assert refused.value.error.type == "invalid_request_error"
        assert refused.value.error.message == "Invalid API Key provided: sk_test_****abcd"
        assert "buyer@example.com" not in str(refused.value.json_body)
    assert [s.id for s in own.v1.checkout.sessions.list().data] == [session.id]  # nothing created
    assert own.v1.checkout.sessions.retrieve(session.id).status == "open"  # nothing expired


@pytest.mark.parametrize(
    ("param", "url"),
    [
        ("success_url", "https://evil.test/pay?session_id={CHECKOUT_SESSION_ID}"),
        ("success_url", "http://shop.test.evil.test/checkout/success"),  # not a prefix match of the host
        ("success_url", "http://shop.test@evil.test/checkout/success"),  # user info: the host is evil.test
        ("success_url", "https://shop.test/checkout/success"),  # another scheme is another origin
        ("success_url", "http://shop.test:8080/checkout/success"),  # so is another port
        ("cancel_url", "https://evil.test/"),
    ],
)
def test_sessions_only_redirect_to_the_shop(mounted: MountedBackend, param: str, url: str):
    own = mounted.client(mounted.settings.stripe_secret_key)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        own.v1.checkout.sessions.create(_params(**{param: url}))
    assert refused.value.http_status == 400 and refused.value.param == param
    assert refused.value.error.type == "invalid_request_error"
    assert own.v1.checkout.sessions.list().data == []
    # The shop's own origin, written with its default port, is the same origin.
    assert own.v1.checkout.sessions.create(_params(**{param: "http://SHOP.test:80/x"})).id


def test_the_control_api_tells_tests_the_key(mounted_for_tests: MountedBackend):
    config = httpx.get(f"{mounted_for_tests.sim}/_sim/config").json()
    assert config["api_key"] == mounted_for_tests.settings.stripe_secret_key
    assert config["redirect_origins"] == [SHOP]
    session = mounted_for_tests.client(config["api_key"]).v1.checkout.sessions.create(_params())
    assert session.url == f"{mounted_for_tests.sim}/pay/{session.id}"
    with pytest.raises(stripe.AuthenticationError):
        mounted_for_tests.client(OTHER_KEY).v1.checkout.sessions.list()


def test_the_mounted_simulator_answers_413_past_the_cap(mounted: MountedBackend):
    own = mounted.client(mounted.settings.stripe_secret_key)
    session = own.v1.checkout.sessions.create(_params())
    # (A route that never reads its body, e.g. /pay/{id}/cancel, just answers: nothing is held either.)
    for path in ("/v1/checkout/sessions", f"/pay/{session.id}"):
        _assert_413_declared_and_streamed(mounted.sim + path, mounted.settings.stripe_secret_key)
    assert own.v1.checkout.sessions.retrieve(session.id).status == "open"


def test_the_standalone_simulator_answers_413_and_can_be_locked_to_one_key():
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "rxshop.stripe_sim", "--port", str(port), "--log-level", "warning"]
    argv += ["--api-key", "sk_test_demo_key_0001", "--redirect-origin", SHOP]
    process = subprocess.Popen(
        argv,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                config = httpx.get(f"{base}/_sim/config", timeout=1).json()
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.05)
        assert config["api_key"] == "sk_test_demo_key_0001"
        client = stripe.StripeClient(config["api_key"], base_addresses={"api": base}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(_params())
        for path in ("/v1/checkout/sessions", f"/pay/{session.id}", "/_sim/config"):
            _assert_413_declared_and_streamed(base + path, config["api_key"])
        assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
        with pytest.raises(stripe.AuthenticationError):
            stripe.StripeClient(OTHER_KEY, base_addresses={"api": base}).v1.checkout.sessions.list()
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.checkout.sessions.create(_params(success_url="https://evil.test/"))
        assert refused.value.param == "success_url"
    finally:
        process.terminate()
        process.wait(timeout=10)
