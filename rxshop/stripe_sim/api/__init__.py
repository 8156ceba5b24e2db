"""The /v1 API subset: the request pipeline (pipeline.py) and the operations per resource family
(checkout.py, catalog.py, events.py), with Stripe's pagination (listing.py) and expansion (expand.py)."""

from rxshop.stripe_sim.api.pipeline import Api

__all__ = ["Api"]
