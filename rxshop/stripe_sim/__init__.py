"""Offline, Stripe-compatible Checkout simulator: the /v1 API subset, a hosted page and signed webhooks.

    from rxshop.stripe_sim import Simulator
    sim = Simulator(public_url="http://127.0.0.1:12111", webhook_url=..., webhook_secret="whsec_...")
    sim.app  # Starlette ASGI app; serve it, or Mount("/stripe-sim", app=sim.app)

See docs/stripe-simulator.md.
"""

from rxshop.stripe_sim.app import Simulator

__all__ = ["Simulator"]
