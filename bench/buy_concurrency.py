"""100 buyers press Buy at once: start_checkout end to end (DB + stripe SDK -> simulator with 200 ms latency).

All 100 run on one event loop, as 100 background events do in one backend worker. Prints p50/p95 as a
multiple of the simulated Stripe latency (BENCH_LATENCY_MS, default 200; with 1 ms it shows the pure
overhead). Target on this 2-core machine, simulator sharing it: p95 <= 5 x the latency; one session each.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from pathlib import Path

import httpx
from _support import check, free_port, percentile, serving, use_fresh_database

LATENCY_MS = int(os.environ.get("BENCH_LATENCY_MS", "200"))
BUYERS = 100


def simulator(port: int):
    repo = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-m",
        "rxshop.stripe_sim",
        "--port",
        str(port),
        "--latency-ms",
        str(LATENCY_MS),
        "--log-level",
        "warning",
    ]
    return serving(
        command, f"http://127.0.0.1:{port}/_sim/config", cwd=repo, env={**os.environ, "PYTHONPATH": str(repo)}
    )


async def buy_all(api_base: str) -> list[float]:
    from rxshop.checkout import start_checkout
    from rxshop.payments import CheckoutGateway
    from rxshop.settings import get_settings

    settings = get_settings()
    gateway = CheckoutGateway.connect(settings.stripe_secret_key, api_base=api_base)

    async def one() -> float:
        start = time.perf_counter()
        await start_checkout(
            visitor_id=secrets.token_hex(16),
            quantities={"mug": 2, "notebook": 1},
            gateway=gateway,
            settings=settings,
        )
        return time.perf_counter() - start

    await one()  # warm-up: connection pool, imports
    return await asyncio.gather(*(one() for _ in range(BUYERS)))


def main() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with simulator(port):
        use_fresh_database(STRIPE_SECRET_KEY="sk_test_bench", STRIPE_API_BASE=url)
        latencies = asyncio.run(buy_all(url))
        sessions = httpx.get(
            url + "/v1/checkout/sessions",
            params={"limit": 100},
            headers={"Authorization": "Bearer sk_test_bench"},
        ).json()["data"]
        base = LATENCY_MS / 1000
        print(
            f"{BUYERS} concurrent Buy ({LATENCY_MS} ms simulated Stripe): p50 {percentile(latencies, 50) / base:.2f}x, "
            f"p95 {percentile(latencies, 95) / base:.2f}x, max {max(latencies) / base:.2f}x the latency; "
            f"{len(sessions)} sessions listed (page of 100)"
        )
    met = check("p95 / latency", percentile(latencies, 95) / base, 5) & check(
        "sessions", len(sessions), BUYERS, at_least=True
    )
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
