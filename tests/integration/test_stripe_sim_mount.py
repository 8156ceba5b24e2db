"""The simulator mounted under /stripe-sim in a parent app (as the shop's backend does), and run standalone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from rxshop.stripe_sim import Simulator
from tests.fixtures.servers import free_port
from tests.fixtures.sim import TEST_API_KEY, TEST_WEBHOOK_SECRET, serve_asgi

REPO = Path(__file__).resolve().parents[2]


@dataclass
class MountedShop:
    url: str  # the parent app
    sim_url: str  # where the simulator is mounted
    verified_events: list = field(default_factory=list)

    def client(self, **kwargs) -> stripe.StripeClient:
        kwargs.setdefault("max_network_retries", 0)
        return stripe.StripeClient(TEST_API_KEY, base_addresses={"api": self.sim_url}, **kwargs)


@pytest.fixture(scope="module")
def mounted() -> Iterator[MountedShop]:
    shop: MountedShop | None = None

    async def webhook(request: Request) -> Response:
        """The parent's own webhook endpoint, verifying like the shop will."""
        payload = await request.body()
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("stripe-signature"), TEST_WEBHOOK_SECRET
            )
        except stripe.SignatureVerificationError:
            return Response("bad signature", status_code=400)
        assert shop is not None
        shop.verified_events.append(event)
        return Response("ok")

    def make_app(url: str) -> Starlette:
        nonlocal shop
        shop = MountedShop(url, f"{url}/stripe-sim")
        sim = Simulator(
            public_url=shop.sim_url,
            webhook_url=f"{url}/stripe/webhook",
            webhook_secret=TEST_WEBHOOK_SECRET,
            retry_delays=(0.05,),
        )
        return Starlette(
            routes=[Route("/stripe/webhook", webhook, methods=["POST"]), Mount("/stripe-sim", app=sim.app)]
        )

    with serve_asgi(make_app):
        assert shop is not None
        yield shop


def test_mounted_simulator_serves_the_api_page_and_webhooks_under_its_prefix(mounted: MountedShop) -> None:
    client = mounted.client()
    session = client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "http://shop.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://shop.test/cancel",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {"currency": "usd", "unit_amount": 990, "product_data": {"name": "Poster"}},
                }
            ],
        }
    )
    assert session.url == f"{mounted.sim_url}/pay/{session.id}"

    page = httpx.get(session.url)
    assert page.status_code == 200
    assert f'action="{mounted.sim_url}/pay/{session.id}"' in page.text
    assert f'action="{mounted.sim_url}/pay/{session.id}/cancel"' in page.text
    paid = httpx.post(session.url, data={"email": "b@example.com", "card_number": "4242424242424242"})
    assert (
        paid.status_code == 303 and paid.headers["location"] == f"http://shop.test/ok?session_id={session.id}"
    )

    deadline = time.monotonic() + 5
    while not any(e.data.object.id == session.id for e in mounted.verified_events):
        assert time.monotonic() < deadline, "the mounted simulator did not deliver the webhook"
        time.sleep(0.02)
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"
    ids = [s.id for s in client.v1.checkout.sessions.list({"limit": 1}).auto_paging_iter()]
    assert session.id in ids

    config = httpx.get(f"{mounted.sim_url}/_sim/config").json()
    assert config["public_url"] == mounted.sim_url
    assert httpx.get(f"{mounted.url}/v1/checkout/sessions").status_code == 404  # nothing outside the prefix


def test_faults_work_when_mounted(mounted: MountedShop) -> None:
    client = mounted.client()
    for kind, exception in (("drop", stripe.APIConnectionError), ("500", stripe.APIError)):
        httpx.post(f"{mounted.sim_url}/_sim/faults", json={"kind": kind, "count": 1})
        with pytest.raises(exception):
            client.v1.checkout.sessions.list()
    assert client.v1.checkout.sessions.list().object == "list"


def test_standalone_command_serves_the_simulator() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxshop.stripe_sim",
            "--port",
            str(port),
            "--webhook-secret",
            "whsec_cli",
            "--latency-ms",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
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
        assert (config["public_url"], config["webhook_secret"], config["latency_ms"]) == (
            base,
            "whsec_cli",
            1,
        )
        client = stripe.StripeClient(TEST_API_KEY, base_addresses={"api": base}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(
            {
                "mode": "payment",
                "success_url": "http://shop.test/ok",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 500,
                            "product_data": {"name": "Card"},
                        },
                    }
                ],
            }
        )
        assert session.url == f"{base}/pay/{session.id}"
        assert (
            httpx.post(
                session.url, data={"email": "b@example.com", "card_number": "4242 4242 4242 4242"}
            ).status_code
            == 303
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_standalone_command_refuses_a_bad_secret() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rxshop.stripe_sim", "--webhook-secret", "nope"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "whsec_" in result.stderr


def test_the_control_api_can_be_left_out_of_a_mounted_simulator():
    """The shop mounts it without /_sim unless SIMULATOR_CONTROL_API is set: nobody can pay or reset by URL."""

    def make_app(url: str) -> Starlette:
        sim = Simulator(public_url=url + "/stripe-sim", control_api=False)
        return Starlette(routes=[Mount("/stripe-sim", app=sim.app)])

    with serve_asgi(make_app) as url:
        assert httpx.post(f"{url}/stripe-sim/_sim/reset").status_code == 404
        assert httpx.get(f"{url}/stripe-sim/_sim/config").status_code == 404
        client = stripe.StripeClient(TEST_API_KEY, base_addresses={"api": url + "/stripe-sim"})
        session = client.v1.checkout.sessions.create(
            {
                "mode": "payment",
                "success_url": "http://shop.test/ok",
                "line_items": [
                    {
                        "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "x"}},
                        "quantity": 1,
                    }
                ],
            }
        )
        assert httpx.get(session.url).status_code == 200  # the hosted page is still there
