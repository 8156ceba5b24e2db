"""Request parameters: Stripe's form encoding decoded (forms.py), then checked per resource, with 400s
worded like Stripe's (checkout.py, shipping.py, catalog.py, refunds.py, lists.py)."""
