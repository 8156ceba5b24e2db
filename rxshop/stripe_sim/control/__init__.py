"""The control API under /_sim/ (paths Stripe never uses): JSON in, JSON out, for tests and demos.

Unauthenticated by design, so the shop mounts it only when asked. Every endpoint is listed in
docs/stripe-simulator.md: settings.py (config, reset, clock, faults), sessions.py (pay, decline, fail,
expire, settle, inspect), events.py (events and deliveries); routes.py is the table.
"""

from rxshop.stripe_sim.control.routes import routes

__all__ = ["routes"]
