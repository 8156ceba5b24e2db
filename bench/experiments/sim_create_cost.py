"""CPU of the simulator process per Checkout Session create: rxshop's params against the bare app's.

The simulator shares the machine's cores with the backends in bench/buy_burst.py, so what a session costs it
lands in both apps' p95. 300 sequential creates per kind, twice, alternating; CPU from /proc.

    python bench/experiments/sim_create_cost.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import stripe

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from rxshop.domain.cart import price_cart  # noqa: E402  (after the path: run as a script)
from rxshop.domain.shipping import decode_offer, encode_offer, rates_for  # noqa: E402
from rxshop.payments.gateway import _shipping_option  # noqa: E402

OFFER = encode_offer(rates_for(price_cart({"mug": 2, "notebook": 1})))


def bare_params(i: int) -> dict:
    """What bench/bare_app asks for."""
    return {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1800,
                    "product_data": {"name": "Morning Mug", "metadata": {"product_id": "mug"}},
                },
                "quantity": 2,
            },
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1250,
                    "product_data": {"name": "Notebook", "metadata": {"product_id": "notebook"}},
                },
                "quantity": 1,
            },
        ],
        "success_url": "http://x/checkout/success?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://x/checkout/cancel",
        "client_reference_id": f"ord_{i}",
        "metadata": {"order_id": f"ord_{i}"},
        "payment_intent_data": {"metadata": {"order_id": f"ord_{i}"}},
        "expires_at": int(time.time()) + 2000,
    }


def rxshop_params(i: int) -> dict:
    """The same, plus what rxshop's Checkout carries (rxshop.payments.gateway.CheckoutGateway.create_session)."""
    params = bare_params(i)
    params["shipping_address_collection"] = {"allowed_countries": ["US", "CA", "GB", "DE", "FR", "NL"]}
    params["shipping_options"] = [_shipping_option(option, "usd") for option in decode_offer(OFFER)]
    params["phone_number_collection"] = {"enabled": True}
    params["allow_promotion_codes"] = True
    return params


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "rxshop.stripe_sim", "--port", str(port), "--api-key", "sk_test_bench"]
    sim = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu() -> float:
        fields = Path(f"/proc/{sim.pid}/stat").read_text().split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")

    try:
        time.sleep(3)
        client = stripe.StripeClient("sk_test_bench", base_addresses={"api": f"http://127.0.0.1:{port}"})
        for name, make in (("bare", bare_params), ("rxshop", rxshop_params)) * 2:
            before, n = cpu(), 300
            for i in range(n):
                response = client.raw_request("post", "/v1/checkout/sessions", **make(i))
            print(
                f"{name:6}: {(cpu() - before) / n * 1000:.2f} ms simulator CPU per create, {len(response.body)} bytes"
            )
    finally:
        sim.terminate()


if __name__ == "__main__":
    main()
