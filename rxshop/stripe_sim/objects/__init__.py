"""Builders for Stripe's JSON shapes: every field Stripe returns, null where the simulator has no such concept.

Kept apart from the rules (store.py, payments.py, catalog.py) so the shapes can be read against Stripe's API
reference in one place, one module per family of resources. The values come from the simulator's own state;
nothing is copied from Stripe's example fixtures at run time (tests/integration/test_stripe_sim_shapes.py
checks every field against them).
"""
