"""`python -m rxshop.stripe_sim --port 12111 --webhook-url URL --webhook-secret whsec_...` serves it with uvicorn.

Bodies over 256 KiB are answered 413 (the simulator's own cap, limits.py), as in the shop's mount.
`--api-key` and `--redirect-origin` restrict who may use it and where its sessions send buyers, as the
shop's mount does (deploy/README.md, the demo).
"""

from __future__ import annotations

import argparse
import logging

import uvicorn

from rxshop.stripe_sim import Simulator
from rxshop.stripe_sim.access import redirect_origins


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rxshop.stripe_sim", description="Offline Stripe Checkout simulator (test mode only)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=12111, help="port to listen on (default 12111)")
    parser.add_argument("--public-url", help="where browsers and the SDK reach it (default http://HOST:PORT)")
    parser.add_argument(
        "--webhook-url", help="where to POST signed events, e.g. http://127.0.0.1:8000/stripe/webhook"
    )
    parser.add_argument("--webhook-secret", help="whsec_... signing secret (made up and printed if omitted)")
    parser.add_argument("--latency-ms", type=int, default=0, help="added to every /v1 request")
    parser.add_argument(
        "--async-settle-seconds",
        type=float,
        default=10.0,
        help="a delayed payment settles by itself after this (default 10; 0 disables)",
    )
    parser.add_argument(
        "--retry-delays",
        default="0.5,1,2,4,8",
        help="webhook retry back-off in seconds, comma-separated (default 0.5,1,2,4,8)",
    )
    parser.add_argument(
        "--api-key",
        action="append",
        help="accept only this sk_test_ key (repeatable; default: any well-formed test key)",
    )
    parser.add_argument(
        "--redirect-origin",
        action="append",
        help="success_url/cancel_url must be on this origin, e.g. https://shop.example.com (repeatable)",
    )
    parser.add_argument(
        "--no-control-api",
        action="store_true",
        help="leave out the unauthenticated /_sim control API (anything others can reach)",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.webhook_secret is not None and not args.webhook_secret.startswith("whsec_"):
        parser.error("--webhook-secret must start with whsec_")
    try:
        args.retry_delays = tuple(float(d) for d in args.retry_delays.split(",") if d.strip())
    except ValueError:
        parser.error("--retry-delays must be numbers separated by commas")
    if args.api_key and not all(key.startswith(("sk_test_", "rk_test_")) for key in args.api_key):
        parser.error("--api-key must be a test key (sk_test_...)")
    try:
        redirect_origins(args.redirect_origin)
    except ValueError as err:
        parser.error(str(err))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    host_for_url = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    sim = Simulator(
        public_url=args.public_url or f"http://{host_for_url}:{args.port}",
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        latency_ms=args.latency_ms,
        retry_delays=args.retry_delays,
        async_settle_seconds=args.async_settle_seconds or None,
        control_api=not args.no_control_api,
        api_keys=args.api_key,
        redirect_origins=args.redirect_origin,
    )
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    print(f"Stripe simulator (test mode, no money moves) at {sim.public_url}")
    key = "the --api-key" if args.api_key else "'sk_test_...'"
    print(f"  SDK:      stripe.StripeClient({key}, base_addresses={{'api': '{sim.public_url}'}})")
    print(f"  webhooks: {args.webhook_url or 'none (recorded only, see /_sim/events)'}")
    print(f"  secret:   {sim.webhook_secret}", flush=True)
    uvicorn.run(sim.app, host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
